"""TRANSPOSE_CONV (int8, per-channel weights) as TFLite-Micro's ``reference_integer_ops``.

The reference scatters every input pixel into an int32 scratch output and adds the bias
afterwards; integer addition being exact, the same sums are formed here output-stationary
(no scratch): output row ``oy`` receives filter row ``fy`` from input row
``iy = (oy + pad - fy) / stride`` when that division is exact and in range (likewise for
columns). Taps multiply ``(x - zp_in) * w`` (the input offset cannot be folded into the bias:
border pixels see fewer taps), then the per-channel requantization.
"""

from __future__ import annotations

import numpy as np

from .. import tir as K
from ..tir import RequantStage
from .common import Kernel, requant_constants


def _pad(stride: int, in_size: int, filter_size: int, padding: str) -> int:
    """``ComputePaddingHeightWidth`` as TRANSPOSE_CONV's Prepare calls it (its ``in_size`` is
    the transposed convolution's output size)."""
    if padding == "SAME":
        out = (in_size + stride - 1) // stride
    else:
        out = (in_size + stride - filter_size) // stride
    total = (out - 1) * stride + filter_size - in_size
    return max(total, 0) // 2


def _on_input(t, in_size: int, stride: int):
    """Whether the strided position ``t`` (output + pad - filter tap, along one axis) lands on an
    input element: ``0 <= t < in_size * stride`` and ``t % stride == 0``."""
    return K.T.And(K.T.And(t >= K.c32(0), t < K.c32(in_size * stride)), K.T.truncmod(t, K.c32(stride)) == K.c32(0))


def transpose_conv_kernel(name: str, in_shape, out_shape, weights: np.ndarray, bias: np.ndarray | None,
                          stage: RequantStage, stride: tuple[int, int], padding: str,
                          input_zero_point: int) -> Kernel:
    batches, in_h, in_w, ic = in_shape
    _, out_h, out_w, oc = out_shape
    _, k_h, k_w, _ = weights.shape
    sh, sw = stride
    pt, pl = _pad(sh, out_h, k_h, padding), _pad(sw, out_w, k_w, padding)
    bias = np.zeros(oc, dtype=np.int32) if bias is None else bias.astype(np.int32)
    consts = [np.ascontiguousarray(weights.reshape(-1)), bias] + requant_constants(stage)
    params = [("x", (int(np.prod(in_shape)),), K.I8), ("w", (weights.size,), K.I8), ("bias", (oc,), K.I32)]
    if stage.per_channel:
        params += [("mult", (oc,), K.I32), ("shift", (oc,), K.I8)]
    params.append(("y", (int(np.prod(out_shape)),), K.I8))
    with K.prim_func(name, params) as (ib, bufs):
        x, w, b, y = bufs[0], bufs[1], bufs[2], bufs[-1]
        mult, shift = (bufs[3], bufs[4]) if stage.per_channel else (None, None)
        acc = K.local(1)
        with K.serial(0, batches) as n:
            with K.serial(0, out_h) as oy:
                with K.serial(0, out_w) as ox:
                    out_base = K.bind(((n * K.c32(out_h) + oy) * K.c32(out_w) + ox) * K.c32(oc))
                    with K.serial(0, oc) as c:
                        K.store(acc, b[c], [0])
                        with K.serial(0, k_h) as fy:
                            ty = K.bind(oy + K.c32(pt) - fy)
                            with K.If(_on_input(ty, in_h, sh)):
                                with K.Then():
                                    with K.serial(0, k_w) as fx:
                                        tx = K.bind(ox + K.c32(pl) - fx)
                                        with K.If(_on_input(tx, in_w, sw)):
                                            with K.Then():
                                                x_base = K.bind(((n * K.c32(in_h) + K.T.truncdiv(ty, K.c32(sh)))
                                                                 * K.c32(in_w) + K.T.truncdiv(tx, K.c32(sw)))
                                                                * K.c32(ic))
                                                w_base = K.bind(((c * K.c32(k_h) + fy) * K.c32(k_w) + fx)
                                                                * K.c32(ic))
                                                with K.serial(0, ic) as i:
                                                    tap = (K.i32(x[x_base + i]) - K.c32(input_zero_point)) \
                                                        * K.i32(w[w_base + i])
                                                    K.store(acc, acc[0] + tap, [0])
                        value = K.requantize(acc[0], stage,
                                             None if mult is None else mult[c], None if shift is None else shift[c])
                        K.store(y, K.T.Cast(K.I8, value), [out_base + c])
    macs = int(np.prod(in_shape)) * oc * k_h * k_w
    return Kernel(K.finish(ib), consts, macs=macs, note="transpose_conv")
