#include "validate.h"

#include <string.h>

#include "mcuorch_model.h"

size_t mcuorch_dtype_size(int dtype)
{
    switch (dtype) {
    case MCUORCH_DTYPE_INT8:
    case MCUORCH_DTYPE_UINT8:
        return 1;
    case MCUORCH_DTYPE_INT16:
        return 2;
    case MCUORCH_DTYPE_INT32:
    case MCUORCH_DTYPE_FLOAT32:
        return 4;
    default:
        return 0;
    }
}

/* Element k of an integer tensor; memcpy keeps unaligned buffers safe. */
static int64_t load_int(int dtype, const unsigned char *p, size_t k)
{
    switch (dtype) {
    case MCUORCH_DTYPE_INT8: {
        int8_t v;
        memcpy(&v, p + k, 1);
        return v;
    }
    case MCUORCH_DTYPE_UINT8:
        return p[k];
    case MCUORCH_DTYPE_INT16: {
        int16_t v;
        memcpy(&v, p + 2 * k, 2);
        return v;
    }
    default: {
        int32_t v;
        memcpy(&v, p + 4 * k, 4);
        return v;
    }
    }
}

static float load_float(const unsigned char *p, size_t k)
{
    float v;
    memcpy(&v, p + 4 * k, 4);
    return v;
}

static void compare_ints(mcuorch_validation_t *acc, int dtype, const unsigned char *a,
                         const unsigned char *e, size_t n)
{
    size_t arg_a = 0, arg_e = 0;
    int64_t best_a = 0, best_e = 0;
    for (size_t k = 0; k < n; k++) {
        int64_t va = load_int(dtype, a, k);
        int64_t ve = load_int(dtype, e, k);
        uint32_t d = (uint32_t)(va > ve ? va - ve : ve - va);
        uint32_t tol = (MCUORCH_VALIDATE == MCUORCH_VALIDATE_ATOL) ? (uint32_t)MCUORCH_ATOL_INT : 0u;
        if (d > tol)
            acc->mismatches++;
        if (d > acc->max_diff_int)
            acc->max_diff_int = d;
        if (k == 0 || va > best_a) {
            best_a = va;
            arg_a = k;
        }
        if (k == 0 || ve > best_e) {
            best_e = ve;
            arg_e = k;
        }
    }
    if (n > 0 && arg_a != arg_e)
        acc->argmax_mismatches++;
}

static void compare_floats(mcuorch_validation_t *acc, const unsigned char *a, const unsigned char *e,
                           size_t n)
{
    size_t arg_a = 0, arg_e = 0;
    float best_a = 0.0f, best_e = 0.0f;
    int seen_a = 0, seen_e = 0;
    acc->has_float = 1;
    for (size_t k = 0; k < n; k++) {
        float va = load_float(a, k);
        float ve = load_float(e, k);
        int nan_a = va != va, nan_e = ve != ve;
        /* argmax of each side ignores that side's NaNs */
        if (!nan_a && (!seen_a || va > best_a)) {
            best_a = va;
            arg_a = k;
            seen_a = 1;
        }
        if (!nan_e && (!seen_e || ve > best_e)) {
            best_e = ve;
            arg_e = k;
            seen_e = 1;
        }
        if (nan_a || nan_e) {
            if (!(nan_a && nan_e)) {
                acc->mismatches++;
                acc->nan_mismatch = 1;
            }
            continue;
        }
        float d = va > ve ? va - ve : ve - va;
        float tol = (MCUORCH_VALIDATE == MCUORCH_VALIDATE_ATOL) ? (float)MCUORCH_ATOL_FLOAT : 0.0f;
        if (d > tol)
            acc->mismatches++;
        if (d > acc->max_diff_float)
            acc->max_diff_float = d;
    }
    if (n > 0 && arg_a != arg_e)
        acc->argmax_mismatches++;
}

int mcuorch_validation_add(mcuorch_validation_t *acc, int dtype, const void *actual,
                           const void *expected, size_t bytes)
{
    size_t size = mcuorch_dtype_size(dtype);
    if (size == 0)
        return -1;
    size_t n = bytes / size;
    acc->elements += (uint32_t)n;
    if (dtype == MCUORCH_DTYPE_FLOAT32)
        compare_floats(acc, actual, expected, n);
    else
        compare_ints(acc, dtype, actual, expected, n);
    return 0;
}

int mcuorch_validation_passed(const mcuorch_validation_t *acc)
{
    switch (MCUORCH_VALIDATE) {
    case MCUORCH_VALIDATE_NONE:
        return 1;
    case MCUORCH_VALIDATE_ARGMAX:
        return acc->argmax_mismatches == 0;
    default:
        return acc->mismatches == 0;
    }
}
