/* Bare-metal simulators: no clock worth reading, the simulator observes the stack. */
#include "platform.h"

uint64_t mcuorch_platform_time_ns(void) { return 0; }

int mcuorch_platform_run(void (*body)(void *), void *arg, size_t *stack_used)
{
    body(arg);
    *stack_used = 0;
    return -1;
}
