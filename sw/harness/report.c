#include "report.h"

#include <stdio.h>

void mcuorch_report_uint(const char *name, uint32_t value)
{
    printf("# %s: %lu\n", name, (unsigned long)value);
}

void mcuorch_report_float(const char *name, float value)
{
    const char *sign = "";
    if (value != value) {
        printf("# %s: nan\n", name);
        return;
    }
    if (value < 0.0f) {
        sign = "-";
        value = -value;
    }
    if (value > 3.4028235e38f) {
        printf("# %s: %sinf\n", name, sign);
        return;
    }
    int exponent = 0;
    if (value >= 1e9f) {
        while (value >= 10.0f) {
            value /= 10.0f;
            exponent++;
        }
    }
    unsigned long whole = (unsigned long)value;
    unsigned long frac = (unsigned long)((value - (float)whole) * 1e6f + 0.5f);
    if (frac >= 1000000ul) {
        whole++;
        frac -= 1000000ul;
    }
    if (exponent)
        printf("# %s: %s%lu.%06lue+%02d\n", name, sign, whole, frac, exponent);
    else
        printf("# %s: %s%lu.%06lu\n", name, sign, whole, frac);
}

void mcuorch_report_seconds(const char *name, uint64_t nanoseconds)
{
    printf("# %s: %lu.%09lu\n", name, (unsigned long)(nanoseconds / 1000000000u),
           (unsigned long)(nanoseconds % 1000000000u));
}
