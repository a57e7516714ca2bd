"""Two-input kernels with numpy broadcasting (shared with :mod:`.binary`), ADD (TFLite's int8
rescale-to-common-scale algorithm) and PAD (fill with the zero point)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from tvm import tirx

from .. import simd as S
from .. import tir as K
from ..isa import GENERIC, Isa
from ..quant import AddParams
from .common import Kernel


def _strides(shape: tuple[int, ...]) -> list[int]:
    out, acc = [], 1
    for d in reversed(shape):
        out.append(acc)
        acc *= d
    return out[::-1]


def _broadcast_strides(in_shape: tuple[int, ...], out_shape: tuple[int, ...]) -> list[int]:
    """Element strides of an input read at each output index (0 on broadcast dimensions)."""
    rank = len(out_shape)
    padded = (1,) * (rank - len(in_shape)) + tuple(in_shape)
    strides = _strides(padded)
    return [0 if padded[i] == 1 and out_shape[i] != 1 else strides[i] for i in range(rank)]


def _flat_index(loops: list, strides: list[int]) -> tirx.PrimExpr:
    """Flat element index of the loop variables ``loops`` over a buffer with ``strides``."""
    return sum((v * K.c32(s) for v, s in zip(loops, strides)), K.c32(0))


def _loop_nest(shape, leaf: Callable[[list], None]) -> None:
    """One serial loop per dimension of ``shape``, outermost first; ``leaf(loop_vars)`` emits
    the innermost body."""
    loops: list = []

    def nest(dim: int) -> None:
        if dim == len(shape):
            leaf(loops)
            return
        with K.serial(0, int(shape[dim])) as v:
            loops.append(v)
            nest(dim + 1)
            loops.pop()

    nest(0)


def broadcast_kernel(name: str, a_shape, b_shape, out_shape, note: str,
                     value: Callable[[object, object], object], dtype: str = K.I8) -> Kernel:
    """``y[i] = value(a[ia], b[ib])`` (int32 expression of two int32 loads) with broadcasting."""
    params = [("a", a_shape, dtype), ("b", b_shape, dtype), ("y", out_shape, dtype)]
    size = int(np.prod(out_shape))
    with K.prim_func(name, params) as (ib, bufs):
        a = K.T.decl_buffer((int(np.prod(a_shape)),), dtype, data=bufs[0].data)
        b = K.T.decl_buffer((int(np.prod(b_shape)),), dtype, data=bufs[1].data)
        y = K.T.decl_buffer((size,), dtype, data=bufs[2].data)

        def element(out_index, a_index, b_index) -> None:
            K.store(y, K.T.Cast(dtype, value(K.i32(a[a_index]), K.i32(b[b_index]))), [out_index])

        if tuple(a_shape) == tuple(out_shape) and tuple(b_shape) == tuple(out_shape):
            with K.serial(0, size) as i:
                element(i, i, i)
        else:
            sa, sb, so = (_broadcast_strides(tuple(a_shape), tuple(out_shape)),
                          _broadcast_strides(tuple(b_shape), tuple(out_shape)), _strides(tuple(out_shape)))
            _loop_nest(out_shape, lambda loops: element(
                _flat_index(loops, so), _flat_index(loops, sa), _flat_index(loops, sb)))
    return Kernel(K.finish(ib), [], macs=0, note=note)


def rescaled_sum(p: AddParams, subtract: bool = False) -> Callable[[object, object], object]:
    """The int32 value of TFLite's ADD/SUB of two int32 loads: each input rescaled into the common
    domain (``p.LEFT_SHIFT``: 20 for int8, 15 for int16), summed (or ``a - b``), rescaled to the
    output, zero point added, clamped to the activation range."""
    def value(a, b):
        av = (a + K.c32(p.input1_offset)) * K.c32(1 << p.LEFT_SHIFT)
        bv = (b + K.c32(p.input2_offset)) * K.c32(1 << p.LEFT_SHIFT)
        sa = K.rdbpot(K.srdhm_positive(av, K.c32(p.input1_multiplier)), -p.input1_shift)
        sb = K.rdbpot(K.srdhm_positive(bv, K.c32(p.input2_multiplier)), -p.input2_shift)
        out = K.rdbpot(K.srdhm_positive(sa - sb if subtract else sa + sb, K.c32(p.output_multiplier)),
                       -p.output_shift)
        return K.clamp(out + K.c32(p.output_offset), p.act_min, p.act_max)
    return value


def add_kernel(name: str, a_shape, b_shape, out_shape, p: AddParams, isa: Isa = GENERIC) -> Kernel:
    """``out = clamp(Rescale(Rescale(a) + Rescale(b)) + zp)`` exactly as TFLite's AddElementwise.

    Parameters are immediates (measured: reading them from a table so that GCC could fold
    equal-shaped ADDs into one body saved 60 bytes on ResNet-8 but made the loop 2.6x slower).
    On MVE an ADD without broadcasting is one call of ``mcuorch_mve_add`` (4 lanes per step;
    ResNet-8's residual ADDs on the M55: 44 -> 9 instructions per element).
    """
    if isa.mve and tuple(a_shape) == tuple(b_shape) == tuple(out_shape):
        return _mve_add_kernel(name, out_shape, p)
    return broadcast_kernel(name, a_shape, b_shape, out_shape, "elementwise", rescaled_sum(p))


def _mve_add_kernel(name: str, shape, p: AddParams) -> Kernel:
    size = int(np.prod(shape))
    params = [("a", shape, K.I8), ("b", shape, K.I8), ("y", shape, K.I8)]
    with K.prim_func(name, params) as (ib, bufs):
        a, b, y = (K.T.decl_buffer((size,), K.I8, data=buf.data) for buf in bufs)
        S.call("mcuorch_mve_add", K.T.address_of(y[0]), K.T.address_of(a[0]), K.T.address_of(b[0]), size,
               p.LEFT_SHIFT, p.input1_offset, p.input1_multiplier, p.input1_shift, p.input2_offset,
               p.input2_multiplier, p.input2_shift, p.output_multiplier, p.output_shift, p.output_offset,
               p.act_min, p.act_max)
    return Kernel(K.finish(ib), [], macs=0, note="simd=mve mcuorch_mve_add")


def pad_kernel(name: str, in_shape, out_shape, pads: list[tuple[int, int]], pad_value: int) -> Kernel:
    """Copy the input into the middle of the output, ``pad_value`` elsewhere (rows at a time)."""
    params = [("x", in_shape, K.I8), ("y", out_shape, K.I8)]
    so, si = _strides(tuple(out_shape)), _strides(tuple(in_shape))
    with K.prim_func(name, params) as (ib, bufs):
        x = K.T.decl_buffer((int(np.prod(in_shape)),), K.I8, data=bufs[0].data)
        y = K.T.decl_buffer((int(np.prod(out_shape)),), K.I8, data=bufs[1].data)

        def element(loops: list) -> None:
            inside = K.T.And(K.T.bool(True), K.T.bool(True))
            for v, (before, _after), size in zip(loops, pads, in_shape):
                inside = K.T.And(inside, K.T.And(v >= K.c32(before), v < K.c32(before + size)))
            oi = _flat_index(loops, so)
            ii = sum(((v - K.c32(before)) * K.c32(s) for v, (before, _), s in zip(loops, pads, si)), K.c32(0))
            K.store(y, K.T.if_then_else(inside, x[ii], K.T.Cast(K.I8, K.c32(pad_value))), [oi])

        _loop_nest(out_shape, element)
    return Kernel(K.finish(ib), [], macs=0, note="pad")
