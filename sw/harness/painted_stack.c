/*
 * The benchmark body on a painted stack, for simulators that do not watch the stack (Spike,
 * ETISS): the free stack below the caller is filled with a pattern, the body runs, and the
 * deepest word that lost the pattern gives the high-water mark, counted from the top of the
 * stack like mcuorch-qemu-run's watch.
 */
#include "platform.h"

#include <stdint.h>

#define PAINT 0xa5a5a5a5u
#define CALLER_RESERVE 32 /* words below the caller's frame left untouched */

uint64_t mcuorch_platform_time_ns(void) { return 0; }

extern uint32_t __stack[]; /* top of the stack (picolibc.ld) */

int mcuorch_platform_run(void (*body)(void *), void *arg, size_t *stack_used)
{
    uint32_t *low = __stack - MCUORCH_STACK_SIZE / 4;
    uint32_t *sp = __builtin_frame_address(0);
    for (uint32_t *p = low; p < sp - CALLER_RESERVE; p++)
        *p = PAINT;
    body(arg);
    uint32_t *p = low;
    while (p < sp && *p == PAINT)
        p++;
    *stack_used = (size_t)((char *)__stack - (char *)p);
    return 0;
}
