"""SOFTMAX int8 -> int8 with TFLite-Micro's reference algorithm (gemmlowp fixed point).

Per row: the input difference to the row maximum is rescaled to Q5.26, exponentiated with
gemmlowp's ``exp_on_negative_values`` (Taylor polynomial on [-1/4, 0) + barrel shifter),
accumulated in Q12.19, inverted with ``one_over_one_plus_x_for_x_in_0_1`` (Newton-Raphson),
and each output is the product rounded by a power of two. The wheel's int8 path does not use
a lookup table (only its int16 softmax does).

Code size: the row is walked twice (sum, then outputs) inside one loop over a pass index so
the exp code exists once; the barrel shifter loops over its 7 multipliers (a constant table)
and the three Newton-Raphson steps are a loop.
"""

from __future__ import annotations

import numpy as np

from .. import fixedpoint as fp
from .. import tir as K
from ..quant import SoftmaxParams
from .common import Kernel

_MAX = 2**31 - 1
_MIN = -(2**31)


class _Slots:
    """Stack slots for intermediate fixed-point values of one helper.

    A value kept in a slot is a load to TVM's arithmetic analyzer, which otherwise substitutes
    every let-bound variable into its users and blows up exponentially on a dependency chain as
    long as exp + reciprocal. GCC keeps the constant-indexed slots in registers.
    """

    def __init__(self, count: int) -> None:
        self.buf = K.local(count)
        self.count = count
        self.used = 0

    def new(self, value) -> int:
        if self.used == self.count:
            raise RuntimeError("softmax: out of scratch slots")
        K.store(self.buf, value, [self.used])
        self.used += 1
        return self.used - 1

    def keep(self, value):
        return self.buf[self.new(value)]

    def mul(self, a, b):
        """Fixed-point product. One operand is always positive here (constants, exp results,
        half_denominator), so gemmlowp's INT32_MIN * INT32_MIN saturation never applies."""
        return self.keep(K.srdhm_positive(a, b))


def _sat_shift_left(x, exponent: int):
    """``SaturatingRoundingMultiplyByPOT<exponent>`` for exponent > 0 (no shift of negatives)."""
    threshold = (1 << (31 - exponent)) - 1
    return K.T.Select(x > K.c32(threshold), K.c32(_MAX),
                      K.T.Select(x < K.c32(-threshold), K.c32(_MIN), x * K.c32(1 << exponent)))


def _exp_on_negative_values(a, table):
    """gemmlowp ``exp_on_negative_values`` for a Q5.26 input <= 0, result Q0.31."""
    s = _Slots(12)
    frac = 31 - fp.SOFTMAX_DIFF_INTEGER_BITS
    quarter = 1 << (frac - 2)
    amq = s.keep(K.T.bitwise_and(a, K.c32(quarter - 1)) - K.c32(quarter))
    x = s.keep(_sat_shift_left(amq, fp.SOFTMAX_DIFF_INTEGER_BITS) + K.c32(1 << 28))
    x2 = s.mul(x, x)
    x3 = s.mul(x2, x)
    x4 = s.mul(x2, x2)
    x4_over_4 = s.keep(K.rdbpot(x4, 2))
    poly = s.keep(K.rdbpot(s.mul(x4_over_4 + x3, K.c32(715827883)) + x2, 1))
    result = s.new(K.c32(1895147668) + s.mul(K.c32(1895147668), x + poly))
    remainder = s.keep(amq - a)
    # Barrel shifter: times exp(-2^k) for every set bit k of the remainder.
    with K.serial(0, int(table.shape[0])) as k:
        bit = K.T.bitwise_and(remainder, K.c32(1 << (frac + fp.EXP_BARREL[0][0])) << k) != K.c32(0)
        with K.If(bit):
            with K.Then():
                K.store(s.buf, K.srdhm_positive(s.buf[result], table[k]), [result])
    return s.keep(K.T.Select(a == K.c32(0), K.c32(_MAX), s.buf[result]))


def _clz_positive(v):
    """Leading zeros of a positive int32: ``sum over k < 31 of (v < 2^k)`` plus the sign bit,
    a short loop (this runs once per row) instead of an unrolled int64 binary search."""
    count = K.local(1)
    K.store(count, K.c32(1), [0])
    with K.serial(0, 31) as k:
        K.store(count, count[0] + K.T.Cast(K.I32, v < (K.c32(1) << k)), [0])
    return K.bind(count[0])


