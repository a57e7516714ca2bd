"""TIR building blocks for the integer kernels: fixed-point arithmetic without undefined or
implementation-defined C behaviour, and the requantization epilogue shared by all ops.

Kernels are written with TVM's IR builder (``tvm.tirx.script.builder``) so Python decides the
loop structure (register blocks, border/interior splits, unrolled taps) while TIR stays the
representation handed to the backend's C lowering.

Portability rules the expressions here follow (the same C must give the same bits on x86,
RV32 and Cortex-M):

* a right shift of a possibly negative value is written ``x >= 0 ? x >> n : ~(~x >> n)``,
  which only ever shifts non-negative values; GCC folds it to one arithmetic shift;
* nothing overflows: the rounding right shift uses gemmlowp's mask/threshold form (no
  ``x + round`` that could exceed int32), products of int32 are formed in int64;
* int64 appears only in the multiply-high of requantization and in softmax.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
from tvm import tirx
from tvm.script.ir_builder import IRBuilder
from tvm.tirx.script import builder as T

I8 = "int8"
I32 = "int32"
I64 = "int64"

#: PrimFunc attribute marking kernels of this package (already scheduled, not to be fused).
KERNEL_ATTR = "mcuorch.integer_kernel"


def c32(value: int) -> tirx.IntImm:
    return tirx.const(int(value), I32)


def c64(value: int) -> tirx.IntImm:
    return tirx.const(int(value), I64)


def i32(expr) -> tirx.PrimExpr:
    """Cast to int32 (no-op when already int32)."""
    return expr if str(expr.ty) == I32 else T.Cast(I32, expr)


def i64(expr) -> tirx.PrimExpr:
    return expr if str(expr.ty) == I64 else T.Cast(I64, expr)


def named(expr: tirx.PrimExpr) -> tirx.PrimExpr:
    """``expr`` stored once in a one-element local array, unless already a variable/constant.

    Operations that use an operand several times (the flooring shift, the rounding divide)
    would otherwise copy whole subtrees. A let-binding would avoid the copies in C, but TVM's
    analyzer substitutes let values back while simplifying and blows up exponentially on
    chains of Selects (measured: 45 s for one ADD kernel); a load from a local array is opaque
    to it, and GCC still keeps the element in a register.
    """
    if isinstance(expr, (tirx.Var, tirx.IntImm)):
        return expr
    cell = T.alloc_buffer((1,), str(expr.ty))
    T.buffer_store(cell, expr, [0])
    return cell[0]


def ashr(x: tirx.PrimExpr, n) -> tirx.PrimExpr:
    """Arithmetic (flooring) right shift with defined C semantics for negative ``x``."""
    x = named(x)
    dtype = str(x.ty)
    n = tirx.const(n, dtype) if isinstance(n, int) else (n if str(n.ty) == dtype else T.Cast(dtype, n))
    return tirx.Select(x >= tirx.const(0, dtype), x >> n, tirx.bitwise_not(tirx.bitwise_not(x) >> n))


def srdhm_positive(x: tirx.PrimExpr, multiplier: tirx.PrimExpr) -> tirx.PrimExpr:
    """gemmlowp ``SaturatingRoundingDoublingHighMul(x, m)`` for m > 0 (never saturates).

    ``(x*m + nudge) / 2^31`` with C truncation equals ``floor((x*m + 2^30) / 2^31)``.
    """
    p = i64(x) * i64(multiplier) + c64(1 << 30)
    return T.Cast(I32, ashr(p, 31))


def srdhm_small(x: tirx.PrimExpr, multiplier: tirx.PrimExpr) -> tirx.PrimExpr:
    """:func:`srdhm_positive` for ``|x| < 2^30`` (checked at build time).

    ``floor((x*m + 2^30) / 2^31) = floor((2x*m + 2^31) / 2^32)``: the high word of ``2x*m`` plus
    bit 31 of its low word (the carry of adding 2^31). On a 32-bit core that is a multiply-high,
    a multiply, a shift and an add instead of a 64-bit add and a 64-bit shift.
    """
    # 2x through uint32: from a signed ``x * 2`` GCC would widen first and shift the 64-bit
    # product (8 instructions on RV32); this keeps it to a shift, mul, mulh, shift and add.
    doubled = named(T.Cast(I32, T.Cast("uint32", x) << tirx.const(1, "uint32")))
    p = named(i64(doubled) * i64(multiplier))
    carry = T.Cast(I32, tirx.bitwise_and(T.Cast("uint64", p) >> tirx.const(31, "uint64"), tirx.const(1, "uint64")))
    return T.Cast(I32, ashr(p, 32)) + carry


def rdbpot(x: tirx.PrimExpr, exponent) -> tirx.PrimExpr:
    """gemmlowp ``RoundingDivideByPOT``: nearest, ties away from zero, for 0 <= exponent <= 31."""
    x = named(x)
    if isinstance(exponent, int):
        if exponent == 0:
            return x
        mask = c32((1 << exponent) - 1)
        half = c32(((1 << exponent) - 1) >> 1)
    else:
        mask = (c32(1) << exponent) - c32(1)
        half = mask >> c32(1)
    threshold = half + T.Cast(I32, x < c32(0))
    return ashr(x, exponent) + T.Cast(I32, tirx.bitwise_and(x, mask) > threshold)


def rdbpot_small(x: tirx.PrimExpr, exponent, round_const=None) -> tirx.PrimExpr:
    """``RoundingDivideByPOT`` for 1 <= exponent <= 31 and |x| < 2^30 (checked at build time).

    ``(x + 2^(e-1) - (x < 0)) >> e`` cannot overflow under that bound and is two instructions
    shorter than the mask/threshold form. ``round_const`` may pass a hoisted ``2^(e-1)``.
    """
    x = named(x)
    if isinstance(exponent, int):
        round_const = c32(1 << (exponent - 1))
    elif round_const is None:
        round_const = c32(1) << (exponent - c32(1))
    return ashr(x + round_const - T.Cast(I32, x < c32(0)), exponent)


def wrap_shift_left(x: tirx.PrimExpr, shift) -> tirx.PrimExpr:
    """``x * 2^shift`` wrapped to int32 as TFLite's 32-bit multiply does, without C overflow."""
    if isinstance(shift, int) and shift == 0:
        return x
    wide = i64(x) * (c64(1) << i64(shift if not isinstance(shift, int) else c64(shift)))
    return T.Cast(I32, tirx.bitwise_and(wide + c64(2**31), c64(0xFFFFFFFF)) - c64(2**31))


