/*
 * The benchmark body on a painted stack, for simulators that do not watch the stack (Spike,
 * bare metal or under pk): the free stack below the caller is filled with a pattern, the body
 * runs, and the deepest word that lost the pattern gives the high-water mark, counted from the
 * top of the stack like mcuorch-qemu-run's watch. The top is where the program's first stack
 * pointer was: __stack bare metal, the stack pk set up under pk (pk_start.S records it).
 */
#include "platform.h"

#include <stdint.h>

#define PAINT 0xa5a5a5a5u
#define CALLER_RESERVE 32 /* words below the caller's frame left untouched */

uint64_t mcuorch_platform_time_ns(void) { return 0; }

#ifdef MCUORCH_PLATFORM_PK
extern uint32_t *mcuorch_stack_top; /* pk_start.S */
#define STACK_TOP mcuorch_stack_top
#else
extern uint32_t __stack[]; /* top of the stack (picolibc.ld) */
#define STACK_TOP __stack
#endif

int mcuorch_platform_run(void (*body)(void *), void *arg, size_t *stack_used)
{
    uint32_t *top = STACK_TOP;
    uint32_t *low = top - MCUORCH_STACK_SIZE / 4;
    uint32_t *sp = __builtin_frame_address(0);
    for (uint32_t *p = low; p < sp - CALLER_RESERVE; p++)
        *p = PAINT;
    body(arg);
    uint32_t *p = low;
    while (p < sp && *p == PAINT)
        p++;
    *stack_used = (size_t)((char *)top - (char *)p);
    return 0;
}
