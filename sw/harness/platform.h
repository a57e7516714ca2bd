/*
 * What differs between the Linux host and the bare-metal simulator targets: the host has a wall
 * clock and measures the stack of the benchmark body itself (a thread on a painted stack); on
 * simulators both are left to the simulator (instruction counts and stack high-water mark come
 * from mcuorch-qemu-run), so the harness prints no figure it cannot measure.
 */
#ifndef MCUORCH_PLATFORM_H
#define MCUORCH_PLATFORM_H

#include <stddef.h>
#include <stdint.h>

#ifdef MCUORCH_PLATFORM_HOST
#define MCUORCH_HAS_WALLCLOCK 1
#else
#define MCUORCH_HAS_WALLCLOCK 0
#endif

/* Monotonic time in nanoseconds (0 where MCUORCH_HAS_WALLCLOCK is 0). */
uint64_t mcuorch_platform_time_ns(void);

/*
 * Runs body(arg). Returns 0 and the bytes of stack the body used in *stack_used when the
 * platform can measure it, -1 when it cannot (or the body could not be started).
 */
int mcuorch_platform_run(void (*body)(void *), void *arg, size_t *stack_used);

#endif
