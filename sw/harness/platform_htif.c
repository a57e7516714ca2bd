/*
 * Bare metal over HTIF (Spike's host-target interface; QEMU's spike board implements the
 * exit part): no semihosting. stdout goes through HTIF's proxied write(2) system call, the
 * program's exit code through tohost. On rv32 every tohost payload used here fits in the low
 * word: it is stored first, then the high word (0). Spike sees a complete command as soon as
 * the low word lands; QEMU acts on the store to the high word. (Stack: painted_stack.c.)
 */
#include "regions.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#define SYS_WRITE 64
#define HTIF_WAIT 200000u /* polls for the host's answer before the console is given up */

extern volatile uint64_t tohost, fromhost; /* htif.S */
static volatile uint64_t syscall_args[8] __attribute__((aligned(64)));
static char line[128];

static void tohost_send(uint32_t payload)
{
    volatile uint32_t *word = (volatile uint32_t *)&tohost;
    word[0] = payload;
    word[1] = 0;
}

static unsigned line_len;
static int console_dead; /* a host that never answers (no proxy syscalls): drop output */

static void htif_write(const char *buf, unsigned len)
{
    if (console_dead || len == 0)
        return;
    syscall_args[0] = SYS_WRITE;
    syscall_args[1] = 1;
    syscall_args[2] = (uintptr_t)buf;
    syscall_args[3] = len;
    __asm__ volatile("fence" ::: "memory");
    tohost_send((uint32_t)(uintptr_t)syscall_args);
    unsigned polls = 0;
    while (fromhost == 0) {
        if (++polls == HTIF_WAIT) {
            console_dead = 1;
            tohost = 0;
            return;
        }
    }
    fromhost = 0;
}

static void flush_line(void)
{
    htif_write(line, line_len);
    line_len = 0;
}

static int htif_putc(char c, FILE *file)
{
    (void)file;
    line[line_len++] = c;
    if (c == '\n' || line_len == sizeof line)
        flush_line();
    return (unsigned char)c;
}

static FILE htif_stdio = FDEV_SETUP_STREAM(htif_putc, NULL, NULL, _FDEV_SETUP_WRITE);
FILE *const stdin = &htif_stdio;
FILE *const stdout = &htif_stdio;
FILE *const stderr = &htif_stdio;

void _exit(int code)
{
    mcuorch_regions_report();
    flush_line();
    tohost_send(((uint32_t)code << 1) | 1u);
    for (;;)
        ;
}
