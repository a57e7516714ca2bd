"""Pieces shared by the kernel generators: the kernel description handed to the lowering,
channel-blocked weight layouts, unrolled reduction loops, per-channel requant constants, the
signature of kernels with weights."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
from tvm import tirx

from .. import tir as K
from ..tir import RequantStage


@dataclass
class Kernel:
    """One generated kernel: ``func(*activations, *constants, output)``.

    ``constants`` are numpy arrays in the layout the kernel reads (already reordered);
    ``macs`` counts multiply-accumulates of one call (for reports and instructions/MAC).
    """

    func: tirx.PrimFunc
    constants: list[np.ndarray] = field(default_factory=list)
    macs: int = 0
    note: str = ""


def split_blocks(channels: int, block: int) -> list[tuple[int, int]]:
    """``(first_channel, width)`` of each channel block: full blocks, then the tail."""
    blocks = [(start, block) for start in range(0, channels - channels % block, block)]
    if channels % block:
        blocks.append((channels - channels % block, channels % block))
    return blocks


def block_weights(w: np.ndarray, block: int) -> np.ndarray:
    """Reorder ``[C, R]`` weights (C output channels, R reduction taps) so that a channel
    block reads its taps sequentially: ``[block][r][channel-in-block]``, tail block last."""
    c, r = w.shape
    parts = []
    for start, width in split_blocks(c, block):
        parts.append(np.ascontiguousarray(w[start:start + width].T).reshape(-1))
    return np.concatenate(parts).astype(w.dtype) if parts else w.reshape(-1)


def block_rows(w: np.ndarray, block: int) -> np.ndarray:
    """Reorder ``[C, H, R]`` weights (C output channels, H kernel rows of R taps) for the SIMD
    schedules: ``[block][h][channel-in-block][r]``, tail block last, so that a block's
    kernel row is ``width`` contiguous runs of R taps (one per channel)."""
    c, h, r = w.shape
    parts = [np.ascontiguousarray(w[start:start + width].transpose(1, 0, 2)).reshape(-1)
             for start, width in split_blocks(c, block)]
    return np.concatenate(parts).astype(w.dtype) if parts else w.reshape(-1)


def unrolled_range(extent: int, unroll: int, body: Callable[[tirx.PrimExpr], None]) -> None:
    """``for i in range(extent): body(i)`` with ``unroll`` copies per iteration (+ remainder).

    Unrolling in Python (not a TIR pragma) keeps the generated C explicit, so any C compiler
    sees straight-line bodies with constant offsets.
    """
    unroll = max(1, min(unroll, extent))
    main = extent - extent % unroll
    if main == extent and unroll == extent:
        for i in range(extent):
            body(K.c32(i))
        return
    if main:
        with K.serial(0, main // unroll) as outer:
            base = K.bind(outer * K.c32(unroll)) if unroll > 1 else outer
            for i in range(unroll):
                body(base + K.c32(i) if i else base)
    for i in range(main, extent):
        body(K.c32(i))


def requant_constants(stage: RequantStage) -> list[np.ndarray]:
    """The constant arrays a kernel needs for its output stage (none when per-tensor)."""
    if not stage.per_channel:
        return []
    return [stage.multiplier_array(), stage.shift_array()]


Param = tuple[str, Sequence[int], str]


def weighted_signature(in_shape: Sequence[int], out_shape: Sequence[int], packed: np.ndarray,
                       bias: np.ndarray, channels: int, stage: RequantStage) -> tuple[list[np.ndarray], list[Param]]:
    """Constants and parameters of a kernel with int8 weights, a folded int32 bias and an
    output requantization: ``(x, w, bias[, mult, shift], y)``, per-channel arrays only when
    the stage is per-channel."""
    consts = [packed, bias.astype(np.int32)] + requant_constants(stage)
    params = [("x", in_shape, K.I8), ("w", packed.shape, K.I8), ("bias", (channels,), K.I32)]
    if stage.per_channel:
        params += [("mult", (channels,), K.I32), ("shift", (channels,), K.I8)]
    params.append(("y", out_shape, K.I8))
    return consts, params


def weighted_buffers(bufs: list, in_shape: Sequence[int], out_shape: Sequence[int], packed: np.ndarray,
                     stage: RequantStage) -> tuple:
    """The buffers of a :func:`weighted_signature` kernel, ``(x, w, bias, mult, shift, y)``:
    input, weights and output flat, ``mult``/``shift`` None when the stage is per-tensor."""
    x = K.T.decl_buffer((int(np.prod(in_shape)),), K.I8, data=bufs[0].data)
    w = K.T.decl_buffer((packed.size,), K.I8, data=bufs[1].data)
    b = bufs[2]
    mult, shift = (bufs[3], bufs[4]) if stage.per_channel else (None, None)
    y = K.T.decl_buffer((int(np.prod(out_shape)),), K.I8, data=bufs[-1].data)
    return x, w, b, mult, shift, y


def requant_args(stage: RequantStage, mult, shift, c0) -> list:
    """(mult pointer, shift pointer, per_channel, m0, s0) of the MVE helpers: per-channel arrays
    from channel ``c0``, or null pointers and the per-tensor values."""
    if stage.per_channel:
        return [K.T.address_of(mult[c0]), K.T.address_of(shift[c0]), 1, 0, 0]
    return [0, 0, 0, stage.multiplier[0], stage.shift[0]]


def output_args(stage: RequantStage) -> list[int]:
    return [stage.output_zero_point, stage.act_min, stage.act_max]
