#!/bin/bash
# Compiler launcher of the fork's unity build (CMAKE_CXX_COMPILER_LAUNCHER).
#
# Runs every compile as given. When a batch (CMake's Unity/unity_N_cxx.cxx, which only
# #includes its member files) fails, two of its files clash when they share one translation
# unit (a static helper or a using-declaration defined twice); the batch is then compiled
# file by file and the objects are joined with `ld -r` in the batch's order, so a clash costs
# that batch's time, never the build. Each fallback prints one line, "failed to compile as one
# unit", naming the batch and the first error: that file belongs in unity.cmake's solo list.
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

err=$(mktemp)
if "$@" 2>"$err"; then
    cat "$err" >&2
    rm -f "$err"
    exit 0
fi
echo "unity-cc: ${src##*/} failed to compile as one unit: $(grep -m1 'error' "$err")" >&2
rm -f "$err"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
members=$(sed -n 's/^#include "\(.*\)"$/\1/p' "$src")
[ -n "$members" ] || { echo "unity-cc: no #include lines in $src" >&2; exit 1; }
objects=()
n=0
for member in $members; do
    n=$((n + 1))
    one=("${args[@]}")
    for ((i = 0; i < ${#one[@]} - 1; i++)); do
        case "${one[i]}" in
            -c) one[i + 1]=$member ;;
            -o) one[i + 1]=$tmp/$n.o ;;
            -MF) one[i + 1]=$tmp/$n.d ;;
        esac
    done
    "${one[@]}" || exit 1
    objects+=("$tmp/$n.o")
done
ld -r -o "$obj" "${objects[@]}" || exit 1
if [ -n "$dep" ]; then
    cat "$tmp"/*.d >"$dep"
fi
