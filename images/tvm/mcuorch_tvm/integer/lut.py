"""TFLite-Micro's int8 unary operators as 256-entry tables, computed at build time.

An int8 input has 256 possible values, so every per-element operator whose output depends
on one input element only (RELU, RELU6, LEAKY_RELU, LOGISTIC, TANH, HARD_SWISH, QUANTIZE
int8 -> int8) becomes ``y[i] = table[x[i] + 128]``. The tables are computed here with the
reference kernels' own integer arithmetic (gemmlowp fixed point, double-rounding
requantization, int16 helpers of HARD_SWISH), and the Prepare-time parameters are derived
with the same float32/double operation order, so the generated kernel is bit-exact by
construction and needs no arithmetic at all.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from ..errors import UnsupportedOperator
from . import fixedpoint as fp
from .model import Quantization

INT8_MIN, INT8_MAX = -128, 127


def _f32(x) -> np.float32:
    return np.float32(x)


def _clamp(x: int, lo: int = INT8_MIN, hi: int = INT8_MAX) -> int:
    return max(lo, min(hi, x))


def table(fn: Callable[[int], int]) -> np.ndarray:
    """``fn`` over every int8 value, ``table[v + 128] = fn(v)``."""
    return np.asarray([fn(v) for v in range(INT8_MIN, INT8_MAX + 1)], dtype=np.int8)


def _scale(q: Quantization) -> np.float32:
    return _f32(q.scale[0])


def _zp(q: Quantization) -> int:
    return int(q.zero_point[0])


# --------------------------------------------------------------------------- requantizing ops


def requantize_table(inp: Quantization, out: Quantization) -> np.ndarray:
    """QUANTIZE int8 -> int8 (``Requantize``): multiplier ``double(in) / double(out)``."""
    m, s = fp.quantize_multiplier(float(_scale(inp)) / float(_scale(out)))
    zi, zo = _zp(inp), _zp(out)
    return table(lambda v: _clamp(fp.multiply_by_quantized_multiplier(v - zi, m, s) + zo))


def relu_table(inp: Quantization, out: Quantization) -> np.ndarray:
    """RELU (``ReluQuantized``): rescale by the float32 ratio of scales, clamp at zero."""
    m, s = fp.quantize_multiplier(float(_scale(inp) / _scale(out)))
    zi, zo = _zp(inp), _zp(out)
    lo = max(INT8_MIN, zo + fp.round_half_away_f32(_f32(0.0) / _scale(out)))
    return table(lambda v: _clamp(zo + fp.multiply_by_quantized_multiplier(v - zi, m, s), lo))


def relu6_table(inp: Quantization) -> np.ndarray:
    """RELU6 (``Relu6Quantized``): a clamp of the raw values between the input's 0 and 6."""
    zi = _zp(inp)
    six = _clamp(fp.round_half_away_f32(_f32(6.0) / _scale(inp)) + zi)
    return table(lambda v: six if v > six else (zi if v < zi else v))


def leaky_relu_table(inp: Quantization, out: Quantization, alpha: float) -> np.ndarray:
    """LEAKY_RELU (``QuantizeLeakyRelu``): separate float32-derived multipliers per sign."""
    identity = fp.quantize_multiplier(float(_scale(inp) / _scale(out)))
    slope = fp.quantize_multiplier(float(_scale(inp) * _f32(alpha) / _scale(out)))
    zi, zo = _zp(inp), _zp(out)

    def value(v: int) -> int:
        x = v - zi
        m, s = identity if x >= 0 else slope
        return _clamp(zo + fp.multiply_by_quantized_multiplier(x, m, s))

    return table(value)


# --------------------------------------------------------------------------- gemmlowp sigmoids

_Q4_INTEGER_BITS = 4


def _input_rescale(op: str, inp: Quantization) -> tuple[int, int, int]:
    """LOGISTIC/TANH int8 Prepare: (multiplier, left shift, input radius) for a Q4.27 input."""
    real = float(_scale(inp)) * float(1 << (31 - _Q4_INTEGER_BITS))
    q, left_shift = math.frexp(real)
    multiplier = fp.round_half_away(q * (1 << 31))
    if multiplier >= 1 << 31:
        raise UnsupportedOperator(op, "input scale gives a multiplier of 2^31 (int32 overflow in TFLite-Micro)")
    return multiplier, left_shift, fp.calculate_input_radius(_Q4_INTEGER_BITS, left_shift, 31)


def _one_minus_x_over_one_plus_x(a: int) -> int:
    """gemmlowp ``one_minus_x_over_one_plus_x_for_x_in_0_1`` (Q0.31 in and out)."""
    half_denominator = fp.rounding_half_sum(a, fp.INT32_MAX)
    x = fp.wrap_int32(1515870810 + fp.srdhm(half_denominator, -1010580540))
    one_q2 = 1 << 29
    for _ in range(3):
        one_minus = fp.wrap_int32(one_q2 - fp.srdhm(half_denominator, x))
        x = fp.wrap_int32(x + fp._srmpot(fp.srdhm(x, one_minus), 2))
    return fp._srmpot(fp.wrap_int32(x - one_q2), 2)


