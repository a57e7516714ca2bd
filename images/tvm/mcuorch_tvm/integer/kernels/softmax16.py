"""SOFTMAX int16 -> int16 as TFLite-Micro's ``reference_ops::SoftmaxInt16``.

Per row: the difference to the row maximum is rescaled (int32 ``MultiplyByQuantizedMultiplier``)
so that [-65535, 0] spans [-10, 0], exponentiated through the 513-entry exp table with linear
interpolation (``LUTLookup``), summed in int32; the sum is normalised by its leading zeros,
inverted through the 1/(1+x) table, and each exp times the reciprocal is shifted back. The exps
are kept in the output buffer between the two passes, as the reference does. The tables
(:mod:`..lut16`) are kernel constants (2 x 1026 bytes).
"""

from __future__ import annotations

import numpy as np

from .. import tir as K
from ..lut16 import softmax_tables
from .common import Kernel
from .softmax import _clz_positive, store_row_max

I16 = "int16"


def _lookup(value, table):
    """``LUTLookup(int16 value, lut)``: base entry ``256 + (value >> 7)`` plus the slope to the
    next entry times the low 7 bits, rounded."""
    v = K.bind(value)
    index = K.bind(K.ashr(v, 7) + K.c32(256))
    base = K.bind(K.i32(table[index]))
    slope = K.i32(table[index + K.c32(1)]) - base
    delta = K.ashr(slope * K.T.bitwise_and(v, K.c32(0x7F)) + K.c32(64), 7)
    return K.i32(K.T.Cast(I16, base + delta))


def softmax16_kernel(name: str, shape, input_multiplier: int, input_shift: int) -> Kernel:
    """``softmax16(x, exp_lut, reciprocal_lut, y)`` over the last axis of ``shape``."""
    depth = int(shape[-1])
    rows = int(np.prod(shape)) // depth
    exp_lut, reciprocal_lut = softmax_tables()
    left, right = max(input_shift, 0), max(-input_shift, 0)
    params = [("x", shape, I16), ("exp_lut", exp_lut.shape, I16), ("reciprocal_lut", reciprocal_lut.shape, I16),
              ("y", shape, I16)]
    with K.prim_func(name, params) as (ib, bufs):
        x = K.T.decl_buffer((rows * depth,), I16, data=bufs[0].data)
        exp_table, reciprocal_table = bufs[1], bufs[2]
        y = K.T.decl_buffer((rows * depth,), I16, data=bufs[3].data)
        state = K.local(3)  # 0: row max, 1: sum of exps, 2: reciprocal
        with K.serial(0, rows) as r:
            base = K.bind(r * K.c32(depth))
            store_row_max(state, x, base, depth, -32768)
            K.store(state, K.c32(0), [1])
            with K.serial(0, depth) as c:
                diff = K.wrap_shift_left(K.named(K.i32(x[base + c]) - state[0]), left)
                scaled = K.rdbpot(K.srdhm_positive(diff, K.c32(input_multiplier)), right)
                e = K.bind(_lookup(K.clamp(scaled + K.c32(32767), -32768, 32767), exp_table))
                K.store(y, K.T.Cast(I16, e), [base + c])
                K.store(state, state[1] + e, [1])
            headroom = _clz_positive(state[1])
            shifted = K.ashr((K.i64(state[1]) << K.i64(headroom - K.c32(1))) + K.c64(1 << 13), 14)
            centred = K.T.Cast(K.I32, shifted) - K.c32((1 << 15) + (1 << 16))
            K.store(state, _lookup(K.clamp(centred, -32768, 32767), reciprocal_table), [2])
            right_shift = K.bind(K.c32(31) - headroom)
            round_const = K.bind(K.c64(1) << K.i64(right_shift - K.c32(1)))
            with K.serial(0, depth) as c:
                product = K.i64(y[base + c]) * K.i64(state[2]) + round_const
                result = K.T.Cast(K.I32, K.ashr(product, right_shift))
                K.store(y, K.T.Cast(I16, K.clamp(result, 0, 32767)), [base + c])
    return Kernel(K.finish(ib), [exp_lut, reciprocal_lut], macs=0, note="int16 tables")
