/*
 * Bare metal on ETISS: stdout through the Logger plugin (every store to the log address is
 * one character; the runner configures plugin.logger.logaddr to MCUORCH_ETISS_LOG_ADDR),
 * the end of the program through ebreak, which ETISS ends the simulation on; the exit code
 * is the harness's `MLONMCU EXIT:` line. The stack and heap are measured by the runner from
 * ETISS's memory trace (feature `trace`) within the layout printed at exit; a painted stack
 * would show up in that trace as touched, so none is painted here.
 */
#include "platform.h"
#include "regions.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#define MCUORCH_ETISS_LOG_ADDR 0x80000000u

static int logger_putc(char c, FILE *file)
{
    (void)file;
    *(volatile char *)MCUORCH_ETISS_LOG_ADDR = c;
    return (unsigned char)c;
}

static FILE logger_stdio = FDEV_SETUP_STREAM(logger_putc, NULL, NULL, _FDEV_SETUP_WRITE);
FILE *const stdin = &logger_stdio;
FILE *const stdout = &logger_stdio;
FILE *const stderr = &logger_stdio;

extern char __stack[], __heap_start[], __heap_end[]; /* picolibc.ld */

uint64_t mcuorch_platform_time_ns(void) { return 0; }

int mcuorch_platform_run(void (*body)(void *), void *arg, size_t *stack_used)
{
    body(arg);
    *stack_used = 0;
    return -1;
}

void _exit(int code)
{
    (void)code;
    mcuorch_regions_report();
    printf("mcuorch-layout stack=%lx:%lx heap=%lx:%lx\n",
           (unsigned long)(__stack - MCUORCH_STACK_SIZE), (unsigned long)__stack,
           (unsigned long)__heap_start, (unsigned long)__heap_end);
    for (;;)
        __asm__ volatile("ebreak");
}
