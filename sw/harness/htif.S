/*
 * HTIF mailboxes. Simulators find them by symbol name; QEMU's spike board also expects
 * fromhost directly after tohost (tohost + 8) and maps the pair as a device, so nothing else
 * may share their 64-byte block.
 */
    .section .data.htif, "aw", @progbits
    .p2align 6
    .globl tohost
    .type tohost, @object
tohost:
    .dword 0
    .size tohost, 8
    .globl fromhost
    .type fromhost, @object
fromhost:
    .dword 0
    .size fromhost, 8
    .p2align 6
