"""AVERAGE_POOL_2D and MAX_POOL_2D as TFLite's integer reference computes them.

Average: sum of the valid (unpadded) taps, divided by their count rounding half away from
zero (``(acc +- count/2) / count`` with C truncation), then the activation clamp. The input
zero point never enters: TFLite requires equal input/output quantization. Windows that need
no padding have a constant count, so the compiler divides by a constant (a multiply).
"""

from __future__ import annotations

import numpy as np

from .. import tir as K
from .common import Kernel
from .conv import Geometry


def pool_kernel(name: str, kind: str, in_shape, out_shape, g: Geometry, act_min: int, act_max: int) -> Kernel:
    channels = in_shape[3]
    params = [("x", in_shape, K.I8), ("y", out_shape, K.I8)]
    sh, sw = g.stride
    pt, pl = g.pad
    padded = (g.interior(0), g.interior(1)) != ((0, g.out_h), (0, g.out_w))
    with K.prim_func(name, params) as (ib, bufs):
        x = K.T.decl_buffer((int(np.prod(in_shape)),), K.I8, data=bufs[0].data)
        y = K.T.decl_buffer((int(np.prod(out_shape)),), K.I8, data=bufs[1].data)
        acc = K.local(1)
        with K.serial(0, g.batches) as n:
            with K.serial(0, g.out_h) as oh:
                with K.serial(0, g.out_w) as ow:
                    ih0 = K.bind(oh * K.c32(sh) - K.c32(pt))
                    iw0 = K.bind(ow * K.c32(sw) - K.c32(pl))
                    if padded:
                        kh0 = K.bind(K.T.max(K.c32(0), K.c32(0) - ih0))
                        kh1 = K.bind(K.T.min(K.c32(g.k_h), K.c32(g.in_h) - ih0))
                        kw0 = K.bind(K.T.max(K.c32(0), K.c32(0) - iw0))
                        kw1 = K.bind(K.T.min(K.c32(g.k_w), K.c32(g.in_w) - iw0))
                    else:
                        kh0, kh1, kw0, kw1 = K.c32(0), K.c32(g.k_h), K.c32(0), K.c32(g.k_w)
                    base = K.bind(((n * K.c32(g.in_h) + ih0) * K.c32(g.in_w) + iw0) * K.c32(channels))
                    out_base = K.bind(((n * K.c32(g.out_h) + oh) * K.c32(g.out_w) + ow) * K.c32(channels))
                    with K.serial(0, channels) as c:
                        K.store(acc, K.c32(0) if kind == "avg" else K.c32(-128), [0])
                        with K.serial(kh0, kh1) as kh:
                            row = K.bind(base + kh * K.c32(g.in_w * channels) + c)
                            with K.serial(kw0, kw1) as kw:
                                v = K.i32(x[row + kw * K.c32(channels)])
                                K.store(acc, acc[0] + v if kind == "avg" else K.T.max(acc[0], v), [0])
                        if kind == "avg":
                            count = K.bind((kh1 - kh0) * (kw1 - kw0))
                            half = K.T.truncdiv(count, K.c32(2))
                            value = K.T.Select(acc[0] > K.c32(0), K.T.truncdiv(acc[0] + half, count),
                                               K.T.truncdiv(acc[0] - half, count))
                        else:
                            value = acc[0]
                        K.store(y, K.T.Cast(K.I8, K.clamp(value, act_min, act_max)), [out_base + c])
    return Kernel(K.finish(ib), [], macs=0, note=kind)