def store_row_max(state, x, base, depth: int, lowest: int) -> None:
    """``state[0]`` = the largest of ``x[base:base + depth]`` (``lowest``: the type's minimum)."""
    K.store(state, K.c32(lowest), [0])
    with K.serial(0, depth) as c:
        K.store(state, K.T.max(state[0], K.i32(x[base + c])), [0])


def _one_over_one_plus_x(a):
    """gemmlowp ``one_over_one_plus_x_for_x_in_0_1`` for a >= 0 (Q0.31 in and out)."""
    s = _Slots(4)
    half_denominator = s.keep(K.T.Cast(K.I32, K.ashr(K.i64(a) + K.c64(_MAX) + K.c64(1), 1)))
    x = s.new(K.c32(1515870810) + K.srdhm_positive(half_denominator, K.c32(-1010580540)))
    with K.serial(0, 3):  # Newton-Raphson steps
        half_denominator_times_x = K.bind(K.srdhm_positive(half_denominator, s.buf[x]))
        one_minus = K.bind(K.c32(1 << 29) - half_denominator_times_x)
        product = K.bind(K.srdhm_positive(s.buf[x], one_minus))
        K.store(s.buf, s.buf[x] + _sat_shift_left(product, 2), [x])
    return s.keep(_sat_shift_left(s.buf[x], 1))


def softmax_kernel(name: str, shape, p: SoftmaxParams) -> Kernel:
    """``softmax(x, exp_table, y)`` over the last axis of ``shape``."""
    depth = int(shape[-1])
    rows = int(np.prod(shape)) // depth
    table = np.asarray([m for e, m in fp.EXP_BARREL if fp.SOFTMAX_DIFF_INTEGER_BITS > e], dtype=np.int32)
    params = [("x", shape, K.I8), ("exp_table", table.shape, K.I32), ("y", shape, K.I8)]
    with K.prim_func(name, params) as (ib, bufs):
        x = K.T.decl_buffer((rows * depth,), K.I8, data=bufs[0].data)
        exp_table = bufs[1]
        y = K.T.decl_buffer((rows * depth,), K.I8, data=bufs[2].data)
        state = K.local(3)  # 0: row max, 1: sum of exps, then reciprocal, 2: output exponent
        with K.serial(0, rows) as r:
            base = K.bind(r * K.c32(depth))
            store_row_max(state, x, base, depth, -128)
            K.store(state, K.c32(0), [1])
            K.store(state, K.c32(0), [2])  # set in pass 1 before use; gcc cannot see that
            with K.serial(0, 2) as pass_:
                with K.If(pass_ == K.c32(1)):
                    with K.Then():
                        total = K.bind(state[1])
                        headroom = _clz_positive(total)
                        shifted = K.bind(K.T.Cast(K.I32, (K.i64(total) << K.i64(headroom)) - K.c64(1 << 31)))
                        K.store(state, _one_over_one_plus_x(shifted), [1])
                        K.store(state, K.c32(fp.SOFTMAX_ACCUM_INTEGER_BITS + 31 - 8) - headroom, [2])
                with K.serial(0, depth) as c:
                    diff = K.bind(K.i32(x[base + c]) - state[0])
                    with K.If(diff >= K.c32(p.diff_min)):
                        with K.Then():
                            scaled = K.i64(diff) * K.c64(1 << p.input_left_shift)
                            rescaled = K.bind(K.srdhm_positive(K.T.Cast(K.I32, scaled), K.c32(p.input_multiplier)))
                            e = _exp_on_negative_values(rescaled, exp_table)
                            with K.If(pass_ == K.c32(0)):
                                with K.Then():
                                    K.store(state, state[1] + K.rdbpot(e, fp.SOFTMAX_ACCUM_INTEGER_BITS), [1])
                                with K.Else():
                                    unsat = K.rdbpot(K.srdhm_positive(state[1], e), state[2])
                                    K.store(y, K.T.Cast(K.I8, K.clamp(unsat - K.c32(128), -128, 127)), [base + c])
                        with K.Else():
                            with K.If(pass_ == K.c32(1)):
                                with K.Then():
                                    K.store(y, K.T.Cast(K.I8, K.c32(-128)), [base + c])
    return Kernel(K.finish(ib), [table], macs=0, note="gemmlowp fixed point")
