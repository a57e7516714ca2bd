"""MEAN over any set of axes: int32 sum, input offset applied once, requantized with the
element count folded into the multiplier (TFLite-Micro's QuantizedMeanOrSum)."""

from __future__ import annotations

import numpy as np

from .. import tir as K
from ..quant import MeanParams
from ..tir import RequantStage
from .common import Kernel


def mean_kernel(name: str, in_shape, out_shape, axes: tuple[int, ...], p: MeanParams) -> Kernel:
    rank = len(in_shape)
    kept = [d for d in range(rank) if d not in axes]
    reduced = [d for d in range(rank) if d in axes]
    strides = [int(np.prod(in_shape[d + 1:])) for d in range(rank)]
    stage = RequantStage((p.multiplier,), (p.shift,), p.output_zero_point, -128, 127)
    params = [("x", in_shape, K.I8), ("y", out_shape, K.I8)]
    with K.prim_func(name, params) as (ib, bufs):
        x = K.T.decl_buffer((int(np.prod(in_shape)),), K.I8, data=bufs[0].data)
        y = K.T.decl_buffer((int(np.prod(out_shape)),), K.I8, data=bufs[1].data)
        acc = K.local(1)
        outer: list = []

        def reduce_nest(i: int, base) -> None:
            if i == len(reduced):
                K.store(acc, acc[0] + K.i32(x[base]), [0])
                return
            d = reduced[i]
            with K.serial(0, int(in_shape[d])) as v:
                reduce_nest(i + 1, base + v * K.c32(strides[d]))

        def keep_nest(i: int) -> None:
            if i == len(kept):
                base = K.bind(sum((v * K.c32(strides[d]) for v, d in zip(outer, kept)), K.c32(0)))
                out_index = K.c32(0)
                for v, d in zip(outer, kept):
                    out_index = out_index * K.c32(int(in_shape[d])) + v
                K.store(acc, K.c32(0), [0])
                reduce_nest(0, base)
                shifted = acc[0] - K.c32(p.input_zero_point * p.num_elements)
                K.store(y, K.T.Cast(K.I8, K.requantize(shifted, stage)), [out_index])
                return
            with K.serial(0, int(in_shape[kept[i]])) as v:
                outer.append(v)
                keep_nest(i + 1)
                outer.pop()

        keep_nest(0)
    return Kernel(K.finish(ib), [], macs=0, note="mean")
