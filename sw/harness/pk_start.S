/*
 * Program entry under pk. pk has already mapped every PT_LOAD segment at its link address
 * (so .data holds its initial values and .bss is zero) and set up a user stack. picolibc's
 * crt0 cannot run here: it copies .data from its load address in flash, which pk does not map
 * (it maps segments by virtual address), and with an FPU it writes mstatus, a machine-mode
 * CSR. So this entry only sets gp and the TLS pointer, keeps pk's stack (its top is recorded
 * for painted_stack.c), runs the constructors and exits with main's return value.
 */
    .section .text.init.enter, "ax", @progbits
    .globl _start
    .type _start, @function
_start:
    .option push
    .option norelax
    la gp, __global_pointer$
    .option pop
    la tp, __tls_base
    la t0, mcuorch_stack_top
    sw sp, 0(t0)
    call __libc_init_array
    li a0, 0
    li a1, 0
    call main
    tail exit
    .size _start, . - _start

    .section .bss.mcuorch_stack_top, "aw", @nobits
    .p2align 2
    .globl mcuorch_stack_top
    .type mcuorch_stack_top, @object
mcuorch_stack_top:
    .zero 4
    .size mcuorch_stack_top, 4
