/*
 * Region markers for simulators without a counting plugin (Spike, ETISS): the first instruction
 * of every marker reads the instret counter, so the difference between an end and its begin is
 * exactly the number of instructions executed from the first instruction of the begin marker up
 * to (not including) the first instruction of the end marker — the window mcuorch-qemu-run's
 * plugin counts for the same ELF. The user-level alias (instret, 0xC02) is read, not minstret:
 * machine mode may read it, and ETISS computes only that one. instreth is read second; a carry
 * between the two reads (once in 2^32 instructions) is corrected in mcuorch_region_close.
 */
    .option arch, +zicsr
    .text

    .macro marker name, slot, close
    .globl \name
    .type \name, @function
    .p2align 2
\name:
    csrr t0, instret
    csrr t1, instreth
    la t2, mcuorch_csr_stamp
    sw t0, (8 * \slot)(t2)
    sw t1, (8 * \slot + 4)(t2)
    .if \close
    li a0, \slot
    tail mcuorch_region_close
    .else
    ret
    .endif
    .size \name, . - \name
    .endm

    marker mcuorch_setup_begin, 0, 0
    marker mcuorch_setup_end, 1, 1
    marker mcuorch_run_begin, 2, 0
    marker mcuorch_run_end, 3, 1
