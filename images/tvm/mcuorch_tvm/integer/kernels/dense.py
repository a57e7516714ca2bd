"""FULLY_CONNECTED: int8 x int8 -> int32 accumulation, folded input offset, requantization.

Schedule: output channels in register blocks of ``block``; each block streams its weights
sequentially (``[block][k][channel]``) and reuses every loaded input value ``block`` times;
the reduction is unrolled ``unroll`` times. SIMD ISAs (:mod:`..isa`) keep TFLite's ``[O][K]``
layout (each channel's weights contiguous) and run a block through one dot-product helper
(:mod:`..simd`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .. import simd as S
from .. import tir as K
from ..isa import GENERIC, Isa
from ..tir import RequantStage
from .common import Kernel, block_weights, unrolled_range, weighted_signature


@dataclass(frozen=True)
class DenseSchedule:
    block: int = 4
    unroll: int = 1
    isa: Isa = GENERIC


def dense_kernel(name: str, in_shape: tuple[int, ...], out_shape: tuple[int, ...], weights: np.ndarray,
                 bias: np.ndarray, stage: RequantStage, schedule: DenseSchedule = DenseSchedule()) -> Kernel:
    """``weights`` [O, K] int8, ``bias`` [O] int32 already folded (see quant.fold_bias)."""
    outs, depth = weights.shape
    batches = int(np.prod(in_shape)) // depth
    block = _block_size(outs, schedule.block)
    flavour = schedule.isa.simd
    packed = weights.astype(np.int8).reshape(-1) if flavour else block_weights(weights.astype(np.int8), block)
    consts, params = weighted_signature(in_shape, out_shape, packed, bias, outs, stage)
    with K.prim_func(name, params) as (ib, bufs):
        x, w, b = bufs[0], bufs[1], bufs[2]
        y = bufs[-1]
        mult, shift = (bufs[3], bufs[4]) if stage.per_channel else (None, None)
        xf = K.T.decl_buffer((batches * depth,), K.I8, data=x.data)
        yf = K.T.decl_buffer((batches * outs,), K.I8, data=y.data)
        acc = K.local(block)
        with K.serial(0, batches) as n:
            nfull, tail = divmod(outs, block)
            if nfull:
                with K.serial(0, nfull) as ob:
                    _block(ob * K.c32(block), block, depth, n, xf, w, b, mult, shift, yf, acc, stage,
                           schedule, outs, ob * K.c32(block * depth))
            if tail:
                _block(K.c32(nfull * block), tail, depth, n, xf, w, b, mult, shift, yf, acc, stage,
                       schedule, outs, K.c32(nfull * block * depth))
    note = f"block={block} unroll={schedule.unroll}" + (f" simd={flavour}" if flavour else "")
    return Kernel(K.finish(ib), consts, macs=batches * outs * depth, note=note)


def _block_size(outs: int, preferred: int) -> int:
    """``preferred`` if it divides the output count, else the largest divisor up to 6 (a
    block that does not divide leaves a tail: a second copy of the code), else ``preferred``."""
    if outs <= preferred:
        return max(1, outs)
    if outs % preferred == 0:
        return preferred
    divisors = [b for b in range(2, 7) if outs % b == 0]
    return max(divisors) if divisors else preferred


def _block(c0, width, depth, n, xf, w, b, mult, shift, yf, acc, stage, schedule, outs, w0) -> None:
    for r in range(width):
        K.store(acc, b[c0 + K.c32(r)], [r])
    xbase = K.bind(n * K.c32(depth))
    if schedule.isa.simd:
        S.dot(schedule.isa.simd, 1, width, K.T.address_of(acc[0]), K.T.address_of(xf[xbase]), 0,
              K.T.address_of(w[c0 * K.c32(depth)]), depth, depth)
    else:
        unrolled_range(depth, schedule.unroll, lambda k: _tap(k, xf, xbase, w, w0, width, acc))
    _requantize_block(c0, width, n, outs, stage, mult, shift, yf, acc, schedule.isa.simd)


def _tap(k, xf, xbase, w, w0, width, acc) -> None:
    xv = K.bind(K.i32(xf[xbase + k]))
    wk = K.bind(w0 + k * K.c32(width))
    for r in range(width):
        K.store(acc, acc[r] + xv * K.i32(w[wk + K.c32(r)]), [r])


def _requantize_block(c0, width, n, outs, stage, mult, shift, yf, acc, flavour=None) -> None:
    ybase = K.bind(n * K.c32(outs) + c0)
    for r in range(width):
        ch = c0 + K.c32(r)
        m, s = (mult[ch], shift[ch]) if stage.per_channel else (None, None)
        K.store(yf, K.T.Cast(K.I8, S.requantize(flavour, acc[r], stage, m, s)), [ybase + K.c32(r)])
