"""FULLY_CONNECTED 16x8 (int16 activations, int8 weights, int64 bias) as TFLite-Micro's
``reference_integer_ops::FullyConnected<int16_t, int8_t, int16_t, int64_t>``.

The accumulator is int64 in the reference; products ``w * (x - zp)`` fit in 24 bits, so the
sum stays in int32 whenever ``depth * 128 * 65535 < 2^31`` (a weight may be -128) and is widened
once, before the bias. Requantization is the int64 ``MultiplyByQuantizedMultiplier``: the multiplier reduced
to 15 bits, ``(acc * m15 + 2^(14 - shift)) >> (15 - shift)`` with a flooring shift.
"""

from __future__ import annotations

import numpy as np

from .. import tir as K
from .common import Kernel

I16 = "int16"


def reduced_multiplier(multiplier: int) -> int:
    """The 15-bit multiplier of the int64 ``MultiplyByQuantizedMultiplier``."""
    return (multiplier + (1 << 15)) >> 16 if multiplier < 0x7FFF0000 else 0x7FFF


def requantize_int64(total, m15, total_shift):
    """``(total * m15 + 2^(total_shift - 1)) >> total_shift`` in int64, as int32: the int64
    ``MultiplyByQuantizedMultiplier`` for a 15-bit multiplier ``m15`` and ``total_shift = 15 -
    shift`` (ints become immediates, expressions are per-channel loads)."""
    if isinstance(total_shift, int):
        round_const = K.c64(1 << (total_shift - 1))
    else:
        round_const = K.c64(1) << (total_shift - K.c64(1))
    m = K.c64(m15) if isinstance(m15, int) else m15
    return K.T.Cast(K.I32, K.ashr(total * m + round_const, total_shift))


def dense16_kernel(name: str, in_shape, out_shape, weights: np.ndarray, bias: np.ndarray | None,
                   multiplier: int, shift: int, input_zero_point: int, output_zero_point: int,
                   act_min: int, act_max: int) -> Kernel:
    units, depth = weights.shape
    rows = int(np.prod(in_shape)) // depth
    bias = np.zeros(units, dtype=np.int64) if bias is None else bias.astype(np.int64)
    m15, total_shift = reduced_multiplier(multiplier), 15 - shift
    if not 1 <= total_shift <= 46:
        raise ValueError(f"output shift {shift} outside TFLite's range")
    wide = depth * 128 * 65535 >= 2**31
    params = [("x", (rows * depth,), I16), ("w", (weights.size,), K.I8), ("bias", (units,), K.I64),
              ("y", (rows * units,), I16)]
    with K.prim_func(name, params) as (ib, bufs):
        x, w, b, y = bufs
        acc = K.local(1, K.I64 if wide else K.I32)
        with K.serial(0, rows) as r:
            with K.serial(0, units) as u:
                K.store(acc, K.c64(0) if wide else K.c32(0), [0])
                with K.serial(0, depth) as d:
                    tap = K.i32(w[u * K.c32(depth) + d]) * (K.i32(x[r * K.c32(depth) + d]) - K.c32(input_zero_point))
                    K.store(acc, acc[0] + (K.i64(tap) if wide else tap), [0])
                total = K.named(K.i64(acc[0]) + b[u])
                value = K.clamp(requantize_int64(total, m15, total_shift) + K.c32(output_zero_point),
                                act_min, act_max)
                K.store(y, K.T.Cast(I16, value), [r * K.c32(units) + u])
    return Kernel(K.finish(ib), [np.ascontiguousarray(weights.reshape(-1)), bias], macs=rows * units * depth,
                  note="dense16")
