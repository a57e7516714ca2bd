"""Quantization arithmetic of the TFLite converter's full-int8 mode.

Everything here follows the converter's rules so a model built with
`mcuorch_tflite.builder` carries the same kind of parameters a converted Keras model would:

* activations: asymmetric int8 over the calibrated range widened to include 0,
  ``scale = (max - min) / 255`` and a zero point nudged into [-128, 127];
* conv / depthwise weights: symmetric per output channel, narrow range [-127, 127];
* fully-connected weights: symmetric per tensor, narrow range;
* biases: int32 with ``scale = input_scale * weight_scale`` and zero point 0;
* rounding: half away from zero (C++ ``std::round``), not numpy's half-to-even.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

INT8_MIN = -128
INT8_MAX = 127
INT32_MIN = -(2**31)
INT32_MAX = 2**31 - 1


@dataclass(frozen=True)
class QuantParams:
    """Scale(s) and zero point(s) of one tensor; several values mean per-axis quantization."""

    scale: tuple[float, ...]
    zero_point: tuple[int, ...]
    quantized_dimension: int = 0

    def __post_init__(self) -> None:
        if len(self.scale) != len(self.zero_point) or not self.scale:
            raise ValueError("scale and zero_point need the same, non-zero length")

    @property
    def per_tensor(self) -> bool:
        return len(self.scale) == 1

    def scale_array(self) -> np.ndarray:
        return np.asarray(self.scale, dtype=np.float32)

    def zero_point_array(self) -> np.ndarray:
        return np.asarray(self.zero_point, dtype=np.int64)


def round_half_away(x: np.ndarray | float) -> np.ndarray:
    """Round like C++ ``std::round`` (ties away from zero), as TFLite's quantizer does."""
    x = np.asarray(x, dtype=np.float64)
    return np.sign(x) * np.floor(np.abs(x) + 0.5)


def activation_params(rmin: float, rmax: float) -> QuantParams:
    """Asymmetric int8 parameters for a calibrated range, nudged like the converter.

    The range is widened to contain 0 so that zero (padding, ReLU) is exact; a degenerate
    range (all zeros) gets scale 1.0 as in TFLite's quantization utilities.
    """
    rmin = min(float(rmin), 0.0)
    rmax = max(float(rmax), 0.0)
    if rmax == rmin:
        return QuantParams((1.0,), (0,))
    scale = float(np.float32((rmax - rmin) / (INT8_MAX - INT8_MIN)))
    zero_point_from_min = INT8_MIN - rmin / scale
    zero_point = int(np.clip(round_half_away(zero_point_from_min), INT8_MIN, INT8_MAX))
    return QuantParams((scale,), (zero_point,))


def symmetric_weight_params(weights: np.ndarray, axis: int | None) -> QuantParams:
    """Symmetric narrow-range int8 parameters, per channel along `axis` or per tensor.

    A channel whose weights are all zero gets scale 1.0 (the converter's choice) so that
    its int32 bias scale stays well defined.
    """
    w = np.asarray(weights, dtype=np.float64)
    if axis is None:
        max_abs = np.array([np.max(np.abs(w))]) if w.size else np.array([0.0])
        dim = 0
    else:
        moved = np.moveaxis(w, axis, 0).reshape(w.shape[axis], -1)
        max_abs = np.max(np.abs(moved), axis=1)
        dim = axis
    scales = np.where(max_abs > 0, max_abs / INT8_MAX, 1.0).astype(np.float32)
    return QuantParams(tuple(float(s) for s in scales), (0,) * len(scales), dim)


def quantize_weights(weights: np.ndarray, params: QuantParams) -> np.ndarray:
    """Quantize weights with (per-channel) symmetric params to int8 in [-127, 127]."""
    w = np.asarray(weights, dtype=np.float64)
    scale = params.scale_array().astype(np.float64)
    if not params.per_tensor:
        shape = [1] * w.ndim
        shape[params.quantized_dimension] = -1
        scale = scale.reshape(shape)
    q = round_half_away(w / scale)
    return np.clip(q, -INT8_MAX, INT8_MAX).astype(np.int8)


def bias_params(input_params: QuantParams, weight_params: QuantParams) -> QuantParams:
    """int32 bias parameters: scale = input scale * weight scale (float32), zero point 0."""
    in_scale = np.float32(input_params.scale[0])
    scales = tuple(float(np.float32(in_scale * np.float32(s))) for s in weight_params.scale)
    return QuantParams(scales, (0,) * len(scales), 0)


def quantize_bias(bias: np.ndarray, params: QuantParams) -> np.ndarray:
    """Quantize a float bias to int32 with the given (per-channel) scales."""
    b = np.asarray(bias, dtype=np.float64)
    scale = params.scale_array().astype(np.float64)
    q = round_half_away(b / scale)
    return np.clip(q, INT32_MIN, INT32_MAX).astype(np.int32)


def quantize(values: np.ndarray, params: QuantParams, dtype: np.dtype | None = None) -> np.ndarray:
    """Quantize real values of an activation tensor (per-tensor params) to `dtype` (int8)."""
    dtype = np.dtype(np.int8) if dtype is None else np.dtype(dtype)
    info = np.iinfo(dtype)
    q = round_half_away(np.asarray(values, dtype=np.float64) / params.scale[0]) + params.zero_point[0]
    return np.clip(q, info.min, info.max).astype(dtype)


def dequantize(values: np.ndarray, params: QuantParams) -> np.ndarray:
    """Real values of a per-tensor quantized array."""
    return (np.asarray(values, dtype=np.float64) - params.zero_point[0]) * params.scale[0]
