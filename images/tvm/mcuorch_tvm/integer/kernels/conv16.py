"""CONV_2D and DEPTHWISE_CONV_2D 16x8 (int16 activations, int8 per-channel weights, int64 bias)
as TFLite-Micro's ``reference_integer_ops::ConvPerChannel`` / ``DepthwiseConvPerChannel`` for
int16.

The reference accumulates ``w * x`` over the taps inside the image in int64 (the 16x8 scheme has
zero points 0, so padded taps add nothing and no input offset exists), adds the int64 bias and
requantizes per channel with the int64 ``MultiplyByQuantizedMultiplier`` (:mod:`.dense16`).
A tap is at most ``128 * 32768`` in magnitude, so the sum stays int32 while ``taps * 2^22 < 2^31``
and is widened once, before the bias. Loops are the reference's (output-stationary, a test per
kernel row and column); int16 models are rare on MCUs and no schedule work went into these.
"""

from __future__ import annotations

import numpy as np

from .. import tir as K
from .common import Kernel
from .conv import Geometry
from .dense16 import I16, reduced_multiplier, requantize_int64


def conv16_kernel(name: str, in_shape, out_shape, weights: np.ndarray, bias: np.ndarray | None,
                  multipliers: tuple[int, ...], shifts: tuple[int, ...], g: Geometry, act_min: int, act_max: int,
                  depth_multiplier: int | None = None) -> Kernel:
    """``depth_multiplier`` None: CONV_2D with OHWI weights; else DEPTHWISE_CONV_2D with 1HWC
    weights, output channel ``c`` reading input channel ``c // depth_multiplier``."""
    in_c, out_c = in_shape[3], out_shape[3]
    if depth_multiplier is None:
        w_oc_first = weights.reshape(out_c, -1)
        depth = in_c
    else:
        w_oc_first = np.ascontiguousarray(weights.reshape(-1, out_c).T)
        depth = 1
    taps = g.k_h * g.k_w * depth
    wide = taps * 128 * 32768 >= 2**31
    bias = np.zeros(out_c, dtype=np.int64) if bias is None else bias.astype(np.int64)
    m15 = np.asarray([reduced_multiplier(m) for m in multipliers], dtype=np.int32)
    total_shift = np.asarray([15 - s for s in shifts], dtype=np.int8)
    if total_shift.min() < 1 or total_shift.max() > 46:
        raise ValueError("output shift outside TFLite's range")
    params = [("x", (int(np.prod(in_shape)),), I16), ("w", (w_oc_first.size,), K.I8), ("bias", (out_c,), K.I64),
              ("mult", (out_c,), K.I32), ("shift", (out_c,), K.I8), ("y", (int(np.prod(out_shape)),), I16)]
    (sh, sw), (dh, dw), (pt, pl) = g.stride, g.dilation, g.pad
    with K.prim_func(name, params) as (ib, bufs):
        x, w, b, mult, shift, y = bufs
        acc = K.local(1, K.I64 if wide else K.I32)
        with K.serial(0, g.batches) as n:
            with K.serial(0, g.out_h) as oy:
                with K.serial(0, g.out_w) as ox:
                    with K.serial(0, out_c) as c:
                        first = K.c32(0) if depth_multiplier is None else K.T.truncdiv(c, K.c32(depth_multiplier))
                        K.store(acc, K.c64(0) if wide else K.c32(0), [0])
                        with K.serial(0, g.k_h) as ky:
                            iy = K.bind(oy * K.c32(sh) - K.c32(pt) + ky * K.c32(dh))
                            with K.If(K.T.And(iy >= K.c32(0), iy < K.c32(g.in_h))):
                                with K.Then():
                                    with K.serial(0, g.k_w) as kx:
                                        ix = K.bind(ox * K.c32(sw) - K.c32(pl) + kx * K.c32(dw))
                                        with K.If(K.T.And(ix >= K.c32(0), ix < K.c32(g.in_w))):
                                            with K.Then():
                                                x_base = K.bind(((n * K.c32(g.in_h) + iy) * K.c32(g.in_w) + ix)
                                                                * K.c32(in_c) + first)
                                                w_base = K.bind(c * K.c32(taps) + (ky * K.c32(g.k_w) + kx)
                                                                * K.c32(depth))
                                                with K.serial(0, depth) as i:
                                                    tap = K.i32(w[w_base + i]) * K.i32(x[x_base + i])
                                                    K.store(acc, acc[0] + (K.i64(tap) if wide else tap), [0])
                        total = K.named(K.i64(acc[0]) + b[c])
                        value = K.clamp(requantize_int64(total, K.i64(mult[c]), K.i64(shift[c])), act_min, act_max)
                        out_index = ((n * K.c32(g.out_h) + oy) * K.c32(g.out_w) + ox) * K.c32(out_c) + c
                        K.store(y, K.T.Cast(I16, value), [out_index])
    macs = int(np.prod(out_shape)) * taps
    return Kernel(K.finish(ib), [np.ascontiguousarray(w_oc_first.reshape(-1)), bias, m15, total_shift], macs=macs,
                  note="conv16" if depth_multiplier is None else "depthwise16")
