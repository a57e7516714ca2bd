/*
 * A program image with known section sizes for the ELF metrics tests (never executed).
 * The layout mirrors picolibc.ld: a writable-flagged .init in flash (the Arm vector table),
 * read-only data and constructor tables inside .text after __text_end, .data in RAM with its
 * image in flash, and golden data in its own section.
 */
    .section .data.init.enter, "aw"
    .fill 64, 1, 0xaa
    .section .text.start, "ax"
    .global _start
_start:
    .fill 256, 1, 0
    .section .rodata.table, "a"
    .fill 128, 1, 1
    .section .init_array, "aw"
    .fill 8, 1, 0
    .section .data.values, "aw"
    .fill 48, 1, 2
    .section .bss.buffer, "aw", %nobits
    .zero 80
    .section .mcuorch_golden, "a"
    .fill 32, 1, 3
