/*
 * Printing in MLonMCU's format: "# <Name>: <value>" lines between "Program start." and
 * "Program finish.", then "MLONMCU EXIT: <code>". Bare-metal images link picolibc's integer-only
 * printf, so floats are formatted here.
 */
#ifndef MCUORCH_REPORT_H
#define MCUORCH_REPORT_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

void mcuorch_report_uint(const char *name, uint32_t value);
/* Fixed point with 6 decimals below 1e9, otherwise d.dddddde+XX; "inf"/"nan" as such. */
void mcuorch_report_float(const char *name, float value);
/* Host only (glibc printf): seconds with nanosecond resolution. */
void mcuorch_report_seconds(const char *name, uint64_t nanoseconds);

#ifdef __cplusplus
}
#endif

#endif
