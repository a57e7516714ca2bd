"""Two-input elementwise kernels with numpy broadcasting: MUL, SUB (and int16 ADD), MAXIMUM,
MINIMUM, on int8 or int16.

* MUL (``MulElementwise``): ``clamp(zp_out + MBQM((a - zp_a) * (b - zp_b), M, s))``;
* SUB (``SubElementwise``): ADD's parameters (the common 2^20-scaled domain, multipliers
  derived in double as the pinned wheel does) with the difference of the rescaled inputs;
* MAXIMUM/MINIMUM: the raw int8 values compared (TFLite-Micro ignores the quantization).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from .. import tir as K
from ..quant import AddParams
from ..tir import RequantStage
from .common import Kernel
from .elementwise import _broadcast_strides, _flat_index, _loop_nest, _strides


def _broadcast_kernel(name: str, a_shape, b_shape, out_shape, note: str,
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


def mul_kernel(name: str, a_shape, b_shape, out_shape, zp_a: int, zp_b: int, stage: RequantStage,
               dtype: str = K.I8) -> Kernel:
    def value(a, b):
        return K.requantize((a - K.c32(zp_a)) * (b - K.c32(zp_b)), stage)
    return _broadcast_kernel(name, a_shape, b_shape, out_shape, "mul", value, dtype)


def add_sub_kernel(name: str, a_shape, b_shape, out_shape, p: AddParams, subtract: bool,
                   dtype: str = K.I8) -> Kernel:
    """ADD/SUB in TFLite's common domain (``p.LEFT_SHIFT``: 20 for int8, 15 for int16)."""
    def value(a, b):
        av = (a + K.c32(p.input1_offset)) * K.c32(1 << p.LEFT_SHIFT)
        bv = (b + K.c32(p.input2_offset)) * K.c32(1 << p.LEFT_SHIFT)
        sa = K.rdbpot(K.srdhm_positive(av, K.c32(p.input1_multiplier)), -p.input1_shift)
        sb = K.rdbpot(K.srdhm_positive(bv, K.c32(p.input2_multiplier)), -p.input2_shift)
        out = K.rdbpot(K.srdhm_positive(sa - sb if subtract else sa + sb, K.c32(p.output_multiplier)),
                       -p.output_shift)
        return K.clamp(out + K.c32(p.output_offset), p.act_min, p.act_max)
    return _broadcast_kernel(name, a_shape, b_shape, out_shape, "sub" if subtract else "add", value, dtype)


def extremum_kernel(name: str, a_shape, b_shape, out_shape, kind: str, dtype: str = K.I8) -> Kernel:
    pick = K.T.max if kind == "max" else K.T.min
    return _broadcast_kernel(name, a_shape, b_shape, out_shape, kind, lambda a, b: pick(a, b), dtype)
