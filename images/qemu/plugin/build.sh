#!/bin/sh
# Builds the instruction-count plugin: sh build.sh OUTDIR  ->  OUTDIR/libinsncount.so
# Needs only a host C compiler (gcc or cc); QEMU itself is not needed at build time.
set -eu
here=$(CDPATH= cd -- "$(dirname -- "$0")" && pwd)
out=${1:?usage: build.sh OUTDIR}
cc=${CC:-cc}
mkdir -p "$out"
"$cc" -std=c11 -O2 -Wall -Wextra -Werror -fPIC -shared -fvisibility=hidden \
    -o "$out/libinsncount.so" "$here/insncount.c" "$here/memtrace.c"
echo "$out/libinsncount.so"
