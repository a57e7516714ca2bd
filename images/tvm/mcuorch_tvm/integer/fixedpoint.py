"""TFLite-Micro's integer arithmetic, written out in Python as the ground truth.

Two uses: the build step derives every multiplier, shift and clamp bound here (exactly as the
TFLite-Micro wheel's ``Prepare`` functions do, in double precision with the same operation
order), and tests compare generated kernels and edge cases against these functions.

The pinned ``tflite-micro`` wheel is built *without* ``TFLITE_SINGLE_ROUNDING`` (its
``MultiplyByQuantizedMultiplier(int, int, int)`` disassembles to gemmlowp's
``SaturatingRoundingDoublingHighMul`` followed by ``RoundingDivideByPOT``), so requantization
rounds twice: first to nearest with ties toward +inf (the high half of the doubled product),
then to nearest with ties away from zero (the rounding right shift).

Scalars are Python ints (unbounded); the vector forms take numpy int64 arrays. Results are
wrapped to int32 only where the C++ code wraps (documented per function).
"""

from __future__ import annotations

import math

import numpy as np

INT32_MIN = -(2**31)
INT32_MAX = 2**31 - 1


def wrap_int32(x: int) -> int:
    """Two's complement wrap of an integer to int32 (what a 32-bit register holds)."""
    return ((x + 2**31) % 2**32) - 2**31


def round_half_away(x: float) -> int:
    """C ``round()``/``TfLiteRound`` on a double: nearest integer, ties away from zero."""
    if x != x or math.isinf(x):
        raise ValueError(f"cannot round {x}")
    a = abs(x)
    f = math.floor(a)
    r = f + 1 if a - f >= 0.5 else f
    return int(r if x >= 0 else -r)


def round_half_away_f32(x: np.float32) -> int:
    """``TfLiteRound`` on a float (``roundf``): the float is exact in double, same rule."""
    return round_half_away(float(np.float32(x)))


# --------------------------------------------------------------------------- multipliers


def quantize_multiplier(real: float) -> tuple[int, int]:
    """``QuantizeMultiplier(double, int32*, int*)``: real = q * 2^(shift - 31), q in [2^30, 2^31)."""
    if real == 0.0:
        return 0, 0
    mantissa, shift = math.frexp(real)
    q = round_half_away(mantissa * (1 << 31))
    if q == (1 << 31):
        q //= 2
        shift += 1
    if shift < -31:
        return 0, 0
    return q, shift


def quantize_multiplier_smaller_than_one_exp(real: float) -> tuple[int, int]:
    """``QuantizeMultiplierSmallerThanOneExp``: same encoding, requires 0 < real < 1."""
    if not 0.0 < real < 1.0:
        raise ValueError(f"multiplier {real} is not in (0, 1)")
    q, shift = quantize_multiplier(real)
    if shift > 0:
        raise ValueError(f"multiplier {real} gave a left shift")
    return q, shift


def quantize_multiplier_greater_than_one(real: float) -> tuple[int, int]:
    """``QuantizeMultiplierGreaterThanOne``: requires real > 1, returns a left shift >= 0."""
    if not real > 1.0:
        raise ValueError(f"multiplier {real} is not > 1")
    q, shift = quantize_multiplier(real)
    if shift < 0:
        raise ValueError(f"multiplier {real} gave a right shift")
    return q, shift


# --------------------------------------------------------------------------- gemmlowp primitives


def srdhm(a: int, b: int) -> int:
    """``SaturatingRoundingDoublingHighMul`` on int32 operands.

    ``(a*b + nudge) / 2^31`` with C truncation and nudge = 2^30 or 1 - 2^30 by the product's
    sign; that equals ``floor((a*b + 2^30) / 2^31)`` for every product, the form the kernels
    use. Only ``INT32_MIN * INT32_MIN`` saturates.
    """
    if a == INT32_MIN and b == INT32_MIN:
        return INT32_MAX
    ab = a * b
    nudge = (1 << 30) if ab >= 0 else 1 - (1 << 30)
    num = ab + nudge
    q = abs(num) // (1 << 31)
    return wrap_int32(q if num >= 0 else -q)


def rdbpot(x: int, exponent: int) -> int:
    """``RoundingDivideByPOT``: x / 2^exponent rounded to nearest, ties away from zero."""
    if not 0 <= exponent <= 31:
        raise ValueError(f"exponent {exponent} out of [0, 31]")
    mask = (1 << exponent) - 1
    remainder = x & mask
    threshold = (mask >> 1) + (1 if x < 0 else 0)
    return (x >> exponent) + (1 if remainder > threshold else 0)


