#!/bin/sh
# COMPILE stage: builds OUT/app.elf from the generated model code and the golden vectors with
# the CMake project in this directory. Runs inside the target's toolchain image with nothing
# but sh, cmake, ninja and the compiler (no Python). Inputs are only read; output goes to OUT.
#
#   sh sw/compile.sh --target T --codegen DIR --golden DIR --out OUT [--optimize 2|3|s]
#                    [--validate exact|atol|argmax|none] [--atol N] [--arch A] [--abi B]
#
# Exit codes: 0 built, 2 usage or input error (one "error: " line on stderr), 1 build failure.
set -u

SW=$(CDPATH= cd -- "$(dirname -- "$0")" && pwd)

die() {
    echo "error: $*" >&2
    exit 2
}

target="" codegen="" golden="" out="" optimize=2 validate=exact atol=0 arch="" abi=""
while [ $# -gt 0 ]; do
    case "$1" in
    --target | --codegen | --golden | --out | --optimize | --validate | --atol | --arch | --abi)
        [ $# -ge 2 ] || die "$1 needs a value"
        opt=${1#--}
        eval "$opt=\$2"
        shift 2
        ;;
    -h | --help)
        sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//'
        exit 0
        ;;
    *) die "unknown argument '$1'" ;;
    esac
done

[ -n "$target" ] || die "--target is required"
[ -n "$codegen" ] || die "--codegen is required"
[ -n "$golden" ] || die "--golden is required"
[ -n "$out" ] || die "--out is required"
[ -f "$SW/targets/$target.json" ] ||
    die "unknown target '$target' (known: $(ls "$SW/targets" | sed -n 's/\.json$//p' | tr '\n' ' ' | sed 's/ $//'))"
[ -f "$codegen/mcuorch_model.h" ] || die "codegen directory '$codegen' has no mcuorch_model.h"
[ -d "$golden" ] || die "golden directory '$golden' does not exist"
case "$optimize" in 2 | 3 | s) ;; *) die "--optimize must be 2, 3 or s, not '$optimize'" ;; esac
case "$validate" in exact | atol | argmax | none) ;; *) die "--validate must be exact, atol, argmax or none, not '$validate'" ;; esac
case "$atol" in '' | *[!0-9.]* | *.*.* | .* | *.) die "--atol must be a non-negative number, not '$atol'" ;; esac
command -v cmake >/dev/null 2>&1 || die "cmake not found on PATH"
command -v ninja >/dev/null 2>&1 || die "ninja not found on PATH"

mkdir -p "$out" || die "cannot create output directory '$out'"
out=$(cd "$out" && pwd)
codegen=$(cd "$codegen" && pwd)
golden=$(cd "$golden" && pwd)
log="$out/compile.log"
: >"$log"

# Compiler cache: MCUORCH_COMPILE_CACHE (set by the host for COMPILE jobs) names a folder
# shared by all COMPILE jobs, used when the image has ccache. ccache keys an object by the
# compiler, its arguments, the sources and their paths, so the build runs in one fixed folder
# (the generated code copied in): then a runtime library compiled for the same target and flags
# is compiled once, whatever the model. The cache never changes an object, only skips work.
work="$out"
launcher=""
stable=/tmp/mcuorch-compile
if [ -n "${MCUORCH_COMPILE_CACHE:-}" ] && command -v ccache >/dev/null 2>&1 && mkdir "$stable" 2>/dev/null; then
    trap 'rm -rf "$stable"' EXIT
    if cp -R "$codegen" "$stable/codegen"; then
        codegen="$stable/codegen"
        work="$stable"
        export CCACHE_DIR="$MCUORCH_COMPILE_CACHE"
        launcher="-DCMAKE_C_COMPILER_LAUNCHER=ccache -DCMAKE_CXX_COMPILER_LAUNCHER=ccache"
    fi
fi

# Configure and build; the log keeps everything, the terminal gets one line on failure.
# shellcheck disable=SC2086 # $launcher is empty or two words
cmake -G Ninja -S "$SW" -B "$work/build" $launcher \
    -DMCUORCH_TARGET="$target" -DMCUORCH_ARCH="$arch" -DMCUORCH_ABI="$abi" \
    -DMCUORCH_CODEGEN_DIR="$codegen" -DMCUORCH_GOLDEN_DIR="$golden" \
    -DMCUORCH_OPTIMIZE="$optimize" -DMCUORCH_VALIDATE="$validate" -DMCUORCH_ATOL="$atol" \
    >>"$log" 2>&1
status=$?
if [ $status -ne 0 ]; then
    # Our own CMake checks print "MCUORCH_ERROR: <message>": user errors, exit 2.
    # CMake wraps long messages onto indented continuation lines: join them again.
    msg=$(awk '/MCUORCH_ERROR: / { sub(/^.*MCUORCH_ERROR: /, ""); msg = $0; grab = 1; next }
               grab && /^  +[^ ]/ { sub(/^ +/, ""); msg = msg " " $0; next }
               grab { exit } END { if (grab) print msg }' "$log")
    [ -n "$msg" ] && die "$msg"
    echo "error: cmake configuration failed for target $target (see $log)" >&2
    exit 1
fi

cmake --build "$work/build" >>"$log" 2>&1
status=$?
if [ $status -ne 0 ]; then
    first=$(grep -m 1 -E 'error:|Error|overflow' "$log")
    echo "error: build failed for target $target: ${first:-see $log}" >&2
    exit 1
fi

if [ "$work" != "$out" ]; then
    cp -R "$work/build" "$out/build" || {
        echo "error: cannot copy the build tree into $out" >&2
        exit 1
    }
fi
# Shared libraries the program loads from beside itself (host only, see CMakeLists.txt).
for library in "$out"/build/*.so; do
    [ -e "$library" ] || continue
    cp "$library" "$out/" || {
        echo "error: cannot copy $library into $out" >&2
        exit 1
    }
done
cp "$out/build/app.elf" "$out/app.elf" && cp "$out/build/target.json" "$out/target.json" || {
    echo "error: cannot copy the build results into $out" >&2
    exit 1
}
# The linker's map beside the ELF: the host splits ROM by the object each byte came from.
if [ -f "$out/build/app.map" ]; then
    cp "$out/build/app.map" "$out/app.map" || {
        echo "error: cannot copy the link map into $out" >&2
        exit 1
    }
fi
echo "built $out/app.elf for $target"
