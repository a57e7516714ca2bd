/*
 * Tiny int8 model for testing the target software: inputs x0[12], x1[4] are concatenated,
 * h = relu(dense(x; W1[8x16], b1)) and y = dense(h; W2[4x8], b2), both requantized with
 * TFLite's fixed-point multiplier. Outputs: h (int8[8]) and y (int8[4]). Integer arithmetic only,
 * so every target must reproduce tests/data/make_tiny_model.py's golden outputs exactly.
 */
#include <string.h>

#include "mcuorch_model.h"
#include "tiny_weights.h"

const int mcuorch_output_dtype[MCUORCH_NUM_OUTPUTS] = {MCUORCH_DTYPE_INT8, MCUORCH_DTYPE_INT8};

static int8_t in0[IN0_SIZE];
static int8_t in1[IN1_SIZE];
static int8_t hidden[HIDDEN_SIZE];
static int8_t out[OUT_SIZE];
static int initialised;

static int32_t srdhm(int32_t a, int32_t b)
{
    if (a == b && a == INT32_MIN)
        return INT32_MAX;
    int64_t ab = (int64_t)a * (int64_t)b;
    int64_t nudge = ab >= 0 ? (1ll << 30) : (1 - (1ll << 30));
    return (int32_t)((ab + nudge) / (1ll << 31));
}

static int32_t rounding_divide_by_pot(int32_t x, int exponent)
{
    int32_t mask = (int32_t)((1ll << exponent) - 1);
    int32_t remainder = x & mask;
    int32_t threshold = (mask >> 1) + (x < 0 ? 1 : 0);
    return (x >> exponent) + (remainder > threshold ? 1 : 0);
}

static int32_t requantize(int32_t acc, int32_t multiplier, int shift)
{
    int left = shift > 0 ? shift : 0;
    int right = shift > 0 ? 0 : -shift;
    return rounding_divide_by_pot(srdhm(acc * (1 << left), multiplier), right);
}

static void dense(const int8_t *x, int n_in, int32_t x_zp, const int8_t *w, const int32_t *bias,
                  int n_out, int32_t multiplier, int shift, int32_t y_zp, int32_t lo, int32_t hi,
                  int8_t *y)
{
    for (int o = 0; o < n_out; o++) {
        int32_t acc = bias[o];
        for (int i = 0; i < n_in; i++)
            acc += (int32_t)w[o * n_in + i] * ((int32_t)x[i] - x_zp);
        int32_t v = requantize(acc, multiplier, shift) + y_zp;
        y[o] = (int8_t)(v < lo ? lo : (v > hi ? hi : v));
    }
}

int mcuorch_model_init(void)
{
    memset(hidden, 0, sizeof hidden);
    memset(out, 0, sizeof out);
    initialised = 1;
    return 0;
}

int mcuorch_model_invoke(void)
{
    int8_t x[IN0_SIZE + IN1_SIZE];
    if (!initialised)
        return 1;
    /* Both inputs share one quantization (zero point IN_ZP), as a concatenation requires. */
    memcpy(x, in0, IN0_SIZE);
    memcpy(x + IN0_SIZE, in1, IN1_SIZE);
    dense(x, IN0_SIZE + IN1_SIZE, IN_ZP, W1, B1, HIDDEN_SIZE, M1, S1, H_ZP, H_ZP, 127, hidden);
    dense(hidden, HIDDEN_SIZE, H_ZP, W2, B2, OUT_SIZE, M2, S2, OUT_ZP, -128, 127, out);
    return 0;
}

void *mcuorch_model_input(size_t i) { return i == 0 ? (void *)in0 : i == 1 ? (void *)in1 : NULL; }

size_t mcuorch_model_input_bytes(size_t i) { return i == 0 ? sizeof in0 : i == 1 ? sizeof in1 : 0; }

const void *mcuorch_model_output(size_t i)
{
    return i == 0 ? (const void *)hidden : i == 1 ? (const void *)out : NULL;
}

size_t mcuorch_model_output_bytes(size_t i)
{
    return i == 0 ? sizeof hidden : i == 1 ? sizeof out : 0;
}