def multiply_by_quantized_multiplier(x: int, multiplier: int, shift: int) -> int:
    """``MultiplyByQuantizedMultiplier(int32, int32, int)`` (double rounding).

    A left shift (``shift > 0``) is applied in 32 bits as the C++ code does; the wrap is only
    reachable when TFLite itself overflows.
    """
    left = shift if shift > 0 else 0
    right = -shift if shift < 0 else 0
    return rdbpot(srdhm(wrap_int32(x * (1 << left)), multiplier), right)


def multiply_by_quantized_multiplier_smaller_than_one_exp(x: int, multiplier: int, shift: int) -> int:
    """``MultiplyByQuantizedMultiplierSmallerThanOneExp``: shift <= 0, double rounding."""
    return rdbpot(srdhm(x, multiplier), -shift)


def multiply_by_quantized_multiplier_greater_than_one(x: int, multiplier: int, left_shift: int) -> int:
    """``MultiplyByQuantizedMultiplierGreaterThanOne``: ``srdhm(x * 2^left_shift, multiplier)``."""
    return srdhm(wrap_int32(x * (1 << left_shift)), multiplier)


def srdhm_array(a: np.ndarray, b: np.ndarray | int) -> np.ndarray:
    """Vector :func:`srdhm` for int32-range int64 arrays (no saturation case expected)."""
    ab = np.asarray(a, dtype=np.int64) * np.asarray(b, dtype=np.int64)
    return (ab + (1 << 30)) >> 31


def rdbpot_array(x: np.ndarray, exponent: np.ndarray | int) -> np.ndarray:
    """Vector :func:`rdbpot` (numpy's ``>>`` on int64 is arithmetic)."""
    x = np.asarray(x, dtype=np.int64)
    e = np.asarray(exponent, dtype=np.int64)
    mask = (np.int64(1) << e) - 1
    threshold = (mask >> 1) + (x < 0)
    return (x >> e) + ((x & mask) > threshold)


def requantize_array(acc: np.ndarray, multiplier: np.ndarray | int, shift: np.ndarray | int) -> np.ndarray:
    """Vector :func:`multiply_by_quantized_multiplier` for accumulators that do not overflow."""
    shift = np.asarray(shift, dtype=np.int64)
    left = np.maximum(shift, 0)
    right = np.maximum(-shift, 0)
    return rdbpot_array(srdhm_array(np.asarray(acc, dtype=np.int64) << left, multiplier), right)


# --------------------------------------------------------------------------- softmax (int8)

#: gemmlowp's fixed-point formats used by TFLite's int8 softmax.
SOFTMAX_DIFF_INTEGER_BITS = 5
SOFTMAX_ACCUM_INTEGER_BITS = 12


def preprocess_softmax_scaling(beta: float, input_scale: float, input_integer_bits: int) -> tuple[int, int]:
    """``PreprocessSoftmaxScaling`` (double-rounding build): multiplier and left shift."""
    real = min(beta * input_scale * (1 << (31 - input_integer_bits)), (1 << 31) - 1.0)
    return quantize_multiplier_greater_than_one(real)


def calculate_input_radius(input_integer_bits: int, input_left_shift: int, total_signed_bits: int = 31) -> int:
    """``CalculateInputRadius``: the largest |diff| whose rescaled value does not overflow."""
    max_input_rescaled = (
        1.0 * ((1 << input_integer_bits) - 1) * (1 << (total_signed_bits - input_integer_bits))
        / (1 << input_left_shift)
    )
    return int(math.floor(max_input_rescaled))


def _srmpot(x: int, exponent: int) -> int:
    """``SaturatingRoundingMultiplyByPOT<exponent>`` on an int32."""
    if exponent == 0:
        return x
    if exponent < 0:
        return rdbpot(x, -exponent)
    threshold = (1 << (31 - exponent)) - 1
    if x > threshold:
        return INT32_MAX
    if x < -threshold:
        return INT32_MIN
    return wrap_int32(x << exponent)


def _exp_on_interval_between_negative_one_quarter_and_0_excl(a: int) -> int:
    """gemmlowp's exp on [-1/4, 0) in Q0.31 (Taylor expansion around -1/8)."""
    constant_term = 1895147668
    constant_1_over_3 = 715827883
    x = wrap_int32(a + (1 << 28))
    x2 = srdhm(x, x)
    x3 = srdhm(x2, x)
    x4 = srdhm(x2, x2)
    x4_over_4 = _srmpot(x4, -2)
    poly = _srmpot(wrap_int32(srdhm(wrap_int32(x4_over_4 + x3), constant_1_over_3) + x2), -1)
    return wrap_int32(constant_term + srdhm(constant_term, wrap_int32(x + poly)))