def clamp(x: tirx.PrimExpr, lo: int, hi: int) -> tirx.PrimExpr:
    return T.max(T.min(x, c32(hi)), c32(lo))


@dataclass(frozen=True)
class RequantStage:
    """How an int32 accumulator becomes the int8 output (TFLite's per-channel/tensor scheme).

    ``multiplier``/``shift`` follow TFLite (shift > 0 is a left shift). When one value holds
    for all channels the kernel uses immediates; otherwise the kernel reads the per-channel
    arrays passed as constants (int32 multipliers, int8 shifts).
    """

    multiplier: tuple[int, ...]
    shift: tuple[int, ...]
    output_zero_point: int
    act_min: int
    act_max: int
    #: Largest |accumulator| the op can produce (None = unknown): below 2^30, with every
    #: shift a right shift of at least 1, the short rounding form is exact.
    acc_bound: int | None = None

    @property
    def short_rounding(self) -> bool:
        return (self.acc_bound is not None and self.acc_bound < (1 << 30)
                and all(s <= -1 for s in self.shift))

    @property
    def per_channel(self) -> bool:
        return len(set(zip(self.multiplier, self.shift))) > 1

    @property
    def has_left_shift(self) -> bool:
        return any(s > 0 for s in self.shift)

    def multiplier_array(self) -> np.ndarray:
        return np.asarray(self.multiplier, dtype=np.int32)

    def shift_array(self) -> np.ndarray:
        return np.asarray(self.shift, dtype=np.int8)


