"""Data-movement kernels: every output element is one input element (TRANSPOSE, SLICE,
STRIDED_SLICE, SPLIT, UNPACK, RESIZE_NEAREST_NEIGHBOR) or one element of one of several
inputs (CONCATENATION, PACK). TFLite-Micro copies raw values in all of them, so these
kernels are exact for any element type.

A gather is described per output dimension by the input offsets its index selects
(``offsets[d][v]``, in elements); arithmetic progressions become ``v * step + base`` and
anything else (nearest-neighbour resizing) a constant int32 table.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .. import tir as K
from .common import Kernel
from .elementwise import _loop_nest, _strides


def _progression(values: np.ndarray) -> tuple[int, int] | None:
    """``(base, step)`` when ``values`` is an arithmetic progression."""
    if values.size == 1:
        return int(values[0]), 0
    steps = np.diff(values)
    return (int(values[0]), int(steps[0])) if np.all(steps == steps[0]) else None


def gather_kernel(name: str, in_shape, out_shape, offsets: Sequence[np.ndarray], dtype: str = K.I8,
                  note: str = "gather") -> Kernel:
    """``y[v0, .., vn] = x[sum_d offsets[d][v_d]]`` (flat input index); ``out_shape`` is the
    shape the loops walk (it may keep dimensions of size 1 the output tensor drops)."""
    if len(offsets) != len(out_shape) or any(len(o) != n for o, n in zip(offsets, out_shape)):
        raise ValueError("one offset per output index is needed")
    affine = [_progression(np.asarray(o, dtype=np.int64)) for o in offsets]
    tables = [np.asarray(o, dtype=np.int32) for o, a in zip(offsets, affine) if a is None]
    constants = [np.concatenate(tables)] if tables else []
    params = [("x", (int(np.prod(in_shape)),), dtype)]
    if constants:
        params.append(("index", constants[0].shape, K.I32))
    params.append(("y", (int(np.prod(out_shape)),), dtype))
    out_strides = _strides(tuple(out_shape))
    with K.prim_func(name, params) as (ib, bufs):
        x = K.T.decl_buffer((int(np.prod(in_shape)),), dtype, data=bufs[0].data)
        y = K.T.decl_buffer((int(np.prod(out_shape)),), dtype, data=bufs[-1].data)
        index = bufs[1] if constants else None

        def element(loops: list) -> None:
            source = K.c32(0)
            table_base = 0
            for v, a, o in zip(loops, affine, offsets):
                if a is None:
                    source = source + index[v + K.c32(table_base)]
                    table_base += len(o)
                else:
                    base, step = a
                    source = source + v * K.c32(step) + K.c32(base)
            target = sum((v * K.c32(s) for v, s in zip(loops, out_strides)), K.c32(0))
            K.store(y, x[source], [target])

        _loop_nest(out_shape, element)
    return Kernel(K.finish(ib), constants, macs=0, note=note)


def slice_offsets(in_shape, begin: Sequence[int], stride: Sequence[int], out_shape) -> list[np.ndarray]:
    """Offsets of a strided window: output index ``v`` of dimension ``d`` reads
    ``begin[d] + v * stride[d]``."""
    strides = _strides(tuple(in_shape))
    return [(b + np.arange(n) * s) * st for b, s, n, st in zip(begin, stride, out_shape, strides)]


def concat_kernel(name: str, in_shapes: Sequence[Sequence[int]], out_shape, axis: int, dtype: str = K.I8,
                  note: str = "concat") -> Kernel:
    """Inputs (same rank as the output) placed one after another along ``axis`` (PACK: each
    input with a dimension of size 1 inserted at ``axis``)."""
    params = [(f"x{i}", (int(np.prod(s)),), dtype) for i, s in enumerate(in_shapes)]
    params.append(("y", (int(np.prod(out_shape)),), dtype))
    out_strides = _strides(tuple(out_shape))
    with K.prim_func(name, params) as (ib, bufs):
        y = K.T.decl_buffer((int(np.prod(out_shape)),), dtype, data=bufs[-1].data)
        start = 0
        for buf, shape in zip(bufs[:-1], in_shapes):
            x = K.T.decl_buffer((int(np.prod(shape)),), dtype, data=buf.data)
            # Everything after ``axis`` is one contiguous run in both tensors.
            outer = int(np.prod(shape[:axis]))
            run = int(np.prod(shape[axis:]))
            out_run = int(np.prod(out_shape[axis:]))
            offset = start * out_strides[axis]

            def copy(loops, x=x, run=run, out_run=out_run, offset=offset) -> None:
                o, i = loops
                K.store(y, x[o * K.c32(run) + i], [o * K.c32(out_run) + K.c32(offset) + i])

            _loop_nest((outer, run), copy)
            start += int(shape[axis])
    return Kernel(K.finish(ib), [], macs=0, note=note)


def nearest_neighbor_index(out_index: int, in_size: int, out_size: int, align_corners: bool,
                           half_pixel_centers: bool) -> int:
    """TFLite's ``GetNearestNeighbor`` with its float32 arithmetic."""
    f32 = np.float32
    if align_corners and out_size > 1:
        scale = f32(in_size - 1) / f32(out_size - 1)
    else:
        scale = f32(in_size) / f32(out_size)
    offset = f32(0.5) if half_pixel_centers else f32(0.0)
    value = (f32(out_index) + offset) * scale
    if align_corners:
        a = abs(float(value))
        r = np.floor(a) + (1 if a - np.floor(a) >= 0.5 else 0)
        chosen = int(r if value >= 0 else -r)
    else:
        chosen = int(np.floor(float(value)))
    chosen = min(chosen, in_size - 1)
    return max(0, chosen) if half_pixel_centers else chosen
