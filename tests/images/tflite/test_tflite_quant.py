"""Quantization arithmetic against hand-computed values of the converter's rules."""

from __future__ import annotations

import pytest

pytest.importorskip("tflite_micro", reason="needs the tflite image's Python packages (images/tflite/requirements.txt)")

import numpy as np
from mcuorch_tflite.quant import (
    activation_params,
    bias_params,
    dequantize,
    quantize,
    quantize_bias,
    quantize_weights,
    round_half_away,
    symmetric_weight_params,
)


@pytest.mark.parametrize("rmin, rmax, scale, zero_point", [
    (-1.0, 3.0, 4.0 / 255, -64),        # -128 + 63.75 = -64.25 -> -64
    (0.0, 6.0, 6.0 / 255, -128),        # ReLU6 range
    (0.5, 2.0, 2.0 / 255, -128),        # widened to include 0
    (-2.0, -1.0, 2.0 / 255, 127),       # all negative: zero at the top
    (-1.0, 1.0, 2.0 / 255, -1),         # -128 + 127.5 = -0.5 -> -1 (like MobileNet inputs)
])
def test_activation_params(rmin: float, rmax: float, scale: float, zero_point: int) -> None:
    q = activation_params(rmin, rmax)
    assert q.scale[0] == pytest.approx(scale, rel=1e-6)
    assert q.zero_point == (zero_point,)
    assert dequantize(quantize(np.array([0.0]), q), q)[0] == 0.0  # zero is exact


def test_round_half_away_from_zero() -> None:
    assert round_half_away(np.array([0.5, 1.5, 2.5, -0.5, -1.5, 0.49])).tolist() == [1, 2, 3, -1, -2, 0]


def test_per_channel_weights_are_symmetric_narrow_range() -> None:
    w = np.stack([np.full((3, 3, 2), 0.5), np.zeros((3, 3, 2)), np.linspace(-2.0, 1.0, 18).reshape(3, 3, 2)])
    q = symmetric_weight_params(w, axis=0)
    assert q.scale == pytest.approx((0.5 / 127, 1.0, 2.0 / 127))
    assert q.zero_point == (0, 0, 0) and q.quantized_dimension == 0
    qw = quantize_weights(w, q)
    assert qw.dtype == np.int8 and qw.min() == -127 and qw.max() == 127
    assert np.all(qw[1] == 0)


def test_depthwise_axis_and_bias_scale() -> None:
    w = np.arange(1, 13, dtype=float).reshape(1, 2, 2, 3)
    q = symmetric_weight_params(w, axis=3)
    assert q.quantized_dimension == 3 and len(q.scale) == 3
    assert q.scale[2] == pytest.approx(12.0 / 127)
    in_q = activation_params(-1.0, 1.0)
    b = bias_params(in_q, q)
    assert b.scale == pytest.approx(tuple(np.float32(in_q.scale[0]) * np.float32(s) for s in q.scale))
    qb = quantize_bias(np.array([1.0, -1.0, 0.0]), b)
    assert qb.dtype == np.int32 and qb[0] == round(1.0 / b.scale[0]) and qb[2] == 0
