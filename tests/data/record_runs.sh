#!/bin/sh
# Records real COMPILE+RUN outputs of the tiny model for the parser and ELF tests:
#   runs/<case>/{stdout.txt, exit_code, counts.json (QEMU), target.json, sections.txt, app.elf}
# app.elf is kept (debug info stripped, symbols kept) only where the ELF tests need it.
# Needs the cross toolchains, QEMU, cmake and ninja (see sw/README.md). Run from anywhere.
set -eu
here=$(CDPATH= cd -- "$(dirname -- "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

sh "$repo/images/qemu/plugin/build.sh" "$tmp/plugin" >/dev/null
export MCUORCH_QEMU_PLUGIN="$tmp/plugin/libinsncount.so"
export PYTHONPATH="$repo/images/qemu:$repo/images/host" PYTHONDONTWRITEBYTECODE=1

# Wrong golden: first byte of output 0 of vector 1 changed.
cp -r "$here/golden_tiny" "$tmp/golden_wrong"
printf '\177' | dd of="$tmp/golden_wrong/output_1_0.bin" bs=1 count=1 conv=notrunc 2>/dev/null
# A model whose invoke executes an undefined instruction: the target traps.
cp -r "$here/codegen_tiny" "$tmp/codegen_trap"
printf '\nint mcuorch_trap_now(void) { __builtin_trap(); }\n' >>"$tmp/codegen_trap/model.c"
sed -i 's/^    if (!initialised)$/    if (initialised \&\& mcuorch_trap_now())/' "$tmp/codegen_trap/model.c"

# case target codegen golden keep-elf [compile options...]
record() {
    name=$1 target=$2 codegen=$3 golden=$4 keep=$5
    shift 5
    out="$here/runs/$name"
    sh "$repo/sw/compile.sh" --target "$target" --codegen "$codegen" --golden "$golden" \
        --out "$tmp/c_$name" "$@" >/dev/null
    rm -rf "$out" && mkdir -p "$out"
    facts=$(python3 -c 'import json, sys
t = json.load(open(sys.argv[1]))
print(t["compiler"], t["run"]["board"] or "-", t["arch_variants"][t["arch"]]["qemu_cpu"] or "")' \
        "$tmp/c_$name/target.json")
    set -- $facts
    objcopy="${1%gcc}objcopy" board=$2 cpu=${3:-}
    if [ "$target" = host_x86 ]; then
        python3 "$repo/images/host/bin/mcuorch-host-run" --elf "$tmp/c_$name/app.elf" --out "$tmp/r_$name"
    else
        python3 "$repo/images/qemu/bin/mcuorch-qemu-run" --board "$board" ${cpu:+--cpu "$cpu"} \
            --elf "$tmp/c_$name/app.elf" --out "$tmp/r_$name"
        cp "$tmp/r_$name/counts.json" "$out/"
    fi
    cp "$tmp/r_$name/stdout.txt" "$tmp/r_$name/exit_code" "$tmp/c_$name/target.json" "$out/"
    LC_ALL=C readelf -S -W "$tmp/c_$name/app.elf" | sed -n '/\[ *[0-9]*\]/p' >"$out/sections.txt"
    if [ "$keep" = yes ]; then
        "$objcopy" --strip-debug "$tmp/c_$name/app.elf" "$out/app.elf"
    fi
    echo "recorded $name (exit code $(cat "$out/exit_code"))"
}

tiny="$here/codegen_tiny" golden="$here/golden_tiny"
record host_x86 host_x86 "$tiny" "$golden" yes
record riscv_qemu riscv_qemu "$tiny" "$golden" yes
record riscv_qemu_rv32imc riscv_qemu "$tiny" "$golden" no --arch rv32imc --abi ilp32
record mps3_an547 mps3_an547 "$tiny" "$golden" yes
record mps2_an386 mps2_an386 "$tiny" "$golden" no
record mps2_an385 mps2_an385 "$tiny" "$golden" no
record riscv_qemu_mismatch riscv_qemu "$tiny" "$tmp/golden_wrong" no
record mps2_an385_argmax_mismatch mps2_an385 "$tiny" "$tmp/golden_wrong" no --validate argmax
record mps2_an386_trap mps2_an386 "$tmp/codegen_trap" "$golden" no
record riscv_qemu_trap riscv_qemu "$tmp/codegen_trap" "$golden" no
