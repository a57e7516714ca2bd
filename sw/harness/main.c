/*
 * The benchmark harness: initialise the model (Setup region), then for every golden vector copy
 * its inputs, run one inference (Run region) and compare the outputs with the golden ones on the
 * target. Prints MLonMCU's markers and exits with MLonMCU's codes.
 */
#include <stdio.h>
#include <string.h>

#include "golden.h"
#include "mcuorch_model.h"
#include "platform.h"
#include "regions.h"
#include "report.h"
#include "validate.h"

#define MCUORCH_EXIT_OK 0
#define MCUORCH_EXIT_ERROR 0x10
#define MCUORCH_EXIT_INVALID_SIZE 0x11
#define MCUORCH_EXIT_MISMATCH 0x12

#if MCUORCH_HAS_WALLCLOCK
#define NOW() mcuorch_platform_time_ns()
#else
#define NOW() 0u
#endif

/* Optional: generated code may print its own figures (e.g. TFLite-Micro's arena use). */
void mcuorch_model_report(void) __attribute__((weak));

static const char *const mode_names[] = {"none", "exact", "atol", "argmax"};

typedef struct {
    int rc;
    int compared; /* outputs of at least one vector were compared */
    mcuorch_validation_t validation;
    uint32_t inferences;
    uint64_t setup_ns;
    uint64_t run_ns;
} bench_t;

static int load_inputs(size_t v)
{
    for (size_t i = 0; i < MCUORCH_NUM_INPUTS; i++) {
        size_t golden_bytes;
        const void *golden = mcuorch_golden_input(v, i, &golden_bytes);
        size_t model_bytes = mcuorch_model_input_bytes(i);
        if (golden_bytes != model_bytes) {
            printf("error: golden input %lu of vector %lu has %lu bytes, the model expects %lu\n",
                   (unsigned long)i, (unsigned long)v, (unsigned long)golden_bytes,
                   (unsigned long)model_bytes);
            return MCUORCH_EXIT_INVALID_SIZE;
        }
        memcpy(mcuorch_model_input(i), golden, golden_bytes);
    }
    return MCUORCH_EXIT_OK;
}

static int check_outputs(bench_t *b, size_t v)
{
    for (size_t i = 0; i < MCUORCH_NUM_OUTPUTS; i++) {
        size_t golden_bytes;
        const void *golden = mcuorch_golden_output(v, i, &golden_bytes);
        size_t model_bytes = mcuorch_model_output_bytes(i);
        if (golden_bytes != model_bytes) {
            printf("error: golden output %lu of vector %lu has %lu bytes, the model produces %lu\n",
                   (unsigned long)i, (unsigned long)v, (unsigned long)golden_bytes,
                   (unsigned long)model_bytes);
            return MCUORCH_EXIT_INVALID_SIZE;
        }
        if (mcuorch_validation_add(&b->validation, mcuorch_output_dtype[i], mcuorch_model_output(i),
                                   golden, golden_bytes) != 0) {
            printf("error: output %lu has unknown dtype %d\n", (unsigned long)i,
                   mcuorch_output_dtype[i]);
            return MCUORCH_EXIT_ERROR;
        }
    }
    b->compared = 1;
    return MCUORCH_EXIT_OK;
}

static void bench_body(void *arg)
{
    bench_t *b = arg;

    if (MCUORCH_GOLDEN_NUM_INPUTS != MCUORCH_NUM_INPUTS ||
        MCUORCH_GOLDEN_NUM_OUTPUTS != MCUORCH_NUM_OUTPUTS) {
        printf("error: golden vectors have %d inputs and %d outputs, the model %d and %d\n",
               MCUORCH_GOLDEN_NUM_INPUTS, MCUORCH_GOLDEN_NUM_OUTPUTS, MCUORCH_NUM_INPUTS,
               MCUORCH_NUM_OUTPUTS);
        b->rc = MCUORCH_EXIT_INVALID_SIZE;
        return;
    }

    uint64_t t0 = NOW();
    mcuorch_setup_begin();
    int status = mcuorch_model_init();
    mcuorch_setup_end();
    b->setup_ns = NOW() - t0;
    if (status != 0) {
        printf("error: mcuorch_model_init returned %d\n", status);
        b->rc = MCUORCH_EXIT_ERROR;
        return;
    }

    for (size_t v = 0; v < MCUORCH_GOLDEN_NUM_VECTORS; v++) {
        b->rc = load_inputs(v);
        if (b->rc != MCUORCH_EXIT_OK)
            return;
        uint64_t t1 = NOW();
        mcuorch_run_begin();
        status = mcuorch_model_invoke();
        mcuorch_run_end();
        b->run_ns += NOW() - t1;
        b->inferences++;
        if (status != 0) {
            printf("error: mcuorch_model_invoke returned %d for vector %lu\n", status,
                   (unsigned long)v);
            b->rc = MCUORCH_EXIT_ERROR;
            return;
        }
        b->rc = check_outputs(b, v);
        if (b->rc != MCUORCH_EXIT_OK)
            return;
    }
    b->rc = mcuorch_validation_passed(&b->validation) ? MCUORCH_EXIT_OK : MCUORCH_EXIT_MISMATCH;
}

static void report(const bench_t *b, int stack_measured, size_t stack_used, uint64_t total_ns)
{
    const mcuorch_validation_t *val = &b->validation;
    mcuorch_report_uint("Inferences", b->inferences);
    if (b->compared) {
        mcuorch_report_uint("Validation Mismatches", val->mismatches);
        if (MCUORCH_VALIDATE == MCUORCH_VALIDATE_ATOL)
            mcuorch_report_float("Validation Tolerance", MCUORCH_ATOL_FLOAT);
        if (val->has_float) {
            float max = val->max_diff_float;
            if ((float)val->max_diff_int > max)
                max = (float)val->max_diff_int;
            mcuorch_report_float("Validation Max Diff", max);
        } else {
            mcuorch_report_uint("Validation Max Diff", val->max_diff_int);
        }
        if (MCUORCH_VALIDATE == MCUORCH_VALIDATE_ARGMAX)
            mcuorch_report_uint("Validation Argmax Mismatches", val->argmax_mismatches);
    }
    if (MCUORCH_HAS_WALLCLOCK) {
        mcuorch_report_seconds("Setup Runtime [s]", b->setup_ns);
        if (b->inferences)
            mcuorch_report_seconds("Run Runtime [s]", b->run_ns / b->inferences);
        mcuorch_report_seconds("Total Runtime [s]", total_ns);
    }
    if (stack_measured)
        mcuorch_report_uint("RAM stack", (uint32_t)stack_used);
    if (mcuorch_model_report)
        mcuorch_model_report();
}

int main(void)
{
    static bench_t bench;
    size_t stack_used = 0;
    uint64_t t0 = NOW();

    printf("Program start.\n");
    printf("Validation mode: %s, %d golden vector(s); the Run region is one inference, "
           "Run figures are per inference (mean over all)\n",
           mode_names[MCUORCH_VALIDATE], MCUORCH_GOLDEN_NUM_VECTORS);
    int measured = mcuorch_platform_run(bench_body, &bench, &stack_used) == 0;
    report(&bench, measured, stack_used, NOW() - t0);
    printf("Program finish.\n");
    printf("MLONMCU EXIT: %d\n", bench.rc);
    return bench.rc;
}
