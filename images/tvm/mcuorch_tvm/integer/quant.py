"""Build-time quantization parameters of each operator, derived as TFLite-Micro's ``Prepare``
functions derive them (same formulas, same float32/double operation order).

Everything returned is plain integers; the kernels never see a float.
"""

from __future__ import annotations

import numpy as np

from ..errors import UnsupportedOperator
from . import fixedpoint as fp
from .model import Quantization
from .tir import RequantStage

INT8_MIN, INT8_MAX = -128, 127


def quantize_activation_bound(value: float, scale: float, zero_point: int) -> int:
    """TFLite ``Quantize`` helper of CalculateActivationRangeQuantized: float32 divide, roundf."""
    q = np.float32(value) / np.float32(scale)
    return zero_point + fp.round_half_away_f32(q)


def activation_range(op: str, activation: str, out: Quantization) -> tuple[int, int]:
    """``CalculateActivationRangeQuantized`` for an int8 output."""
    scale, zp = out.scale[0], out.zero_point[0]
    lo, hi = INT8_MIN, INT8_MAX
    if activation == "NONE":
        return lo, hi
    if activation == "RELU":
        return max(lo, quantize_activation_bound(0.0, scale, zp)), hi
    if activation == "RELU6":
        return (max(lo, quantize_activation_bound(0.0, scale, zp)),
                min(hi, quantize_activation_bound(6.0, scale, zp)))
    if activation == "RELU_N1_TO_1":
        return (max(lo, quantize_activation_bound(-1.0, scale, zp)),
                min(hi, quantize_activation_bound(1.0, scale, zp)))
    raise UnsupportedOperator(op, f"fused activation {activation}")


def require_quantized(op: str, what: str, q: Quantization | None) -> Quantization:
    if q is None:
        raise UnsupportedOperator(op, f"{what} is not quantized (this path needs full-int8 models)")
    return q


def accumulator_bound(bias: np.ndarray | None, weights_oc_first: np.ndarray, input_zero_point: int) -> int:
    """max |bias + sum(w * (x - zp_in))| over all int8 inputs x (TFLite's accumulator)."""
    channels = weights_oc_first.shape[0]
    wabs = np.abs(weights_oc_first.reshape(channels, -1).astype(np.int64)).sum(axis=1)
    reach = max(abs(-128 - input_zero_point), abs(127 - input_zero_point))
    b = np.zeros(channels, dtype=np.int64) if bias is None else np.abs(bias.astype(np.int64))
    return int((b + reach * wabs).max(initial=0))


def conv_requant(op: str, inp: Quantization, weights: Quantization, out: Quantization,
                 channels: int, activation: str, acc_bound: int | None = None) -> RequantStage:
    """Per-channel (or per-tensor) output stage of CONV_2D / DEPTHWISE_CONV_2D / FULLY_CONNECTED.

    ``PopulateConvolutionQuantizationParams``: effective scale per channel is
    ``double(input_scale) * double(filter_scale) / double(output_scale)``.
    """
    if any(z != 0 for z in weights.zero_point):
        raise UnsupportedOperator(op, "weights with a non-zero zero point")
    if len(weights.scale) not in (1, channels):
        raise UnsupportedOperator(op, f"{len(weights.scale)} weight scales for {channels} channels")
    mults, shifts = [], []
    for c in range(channels):
        w_scale = weights.scale[c if len(weights.scale) > 1 else 0]
        real = float(np.float32(inp.scale[0])) * float(np.float32(w_scale)) / float(np.float32(out.scale[0]))
        m, s = fp.quantize_multiplier(real)
        mults.append(m)
        shifts.append(s)
    lo, hi = activation_range(op, activation, out)
    return RequantStage(tuple(mults), tuple(shifts), out.zero_point[0], lo, hi, acc_bound)


def fold_bias(bias: np.ndarray | None, weights_oc_first: np.ndarray, input_zero_point: int) -> np.ndarray:
    """``bias - zp_in * sum(w)`` per output channel: the input offset folded at build time.

    TFLite computes ``sum(w * (x - zp_in)) + bias``; with int32 arithmetic (no overflow for
    int8 data) that equals ``sum(w * x) + (bias - zp_in * sum(w))``.
    """
    channels = weights_oc_first.shape[0]
    wsum = weights_oc_first.reshape(channels, -1).astype(np.int64).sum(axis=1)
    b = np.zeros(channels, dtype=np.int64) if bias is None else bias.astype(np.int64)
    folded = b - int(input_zero_point) * wsum
    if folded.min(initial=0) < fp.INT32_MIN or folded.max(initial=0) > fp.INT32_MAX:
        raise UnsupportedOperator("CONV_2D", "folded bias exceeds int32")
    return folded.astype(np.int32)


class AddParams:
    """``CalculateOpDataAdd`` for int8: both inputs rescaled to a common 2^20-scaled domain."""

    LEFT_SHIFT = 20

    def __init__(self, a: Quantization, b: Quantization, out: Quantization, activation: str) -> None:
        sa, sb, so = (float(np.float32(q.scale[0])) for q in (a, b, out))
        twice_max_input_scale = 2 * max(sa, sb)
        self.input1_offset = -a.zero_point[0]
        self.input2_offset = -b.zero_point[0]
        self.output_offset = out.zero_point[0]
        self.input1_multiplier, self.input1_shift = fp.quantize_multiplier_smaller_than_one_exp(
            sa / twice_max_input_scale)
        self.input2_multiplier, self.input2_shift = fp.quantize_multiplier_smaller_than_one_exp(
            sb / twice_max_input_scale)
        self.output_multiplier, self.output_shift = fp.quantize_multiplier_smaller_than_one_exp(
            twice_max_input_scale / ((1 << self.LEFT_SHIFT) * so))
        self.act_min, self.act_max = activation_range("ADD", activation, out)


class SoftmaxParams:
    """``CalculateSoftmaxParams`` for int8 in / int8 out (scale 1/256, zero point -128)."""

    def __init__(self, inp: Quantization, out: Quantization, beta: float) -> None:
        if out.zero_point[0] != -128 or np.float32(out.scale[0]) != np.float32(1.0 / 256):
            raise UnsupportedOperator("SOFTMAX", "int8 output must have scale 1/256 and zero point -128")
        try:
            self.input_multiplier, self.input_left_shift = fp.preprocess_softmax_scaling(
                float(np.float32(beta)), float(np.float32(inp.scale[0])), fp.SOFTMAX_DIFF_INTEGER_BITS)
        except ValueError:
            raise UnsupportedOperator("SOFTMAX", f"beta * input scale {beta * inp.scale[0]:.3g} is below "
                                      "2^-26 (TFLite-Micro rejects it too)") from None
        self.diff_min = -fp.calculate_input_radius(fp.SOFTMAX_DIFF_INTEGER_BITS, self.input_left_shift)


class MeanParams:
    """TFLite-Micro's integer MEAN: ``QuantizeMultiplier(in_scale / out_scale)`` with the
    division by the element count folded into the multiplier (reduce.h, QuantizedMeanOrSum)."""

    def __init__(self, inp: Quantization, out: Quantization, num_elements: int) -> None:
        real = float(np.float32(inp.scale[0])) / float(np.float32(out.scale[0]))
        multiplier, shift = fp.quantize_multiplier(real)
        amount = min(num_elements.bit_length() - 1, 32, 31 + shift)
        self.multiplier = int(fp.wrap_int32((multiplier << amount) // num_elements)) if num_elements else 0
        self.shift = shift - amount
        self.input_zero_point = inp.zero_point[0]
        self.output_zero_point = out.zero_point[0]
        self.num_elements = num_elements
