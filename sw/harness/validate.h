/*
 * On-target comparison of model outputs with golden outputs. The mode is fixed at compile time
 * (compile.sh --validate); mismatch count and largest difference are gathered in every mode so
 * the report always shows how far the outputs are from the reference.
 */
#ifndef MCUORCH_VALIDATE_H
#define MCUORCH_VALIDATE_H

#include <stddef.h>
#include <stdint.h>

#define MCUORCH_VALIDATE_NONE 0
#define MCUORCH_VALIDATE_EXACT 1
#define MCUORCH_VALIDATE_ATOL 2
#define MCUORCH_VALIDATE_ARGMAX 3

#ifndef MCUORCH_VALIDATE
#define MCUORCH_VALIDATE MCUORCH_VALIDATE_EXACT
#endif
#ifndef MCUORCH_ATOL_INT
#define MCUORCH_ATOL_INT 0
#endif
#ifndef MCUORCH_ATOL_FLOAT
#define MCUORCH_ATOL_FLOAT 0.0f
#endif

typedef struct {
    uint32_t elements;          /* output elements compared */
    uint32_t mismatches;        /* elements outside the tolerance (atol: |d| > atol, else d != 0) */
    uint32_t argmax_mismatches; /* output tensors whose argmax differs from the golden one */
    uint32_t max_diff_int;      /* largest |d| over integer outputs (fits: |int32 - int32| < 2^32) */
    float max_diff_float;       /* largest |d| over float outputs */
    int has_float;              /* any float32 output compared */
    int nan_mismatch;           /* a NaN met a number */
} mcuorch_validation_t;

/* Elements of one output tensor of `dtype` (MCUORCH_DTYPE_*) in `bytes`, 0 for unknown dtypes. */
size_t mcuorch_dtype_size(int dtype);

/* Compares one output tensor; returns 0, or -1 if dtype is unknown. */
int mcuorch_validation_add(mcuorch_validation_t *acc, int dtype, const void *actual,
                           const void *expected, size_t bytes);

/* Verdict for the compiled mode (none always passes). */
int mcuorch_validation_passed(const mcuorch_validation_t *acc);

#endif
