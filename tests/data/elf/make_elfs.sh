#!/bin/sh
# Rebuilds the test ELFs in this directory (needs gcc-arm-none-eabi and gcc-riscv64-unknown-elf):
#   sized_arm.elf, sized_rv32.elf  from sized.S + sized.ld: every section size is known
#                                  (see tests/unit/metrics/test_elf_memory.py)
#   sections_*.txt                 readelf's view of the real recorded programs, the independent
#                                  reference the tests compare against
set -eu
here=$(CDPATH= cd -- "$(dirname -- "$0")" && pwd)
cd "$here"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

arm-none-eabi-as -o "$tmp/arm.o" sized.S
arm-none-eabi-ld --no-warn-rwx-segments -T sized.ld -o sized_arm.elf "$tmp/arm.o"
riscv64-unknown-elf-as -march=rv32i -mabi=ilp32 -o "$tmp/rv32.o" sized.S
riscv64-unknown-elf-ld -m elf32lriscv --no-warn-rwx-segments -T sized.ld -o sized_rv32.elf "$tmp/rv32.o"
