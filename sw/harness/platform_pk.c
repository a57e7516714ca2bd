/*
 * User mode under pk (riscv-pk, Spike's proxy kernel): pk passes Linux-style system calls
 * (ecall, number in a7) on to the host, so stdout is write(2) (64), the exit code exit(2) (93)
 * and the heap brk(2) (214). Entry: pk_start.S; stack: painted_stack.c, on the stack pk set up.
 * Instruction counts: regions_csr.S reads instret from user mode, which pk allows (it sets
 * mcounteren and scounteren).
 */
#include "regions.h"

#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#define SYS_WRITE 64
#define SYS_EXIT 93
#define SYS_BRK 214

static long pk_syscall(long number, long arg0, long arg1, long arg2)
{
    register long a0 __asm__("a0") = arg0;
    register long a1 __asm__("a1") = arg1;
    register long a2 __asm__("a2") = arg2;
    register long a7 __asm__("a7") = number;
    __asm__ volatile("ecall" : "+r"(a0) : "r"(a1), "r"(a2), "r"(a7) : "memory");
    return a0;
}

static char line[128];
static unsigned line_len;

static void flush_line(void)
{
    const char *p = line;
    long left = line_len;
    while (left > 0) {
        long n = pk_syscall(SYS_WRITE, 1, (long)(uintptr_t)p, left);
        if (n <= 0)
            break;
        p += n;
        left -= n;
    }
    line_len = 0;
}

static int pk_putc(char c, FILE *file)
{
    (void)file;
    line[line_len++] = c;
    if (c == '\n' || line_len == sizeof line)
        flush_line();
    return (unsigned char)c;
}

static FILE pk_stdio = FDEV_SETUP_STREAM(pk_putc, NULL, NULL, _FDEV_SETUP_WRITE);
FILE *const stdin = &pk_stdio;
FILE *const stdout = &pk_stdio;
FILE *const stderr = &pk_stdio;

/* picolibc's sbrk hands out the RAM between .bss and the stack, which pk does not map. */
void *sbrk(ptrdiff_t increment)
{
    static uintptr_t current;
    if (current == 0)
        current = (uintptr_t)pk_syscall(SYS_BRK, 0, 0, 0);
    uintptr_t wanted = current + (uintptr_t)increment;
    if ((uintptr_t)pk_syscall(SYS_BRK, (long)wanted, 0, 0) != wanted) {
        errno = ENOMEM;
        return (void *)-1;
    }
    void *previous = (void *)current;
    current = wanted;
    return previous;
}

void _exit(int code)
{
    mcuorch_regions_report();
    flush_line();
    pk_syscall(SYS_EXIT, code, 0, 0);
    for (;;)
        ;
}