#: (bit of the remainder, Q0.31 multiplier exp(-2^k)) for the barrel shifter of exp.
EXP_BARREL = ((-2, 1672461947), (-1, 1302514674), (0, 790015084), (1, 290630308),
              (2, 39332535), (3, 720401), (4, 242))


def exp_on_negative_values(a: int, integer_bits: int = SOFTMAX_DIFF_INTEGER_BITS) -> int:
    """gemmlowp ``exp_on_negative_values`` for a Q(integer_bits).(31-integer_bits) input <= 0."""
    fractional_bits = 31 - integer_bits
    one_quarter = 1 << (fractional_bits - 2)
    mask = one_quarter - 1
    a_mod_quarter_minus_one_quarter = wrap_int32((a & mask) - one_quarter)
    result = _exp_on_interval_between_negative_one_quarter_and_0_excl(
        _srmpot(a_mod_quarter_minus_one_quarter, integer_bits))
    remainder = wrap_int32(a_mod_quarter_minus_one_quarter - a)
    for exponent, multiplier in EXP_BARREL:
        if integer_bits > exponent:
            if remainder & (1 << (fractional_bits + exponent)):
                result = srdhm(result, multiplier)
    if integer_bits > 5:
        raise ValueError("integer_bits > 5 is not used by TFLite's int8 softmax")
    if a == 0:
        result = INT32_MAX
    return result


def rounding_half_sum(a: int, b: int) -> int:
    """gemmlowp ``RoundingHalfSum``: (a + b + sign) / 2 in 64 bits, C truncation."""
    s = a + b
    q = (abs(s) + 1) // 2
    return wrap_int32(q if s >= 0 else -q)


def one_over_one_plus_x_for_x_in_0_1(a: int) -> int:
    """gemmlowp ``one_over_one_plus_x_for_x_in_0_1`` in Q0.31 (Newton-Raphson, 3 steps)."""
    half_denominator = rounding_half_sum(a, INT32_MAX)
    constant_48_over_17 = 1515870810
    constant_neg_32_over_17 = -1010580540
    one_q2 = 1 << 29
    x = wrap_int32(constant_48_over_17 + srdhm(half_denominator, constant_neg_32_over_17))
    for _ in range(3):
        half_denominator_times_x = srdhm(half_denominator, x)
        one_minus = wrap_int32(one_q2 - half_denominator_times_x)
        x = wrap_int32(x + _srmpot(srdhm(x, one_minus), 2))
    return _srmpot(x, 1)  # Rescale<0>(ExactMulByPot<-1>(x)): Q1.30 -> Q0.31, saturating


def count_leading_zeros_u32(x: int) -> int:
    """Leading zero bits of an unsigned 32-bit value (32 for 0)."""
    x &= 0xFFFFFFFF
    return 32 - x.bit_length()


def get_reciprocal(x: int, x_integer_digits: int) -> tuple[int, int]:
    """TFLite ``GetReciprocal``: (Q0.31 of 1/x scaled into [0.5, 1), num_bits_over_unit)."""
    headroom_plus_one = count_leading_zeros_u32(x)
    num_bits_over_unit = x_integer_digits - headroom_plus_one
    shifted_sum_minus_one = wrap_int32(((x & 0xFFFFFFFF) << headroom_plus_one) - (1 << 31))
    return one_over_one_plus_x_for_x_in_0_1(shifted_sum_minus_one), num_bits_over_unit


def softmax_int8(row: np.ndarray, input_multiplier: int, input_left_shift: int, diff_min: int) -> np.ndarray:
    """TFLite's reference int8 softmax of one row (int8 output, scale 1/256, zp -128)."""
    values = [int(v) for v in np.asarray(row).reshape(-1)]
    max_in_row = max(values)
    sum_of_exps = 0
    exps: list[int | None] = []
    for v in values:
        diff = v - max_in_row
        if diff >= diff_min:
            rescaled = multiply_by_quantized_multiplier_greater_than_one(diff, input_multiplier, input_left_shift)
            e = exp_on_negative_values(rescaled)
            exps.append(e)
            sum_of_exps = wrap_int32(sum_of_exps + rdbpot(e, SOFTMAX_ACCUM_INTEGER_BITS))
        else:
            exps.append(None)
    shifted_scale, num_bits_over_unit = get_reciprocal(sum_of_exps, SOFTMAX_ACCUM_INTEGER_BITS)
    exponent = num_bits_over_unit + 31 - 8
    out = []
    for e in exps:
        if e is None:
            out.append(-128)
            continue
        unsat = rdbpot(srdhm(shifted_scale, e), exponent)
        out.append(max(-128, min(127, unsat - 128)))
    return np.asarray(out, dtype=np.int8)
