#!/bin/sh
# Builds libstdc++-v3 (with libsupc++) for riscv64-unknown-elf against picolibc, once per
# multilib, and assembles the install tree under OUT (mirroring /). Runs in the builder stage
# of images/gnu-riscv-cxx (see its Dockerfile.j2 for the layout and the configuration).
#
#   sh build-libstdcxx.sh GCC_SOURCE_DIR OUT MARCH/MABI...
set -eu

src=$1 out=$2
shift 2
version=$(riscv64-unknown-elf-gcc -dumpfullversion)
include=/usr/lib/riscv64-unknown-elf/include/c++/$version
libs=/usr/lib/picolibc/riscv64-unknown-elf/lib
[ "$(cat "$src/gcc/BASE-VER")" = "$version" ] ||
    { echo "error: GCC source $(cat "$src/gcc/BASE-VER") is not the compiler's $version" >&2; exit 1; }

for multilib in "$@"; do
    march=${multilib%/*} mabi=${multilib#*/}
    dir=$(riscv64-unknown-elf-gcc -march="$march" -mabi="$mabi" -print-multi-directory)
    [ "$dir" = "$multilib" ] ||
        { echo "error: $multilib is not a multilib of riscv64-unknown-elf-gcc (it maps to $dir)" >&2; exit 1; }
    flags="-march=$march -mabi=$mabi --specs=picolibc.specs"
    build=/build/$march-$mabi
    mkdir -p "$build"
    cd "$build"
    echo "libstdc++ $version for $multilib"
    # A cross build cannot run link tests: configure takes newlib's function list
    # (--with-newlib); libbacktrace's two link checks are answered up front.
    if ! "$src/libstdc++-v3/configure" --build=x86_64-linux-gnu --host=riscv64-unknown-elf \
        --target=riscv64-unknown-elf --prefix=/usr/lib/picolibc/riscv64-unknown-elf \
        --with-gxx-include-dir="$include" --with-newlib --disable-multilib --disable-shared \
        --enable-static --enable-hosted-libstdcxx --enable-cstdio=stdio_pure --disable-wchar_t \
        --disable-libstdcxx-verbose --disable-libstdcxx-backtrace --disable-libstdcxx-pch \
        --disable-nls CC="riscv64-unknown-elf-gcc $flags" CXX="riscv64-unknown-elf-g++ $flags" \
        CFLAGS="-Os -mcmodel=medany -ffunction-sections -fdata-sections" \
        CXXFLAGS="-Os -mcmodel=medany -ffunction-sections -fdata-sections" \
        ac_cv_func_fcntl=no ac_cv_func_getexecname=no >configure.log 2>&1; then
        tail -30 configure.log
        exit 1
    fi
    if ! make -j"$(nproc)" >make.log 2>&1; then
        grep -m5 -B3 -A10 "error" make.log
        exit 1
    fi
    make install DESTDIR="$build/stage" >install.log 2>&1
    # Shared headers once; the configured ones (bits/c++config.h, ...) per multilib, where
    # GCC looks for them: include/c++/<version>/<target>/<multilib directory>.
    mkdir -p "$out$include/riscv64-unknown-elf/$dir" "$out$libs/$dir"
    cp -a "$build/stage$include/." "$out$include/"
    rm -rf "$out$include/riscv64-unknown-elf/$dir/bits" "$out$include/riscv64-unknown-elf/$dir/ext"
    mv "$out$include/riscv64-unknown-elf/bits" "$out$include/riscv64-unknown-elf/ext" \
        "$out$include/riscv64-unknown-elf/$dir/"
    cp "$build/stage$libs/$dir/libstdc++.a" "$build/stage$libs/$dir/libsupc++.a" "$out$libs/$dir/"
done

# picolibc.specs puts picolibc's include directory before the C++ one (-isystem), so the
# `#include_next <math.h>` / `<stdlib.h>` of these headers would look only behind it and find
# nothing: they include the C headers directly instead.
cd "$out$include"
pattern='^\(# *\)include_next <\(math\|stdlib\)\.h>'
[ "$(cat cmath cstdlib bits/std_abs.h | grep -c "$pattern")" = 4 ] ||
    { echo "error: cmath, cstdlib, bits/std_abs.h do not have the expected include_next lines" >&2; exit 1; }
sed -i "s/$pattern/\\1include <\\2.h>/" cmath cstdlib bits/std_abs.h
if grep -n 'include_next <\(math\|stdlib\)\.h>' cmath cstdlib bits/std_abs.h; then
    echo "error: the include_next patch left lines behind" >&2
    exit 1
fi
