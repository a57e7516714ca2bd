"""Two-input elementwise kernels with numpy broadcasting: MUL, SUB (and int16 ADD), MAXIMUM,
MINIMUM, on int8 or int16.

* MUL (``MulElementwise``): ``clamp(zp_out + MBQM((a - zp_a) * (b - zp_b), M, s))``;
* SUB (``SubElementwise``): ADD's parameters (the common 2^20-scaled domain, multipliers
  derived in double as the pinned wheel does) with the difference of the rescaled inputs;
* MAXIMUM/MINIMUM: the raw int8 values compared (TFLite-Micro ignores the quantization).
"""

from __future__ import annotations

from .. import tir as K
from ..quant import AddParams
from ..tir import RequantStage
from .common import Kernel
from .elementwise import broadcast_kernel, rescaled_sum


def mul_kernel(name: str, a_shape, b_shape, out_shape, zp_a: int, zp_b: int, stage: RequantStage,
               dtype: str = K.I8) -> Kernel:
    def value(a, b):
        return K.requantize((a - K.c32(zp_a)) * (b - K.c32(zp_b)), stage)
    return broadcast_kernel(name, a_shape, b_shape, out_shape, "mul", value, dtype)


def add_sub_kernel(name: str, a_shape, b_shape, out_shape, p: AddParams, subtract: bool,
                   dtype: str = K.I8) -> Kernel:
    """ADD/SUB in TFLite's common domain (``p.LEFT_SHIFT``: 20 for int8, 15 for int16)."""
    return broadcast_kernel(name, a_shape, b_shape, out_shape, "sub" if subtract else "add",
                            rescaled_sum(p, subtract), dtype)


def extremum_kernel(name: str, a_shape, b_shape, out_shape, kind: str, dtype: str = K.I8) -> Kernel:
    pick = K.T.max if kind == "max" else K.T.min
    return broadcast_kernel(name, a_shape, b_shape, out_shape, kind, lambda a, b: pick(a, b), dtype)
