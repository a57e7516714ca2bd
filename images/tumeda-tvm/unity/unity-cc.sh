#!/bin/bash
# Compiler launcher of the fork's unity build (CMAKE_CXX_COMPILER_LAUNCHER).
#
# Runs every compile as given. A batch (CMake's Unity/unity_N_cxx.cxx, which only #includes its
# member files) can fail because two members clash in one translation unit (a static helper,
# a constant or a using-declaration defined twice). Then the member the first error names (or
# that includes the header it names) is compiled on its own and the members before and after
# it as two smaller batches (split again should they clash too); the objects are joined with
# `ld -r` in the batch's order, so static initialisers keep their order. If the error names no
# member, every member is compiled on its own. Each clash prints one line, "failed to compile
# as one unit", with the first error: that member belongs in unity.cmake's solo list, which
# saves the failed attempt.
set -u
args=("$@")
src="" obj="" dep=""
for ((i = 0; i < ${#args[@]} - 1; i++)); do
    case "${args[i]}" in
        -c) src=${args[i + 1]} ;;
        -o) obj=${args[i + 1]} ;;
        -MF) dep=${args[i + 1]} ;;
    esac
done
case "$src" in
    */Unity/unity_*) ;;
    *) exec "$@" ;;
esac

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
parts=0

# compile SOURCE OBJECT DEPFILE ERRFILE: the batch's command with another source and outputs.
compile() {
    local one=("${args[@]}") i
    for ((i = 0; i < ${#one[@]} - 1; i++)); do
        case "${one[i]}" in
            -c) one[i + 1]=$1 ;;
            -o) one[i + 1]=$2 ;;
            -MF) one[i + 1]=$3 ;;
        esac
    done
    "${one[@]}" 2>"$4"
}

# fresh EXT: REPLY becomes a new path in the scratch folder.
fresh() {
    parts=$((parts + 1))
    REPLY=$tmp/$parts.$1
}

# group OBJECT MEMBER...: the members as one translation unit (split around a clash).
group() {
    local out=$1 unit err m
    shift
    fresh err; err=$REPLY
    fresh d
    if [ $# -eq 1 ]; then
        compile "$1" "$out" "$REPLY" "$err" && return 0
        cat "$err" >&2
        return 1
    fi
    local dep_file=$REPLY
    fresh cxx; unit=$REPLY
    for m in "$@"; do printf '#include "%s"\n' "$m"; done >"$unit"
    compile "$unit" "$out" "$dep_file" "$err" && return 0
    split "$out" "$err" "$@"
}

# split OBJECT ERRFILE MEMBER...: the members failed as one unit with ERRFILE's errors.
split() {
    local out=$1 err=$2 culprit="" m o seen=0 before=() after=() objects=()
    shift 2
    echo "unity-cc: ${src##*/} failed to compile as one unit: $(grep -m1 'error' "$err")" >&2
    # The member on the first error's include chain (the notes after it name the other one).
    for m in "$@"; do
        if sed '/error/q' "$err" | grep -q -F "$m:"; then culprit=$m; break; fi
    done
    if [ -z "$culprit" ]; then  # a header, not a member: every member on its own
        for m in "$@"; do
            fresh o; o=$REPLY; group "$o" "$m" || return 1; objects+=("$o")
        done
    else
        for m in "$@"; do
            if [ "$m" = "$culprit" ]; then seen=1
            elif [ $seen -eq 0 ]; then before+=("$m")
            else after+=("$m"); fi
        done
        if [ ${#before[@]} -gt 0 ]; then fresh o; o=$REPLY; group "$o" "${before[@]}" || return 1; objects+=("$o"); fi
        fresh o; o=$REPLY; group "$o" "$culprit" || return 1; objects+=("$o")
        if [ ${#after[@]} -gt 0 ]; then fresh o; o=$REPLY; group "$o" "${after[@]}" || return 1; objects+=("$o"); fi
    fi
    ld -r -o "$out" "${objects[@]}"
}

members=()
while IFS= read -r line; do members+=("$line"); done < <(sed -n 's/^#include "\(.*\)"$/\1/p' "$src")
[ ${#members[@]} -gt 0 ] || { echo "unity-cc: no #include lines in $src" >&2; exit 1; }
compile "$src" "$obj" "${dep:-$tmp/batch.d}" "$tmp/batch.err" && { cat "$tmp/batch.err" >&2; exit 0; }
split "$obj" "$tmp/batch.err" "${members[@]}" || exit 1
if [ -n "$dep" ]; then  # the parts' dependencies, without the scratch units
    for d in "$tmp"/*.d; do [ -f "$d" ] && cat "$d" && echo; done | sed "s|$tmp/[^ ]*\.cxx||g" >"$dep"
fi