def requantize(acc: tirx.PrimExpr, stage: RequantStage, multiplier=None, shift=None,
               round_const=None) -> tirx.PrimExpr:
    """TFLite ``MultiplyByQuantizedMultiplier`` + zero point + activation clamp, as int32.

    ``multiplier``/``shift`` are per-channel loads (int32 / int8 exprs); ``None`` means the
    stage is per-tensor and its single values become immediates. ``round_const`` is a hoisted
    ``2^(right_shift - 1)`` for the short rounding form (see :attr:`RequantStage.short_rounding`).
    """
    # Named first: TVM's simplifier would otherwise push the int64 cast of the multiply-high
    # into a sum of taps and accumulate in 64 bits.
    acc = named(acc)
    if multiplier is None:
        m, s = stage.multiplier[0], stage.shift[0]
        x = wrap_shift_left(acc, s) if s > 0 else acc
        if not m:
            out = c32(0)
        elif stage.short_rounding:
            out = rdbpot_small(srdhm_small(x, c32(m)), -s)
        else:
            out = rdbpot(srdhm_positive(x, c32(m)), -s if s < 0 else 0)
    elif stage.short_rounding:
        out = rdbpot_small(srdhm_small(acc, multiplier), c32(0) - i32(shift), round_const)
    else:
        s32 = i32(shift)
        if stage.has_left_shift:
            left = T.max(s32, c32(0))
            right = T.max(c32(0) - s32, c32(0))
            x = wrap_shift_left(acc, left)
        else:
            right = c32(0) - s32
            x = acc
        out = rdbpot(srdhm_positive(x, multiplier), right)
    return clamp(out + c32(stage.output_zero_point), stage.act_min, stage.act_max)


@contextmanager
def prim_func(name: str, params: Sequence[tuple[str, Sequence[int], str]]):
    """Open a PrimFunc under construction; yields ``(builder, buffers)`` in ``params`` order.

    Parameters are ``(name, shape, dtype)``; the last one is the output by convention (the
    backend calls every kernel as ``kernel(*inputs, output)``).
    """
    with IRBuilder() as ib:
        with T.prim_func():
            T.func_name(name)
            T.func_attr({"tirx.noalias": True, KERNEL_ATTR: True})
            buffers = [T.arg(pname, T.buffer(tuple(int(d) for d in shape), dtype))
                       for pname, shape, dtype in params]
            yield ib, buffers


def finish(ib: IRBuilder) -> tirx.PrimFunc:
    return ib.get()


def store(buffer, value, indices) -> None:
    T.buffer_store(buffer, value, list(indices) if isinstance(indices, (list, tuple)) else [indices])


def bind(value) -> tirx.Var:
    """Name a value once (a C local); keeps hoisted loads and parameters in registers."""
    return T.Bind(value)


def local(shape: Sequence[int] | int, dtype: str = I32):
    """A small stack array (accumulators); GCC keeps constant-indexed ones in registers."""
    return T.alloc_buffer(tuple(shape) if not isinstance(shape, int) else (shape,), dtype)


class Hoisted:
    """Values computed once before a loop and read inside it, kept in a small local array.

    A let-bound variable is no guarantee: TVM's simplifier may sink a single-use binding into
    the loop, and GCC then has to reload it after every int8 store (an ``int8_t`` store may
    alias any object). A local array whose address never escapes cannot be aliased, so GCC
    keeps its constant-indexed elements in registers.
    """

    def __init__(self, count: int, dtype: str = I32) -> None:
        self.buf = local(count, dtype)
        self.count = count
        self.used = 0

    def put(self, value):
        if self.used == self.count:
            raise RuntimeError("Hoisted: out of slots")
        store(self.buf, value, [self.used])
        self.used += 1
        return self.buf[self.used - 1]


serial = T.serial
If = T.If
Then = T.Then
Else = T.Else
