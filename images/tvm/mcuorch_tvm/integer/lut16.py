"""The two 513-entry int16 tables of TFLite-Micro's int16 SOFTMAX, computed as its Prepare does.

``LUTPopulate<int16_t>`` (kernels/internal/common.h) samples a float function at 512 steps over
the input range, with a bias per entry that centres the interpolation error at the midpoint,
all in float32. The same float32 operations are done here in numpy (IEEE float32 arithmetic,
as x86-64's SSE does it) and ``std::exp(float)`` is the C library's own ``expf`` (through
ctypes): the tables are bit-for-bit those of a TFLite-Micro built for this host's libc, which is
what the golden outputs come from. They depend on no model: the exp table spans [-10, 0] and
the reciprocal table ``1 / (1 + x)`` spans [0, 1].
"""

from __future__ import annotations

import ctypes
import ctypes.util
import math
from collections.abc import Callable
from functools import lru_cache

import numpy as np

F32 = np.float32
STEPS = 512
RANGE = 65535  # int16 max - int16 min


@lru_cache(maxsize=1)
def _expf() -> Callable[[float], float]:
    libm = ctypes.CDLL(ctypes.util.find_library("m") or "libm.so.6")
    libm.expf.restype, libm.expf.argtypes = ctypes.c_float, [ctypes.c_float]
    return libm.expf


def _exp(value: np.float32) -> np.float32:
    return F32(_expf()(float(value)))


def _one_over_one_plus(value: np.float32) -> np.float32:
    return F32(1.0) / (F32(1.0) + value)


def _round(x: np.float32) -> np.float32:
    """``TfLiteRound``: half away from zero (|x| here is far below 2^23, so exact)."""
    return F32(math.copysign(math.floor(abs(float(x)) + 0.5), float(x)))


def populate(input_scale: np.float32, input_zero_point: int, output_scale: np.float32, output_zero_point: int,
             transform: Callable[[np.float32], np.float32]) -> np.ndarray:
    """``detail::LUTPopulateInt16<float>``."""
    input_min = input_scale * F32(-32768 - input_zero_point)
    input_max = input_scale * F32(32767 - input_zero_point)
    output_min = output_scale * F32(-32768 - output_zero_point)
    output_max = output_scale * F32(32767 - output_zero_point)
    step = (input_max - input_min) / F32(STEPS)
    half_step = step / F32(2)
    inv = F32(65536) / (output_max - output_min)
    lut = np.zeros(STEPS + 1, dtype=np.int16)
    for i in range(STEPS):
        at = input_min + F32(i) * step
        val = transform(at)
        val_midpoint = transform(at + half_step)
        val_next = transform(input_min + F32(i + 1) * step)
        sample = _round(val * inv)
        midpoint_interp = _round((val_next * inv + _round(val * inv)) / F32(2))
        midpoint = _round(val_midpoint * inv)
        bias = _round((midpoint_interp - midpoint) / F32(2))
        lut[i] = int(min(max(float(sample - bias), -32768.0), 32767.0))
    lut[STEPS] = int(min(max(float(_round(transform(input_max) * inv)), -32768.0), 32767.0))
    return lut


@lru_cache(maxsize=1)
def softmax_tables() -> tuple[np.ndarray, np.ndarray]:
    """(exp table over [-10, 0], 1/(1+x) table over [0, 1]) of ``InitializeLutForInt16``."""
    exp = populate(F32(10.0) / F32(RANGE), 32767, F32(2.0) / F32(RANGE), 0, _exp)
    reciprocal = populate(F32(1.0) / F32(RANGE), -32768, F32(2.0) / F32(RANGE), 0, _one_over_one_plus)
    return exp, reciprocal
