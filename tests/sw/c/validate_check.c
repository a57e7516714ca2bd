/*
 * Drives the harness's comparison (sw/harness/validate.c) and number formatting
 * (sw/harness/report.c) with hand-picked cases; tests/sw/test_harness_c.py compiles it on the
 * host once per validation mode and checks what it prints.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "mcuorch_model.h"
#include "report.h"
#include "validate.h"

static void show(const char *label, const mcuorch_validation_t *v)
{
    printf("%s elements=%u mismatches=%u argmax=%u max_int=%u max_float=%.6f nan=%d passed=%d\n",
           label, (unsigned)v->elements, (unsigned)v->mismatches, (unsigned)v->argmax_mismatches,
           (unsigned)v->max_diff_int, (double)v->max_diff_float, v->nan_mismatch,
           mcuorch_validation_passed(v));
}

int main(void)
{
    mcuorch_validation_t v;

    /* int8: one element off by 2, argmax unchanged */
    const int8_t a8[4] = {-128, 5, 100, 7}, e8[4] = {-128, 3, 100, 7};
    memset(&v, 0, sizeof v);
    mcuorch_validation_add(&v, MCUORCH_DTYPE_INT8, a8, e8, sizeof a8);
    show("int8", &v);

    /* int32 extremes: the difference needs 32 unsigned bits */
    const int32_t a32[2] = {2147483647, 0}, e32[2] = {-2147483647 - 1, 0};
    memset(&v, 0, sizeof v);
    mcuorch_validation_add(&v, MCUORCH_DTYPE_INT32, a32, e32, sizeof a32);
    show("int32", &v);

    /* uint8 and int16: argmax moves */
    const uint8_t au[3] = {10, 200, 30}, eu[3] = {10, 20, 30};
    const int16_t a16[3] = {-300, 2, 1}, e16[3] = {-300, 1, 2};
    memset(&v, 0, sizeof v);
    mcuorch_validation_add(&v, MCUORCH_DTYPE_UINT8, au, eu, sizeof au);
    mcuorch_validation_add(&v, MCUORCH_DTYPE_INT16, a16, e16, sizeof a16);
    show("uint8+int16", &v);

    /* float with a NaN against a number, and a tie for the maximum (first index wins) */
    const float af[4] = {0.25f, NAN, 1.0f, 1.0f}, ef[4] = {0.5f, 2.0f, 1.0f, 0.0f};
    memset(&v, 0, sizeof v);
    mcuorch_validation_add(&v, MCUORCH_DTYPE_FLOAT32, af, ef, sizeof af);
    show("float", &v);

    /* unknown dtype is refused */
    memset(&v, 0, sizeof v);
    printf("unknown=%d\n", mcuorch_validation_add(&v, 99, a8, e8, sizeof a8));

    mcuorch_report_float("f1", 0.5f);
    mcuorch_report_float("f2", 1234.0000005f);
    mcuorch_report_float("f3", 3.0e10f);
    mcuorch_report_float("f4", -0.0000004f);
    mcuorch_report_float("f5", INFINITY);
    mcuorch_report_float("f6", NAN);
    mcuorch_report_float("f7", 0.9999999f);
    mcuorch_report_uint("u1", 4294967295u);
    mcuorch_report_seconds("s1", 1234567890123ull);
    return 0;
}
