/* Bare-metal simulators: no clock worth reading, the simulator observes the stack. */
#include "platform.h"

uint64_t mcuorch_platform_time_ns(void) { return 0; }

#if defined(__riscv) && defined(MCUORCH_RISCV_VECTOR)
/* The vector unit is off after reset (mstatus.VS = Off), so the model code's first vector
   instruction would trap: switch it to Initial before main (arch variants with V set the macro),
   and fix the fixed-point rounding mode (vxrm, CSR 0x00A) to round-to-nearest-up, which the
   kernels' vsmul and vssra rely on. */
__attribute__((constructor)) static void mcuorch_enable_vector_unit(void)
{
    __asm__ volatile("csrs mstatus, %0\n\tcsrwi 0x00a, 0" : : "r"(1u << 9));
}
#endif

int mcuorch_platform_run(void (*body)(void *), void *arg, size_t *stack_used)
{
    body(arg);
    *stack_used = 0;
    return -1;
}