def logistic_q4(a: int) -> int:
    """gemmlowp ``logistic`` of a Q4.27 raw value, Q0.31 raw result."""
    if a == 0:
        return 1 << 30
    magnitude = a if a > 0 else -a
    positive = fp.one_over_one_plus_x_for_x_in_0_1(fp.exp_on_negative_values(-magnitude, _Q4_INTEGER_BITS))
    return positive if a > 0 else fp.wrap_int32(fp.INT32_MAX - positive)


def tanh_q4(a: int) -> int:
    """gemmlowp ``tanh`` of a Q4.27 raw value (``ExactMulByPot<1>`` reads it as Q5.26), Q0.31."""
    if a == 0:
        return 0
    n = a if a < 0 else -a
    t = _one_minus_x_over_one_plus_x(fp.exp_on_negative_values(n, _Q4_INTEGER_BITS + 1))
    return -t if a < 0 else t


def _gemmlowp_table(op: str, inp: Quantization, q4_function: Callable[[int], int], out_fraction_bits: int,
                    out_zero_point: int) -> np.ndarray:
    """LOGISTIC/TANH int8: inputs beyond the radius saturate; the others are rescaled to Q4.27,
    mapped by ``q4_function`` to Q0.31 and rounded to ``out_fraction_bits`` plus the zero point."""
    multiplier, shift, radius = _input_rescale(op, inp)
    zi = _zp(inp)

    def value(v: int) -> int:
        x = v - zi
        if x <= -radius:
            return INT8_MIN
        if x >= radius:
            return INT8_MAX
        q0 = q4_function(fp.multiply_by_quantized_multiplier(x, multiplier, shift))
        return _clamp(fp.rdbpot(q0, 31 - out_fraction_bits) + out_zero_point)

    return table(value)


def logistic_table(inp: Quantization, out: Quantization) -> np.ndarray:
    """LOGISTIC int8 (``reference_integer_ops::Logistic``); the output zero point must be -128."""
    if _zp(out) != -128:
        raise UnsupportedOperator("LOGISTIC", "int8 output zero point must be -128")
    return _gemmlowp_table("LOGISTIC", inp, logistic_q4, 8, -128)


def tanh_table(inp: Quantization) -> np.ndarray:
    """TANH int8 (``reference_integer_ops::Tanh``): output scale 1/128, zero point 0 implied."""
    return _gemmlowp_table("TANH", inp, tanh_q4, 7, 0)


# --------------------------------------------------------------------------- hard swish (int16 helpers)


def _wrap16(x: int) -> int:
    return ((x + 2**15) % 2**16) - 2**15


def _trunc_div(n: int, d: int) -> int:
    q = abs(n) // d
    return q if n >= 0 else -q


def _srdhm16(a: int, b: int) -> int:
    """gemmlowp ``SaturatingRoundingDoublingHighMul`` on int16."""
    if a == b == -(2**15):
        return 2**15 - 1
    ab = a * b
    nudge = (1 << 14) if ab >= 0 else 1 - (1 << 14)
    return _wrap16(_trunc_div(ab + nudge, 1 << 15))


def _sdhm16(a: int, b: int) -> int:
    """TFLite ``SaturatingDoublingHighMul`` on int16 (rounds toward zero)."""
    if a == b == -(2**15):
        return 2**15 - 1
    return _wrap16(_trunc_div(a * b, 1 << 15))


def _saturating_left_shift16(x: int, amount: int) -> int:
    return max(-(2**15), min(2**15 - 1, x * (1 << amount)))


def _int16_multiplier(real: float) -> tuple[int, int]:
    """``QuantizeMultiplier`` then ``DownScaleInt32ToInt16Multiplier``."""
    m, exponent = fp.quantize_multiplier(real)
    if m >= fp.INT32_MAX - (1 << 15):
        return 2**15 - 1, exponent
    return (m + (1 << 15)) >> 16, exponent


def hard_swish_table(inp: Quantization, out: Quantization) -> np.ndarray:
    """HARD_SWISH int8 (``reference_ops::HardSwish`` with ``HardSwishParams``)."""
    hires_input_scale = _f32(1.0 / 128.0) * _scale(inp)
    out_mult, out_exp = _int16_multiplier(float(_f32(hires_input_scale / _scale(out))))
    if out_exp > 0:
        raise UnsupportedOperator("HARD_SWISH", "output scale below input scale / 128")
    relu_mult, relu_exp = _int16_multiplier(float(_f32(hires_input_scale / _f32(3.0 / 32768.0))))
    zi, zo = _zp(inp), _zp(out)

    def value(v: int) -> int:
        hires = _wrap16(_wrap16(v - zi) * 128)
        preshift_output = _srdhm16(hires, out_mult)
        reluish = hires
        if relu_exp > 0:
            reluish = _saturating_left_shift16(reluish, relu_exp - 1)
        reluish = _srdhm16(reluish, relu_mult)
        if relu_exp > 0:
            reluish = _saturating_left_shift16(reluish, 1)
        if relu_exp < 0:
            reluish = fp.rdbpot(reluish, -relu_exp)
        reluish = _wrap16((reluish + (1 << 15)) >> 1)
        result = fp.rdbpot(_sdhm16(reluish, preshift_output), -out_exp)
        return _clamp(_wrap16(result + zo))

    return table(value)
