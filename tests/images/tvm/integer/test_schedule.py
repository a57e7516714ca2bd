"""Schedule decisions and layouts (no C compiler needed)."""

from __future__ import annotations

import numpy as np
import pytest

from mcuorch_tvm.integer import fixedpoint as fp
from mcuorch_tvm.integer import quant
from mcuorch_tvm.integer.kernels.common import block_weights, split_blocks
from mcuorch_tvm.integer.kernels.conv import Geometry, choose_blocking, geometry, same_padding
from mcuorch_tvm.integer.model import Quantization


def test_blocking_avoids_leftover_pixels_and_fits_registers() -> None:
    # 5-wide rows (keyword spotting): a 5-pixel block leaves nothing to the guarded path
    assert choose_blocking(5, 64)[0] == 5
    for width, channels in [(5, 64), (32, 16), (16, 32), (8, 64), (3, 64), (1, 256), (12, 7)]:
        p, b = choose_blocking(width, channels)
        assert p * b <= 16 and p * b + p + b <= 24
        assert width % p == 0 or width < p or p <= 4
    assert choose_blocking(32, 16) == (4, 4)


def test_block_weights_layout_is_sequential_per_block() -> None:
    w = np.arange(7 * 5, dtype=np.int32).reshape(7, 5)  # 7 channels, 5 taps
    packed = block_weights(w, 3)
    assert split_blocks(7, 3) == [(0, 3), (3, 3), (6, 1)]
    # block 0: tap-major, channel-minor
    assert packed[:6].tolist() == [w[0, 0], w[1, 0], w[2, 0], w[0, 1], w[1, 1], w[2, 1]]
    # tail block (channel 6) last, all its taps in order
    assert packed[-5:].tolist() == w[6].tolist()
    assert sorted(packed.tolist()) == sorted(w.reshape(-1).tolist())


@pytest.mark.parametrize("size,k,stride,dilation", [(49, 10, 2, 1), (32, 3, 2, 1), (10, 3, 1, 2), (7, 1, 1, 1)])
def test_same_padding_matches_tflite(size: int, k: int, stride: int, dilation: int) -> None:
    out, pad = same_padding(size, k, stride, dilation)
    eff = (k - 1) * dilation + 1
    assert out == (size + stride - 1) // stride
    assert pad == max(0, (out - 1) * stride + eff - size) // 2


def test_interior_region_needs_no_padding() -> None:
    g = geometry((1, 49, 10, 1), (1, 25, 5, 8), 10, 4, (2, 2), (1, 1), "SAME")
    (r0, r1), (c0, c1) = g.interior(0), g.interior(1)
    for oh in range(g.out_h):
        inside = all(0 <= oh * 2 - g.pad[0] + kh < g.in_h for kh in range(g.k_h))
        assert inside == (r0 <= oh < r1)
    for ow in range(g.out_w):
        inside = all(0 <= ow * 2 - g.pad[1] + kw < g.in_w for kw in range(g.k_w))
        assert inside == (c0 <= ow < c1)
    assert isinstance(g, Geometry)


def test_folded_bias_and_accumulator_bound() -> None:
    rng = np.random.default_rng(0)
    w = rng.integers(-127, 128, size=(4, 3, 3, 2)).astype(np.int8)
    b = rng.integers(-1000, 1000, size=4).astype(np.int32)
    zp = -7
    folded = quant.fold_bias(b, w, zp)
    x = rng.integers(-128, 128, size=(3, 3, 2))
    for c in range(4):
        tflite = int(b[c]) + int((w[c].astype(np.int64) * (x - zp)).sum())
        assert tflite == int(folded[c]) + int((w[c].astype(np.int64) * x).sum())
        assert abs(tflite) <= quant.accumulator_bound(b, w, zp)


def test_activation_range_uses_float32_rounding() -> None:
    out = Quantization((0.0235294122248888,), (-128,))
    lo, hi = quant.activation_range("CONV_2D", "RELU6", out)
    assert lo == -128
    assert hi == -128 + fp.round_half_away_f32(np.float32(6.0) / np.float32(out.scale[0]))


def test_mean_multiplier_folds_the_count() -> None:
    p = quant.MeanParams(Quantization((0.02,), (3,)), Quantization((0.01,), (-1,)), 49)
    m0, s0 = fp.quantize_multiplier(float(np.float32(0.02)) / float(np.float32(0.01)))
    shift = min(49 .bit_length() - 1, 32, 31 + s0)
    assert (p.multiplier, p.shift) == ((m0 << shift) // 49, s0 - shift)
