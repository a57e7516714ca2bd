"""Per-element kernels of one input: int8 table lookups, QUANTIZE (float32 -> int8) and
DEQUANTIZE (int8 -> float32) at the graph boundary.

QUANTIZE follows ``AffineQuantize``: ``q = (int32)roundf(x / scale) + zero_point``, clamped
to int8/int16, with ``x / scale`` a float32 division. ``roundf`` (ties away from zero) is written
without libm: the quotient is first clamped to +-4 * 2^bits (which cannot change the
clamped result, keeps the int conversion defined and sends NaN to the low end like
the x86 conversion TFLite-Micro relies on), truncated by the int conversion, and corrected
by one where the exact float remainder reaches 0.5.

DEQUANTIZE follows ``Dequantize``: ``(float)(double(scale) * (q - zero_point))``. The
product of a float32 scale and an integer below 2^9 is exact in double, so one float32
multiply rounds to the same float.
"""

from __future__ import annotations

import numpy as np

from .. import tir as K
from ..tir import RequantStage
from .common import Kernel

F32 = "float32"
I16 = "int16"
#: Value range of each integer element type.
RANGES = {K.I8: (-128, 127), I16: (-32768, 32767)}


def _flat(buf, shape, dtype):
    return K.T.decl_buffer((int(np.prod(shape)),), dtype, data=buf.data)


def table_kernel(name: str, shape, table: np.ndarray, note: str) -> Kernel:
    """``y[i] = table[x[i] + 128]`` over a 256-entry int8 table (see :mod:`..lut`)."""
    if table.shape != (256,) or table.dtype != np.int8:
        raise ValueError("table must hold 256 int8 values")
    params = [("x", shape, K.I8), ("table", (256,), K.I8), ("y", shape, K.I8)]
    size = int(np.prod(shape))
    with K.prim_func(name, params) as (ib, bufs):
        x, y = _flat(bufs[0], shape, K.I8), _flat(bufs[2], shape, K.I8)
        lut = bufs[1]
        with K.serial(0, size) as i:
            K.store(y, lut[K.i32(x[i]) + K.c32(128)], [i])
    return Kernel(K.finish(ib), [table], macs=0, note=note)


def quantize_kernel(name: str, shape, scale: float, zero_point: int, out_dtype: str = K.I8) -> Kernel:
    """float32 -> int8/int16 exactly as TFLite-Micro's ``AffineQuantize``."""
    q_min, q_max = RANGES[out_dtype]
    # Any quotient beyond +-2 * (q_max + 1) clamps to the same integer whatever the zero point;
    # stopping there keeps the int conversion defined and the remainder exact (< 2^23).
    limit = float(4 * (q_max + 1))
    params = [("x", shape, F32), ("y", shape, out_dtype)]
    size = int(np.prod(shape))
    with K.prim_func(name, params) as (ib, bufs):
        x, y = _flat(bufs[0], shape, F32), _flat(bufs[1], shape, out_dtype)
        with K.serial(0, size) as i:
            r = K.named(x[i] / K.T.float32(float(np.float32(scale))))
            hi, lo = K.T.float32(limit), K.T.float32(-limit)
            r = K.named(K.T.Select(r >= hi, hi, K.T.Select(r >= lo, r, lo)))
            t = K.named(K.T.Cast(K.I32, r))
            frac = K.named(r - K.T.Cast(F32, t))
            rounded = (t + K.T.Cast(K.I32, frac >= K.T.float32(0.5))
                       - K.T.Cast(K.I32, frac <= K.T.float32(-0.5)))
            K.store(y, K.T.Cast(out_dtype, K.clamp(rounded + K.c32(zero_point), q_min, q_max)), [i])
    return Kernel(K.finish(ib), [], macs=0, note="quantize")


def requantize_kernel(name: str, shape, in_dtype: str, out_dtype: str, stage: RequantStage,
                      input_zero_point: int) -> Kernel:
    """QUANTIZE between integer types (``Requantize``): ``MBQM(x - zp_in) + zp_out``, clamped."""
    params = [("x", shape, in_dtype), ("y", shape, out_dtype)]
    size = int(np.prod(shape))
    with K.prim_func(name, params) as (ib, bufs):
        x, y = _flat(bufs[0], shape, in_dtype), _flat(bufs[1], shape, out_dtype)
        with K.serial(0, size) as i:
            value = K.requantize(K.i32(x[i]) - K.c32(input_zero_point), stage)
            K.store(y, K.T.Cast(out_dtype, value), [i])
    return Kernel(K.finish(ib), [], macs=0, note="requantize")


def dequantize_kernel(name: str, shape, scale: float, zero_point: int, in_dtype: str = K.I8) -> Kernel:
    """int8/int16 -> float32 exactly as TFLite-Micro's ``Dequantize`` (an int16 difference
    needs 17 bits, so the product is still exact in double)."""
    params = [("x", shape, in_dtype), ("y", shape, F32)]
    size = int(np.prod(shape))
    with K.prim_func(name, params) as (ib, bufs):
        x, y = _flat(bufs[0], shape, in_dtype), _flat(bufs[1], shape, F32)
        with K.serial(0, size) as i:
            q = K.T.Cast(F32, K.i32(x[i]) - K.c32(zero_point))
            K.store(y, q * K.T.float32(float(np.float32(scale))), [i])
    return Kernel(K.finish(ib), [], macs=0, note="dequantize")
