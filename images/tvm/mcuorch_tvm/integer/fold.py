"""Shape arithmetic computed at build time.

The TFLite converter keeps a dynamic batch dimension (``shape_signature`` -1) when a Keras
model's input has none, and some layers then compute a shape at run time: Keras 3's
``Flatten`` becomes ``SHAPE -> STRIDED_SLICE -> PACK -> RESHAPE`` on int32 tensors. The
flatbuffer stores every tensor's static shape (batch 1), which is the shape TFLite-Micro runs
and the shape this backend compiles for, so such a chain has one value: ``SHAPE`` of a tensor
is its stored shape, and an operator whose inputs are all constant int32/int64 tensors is
evaluated here with numpy. Its outputs become constant tensors; no kernel is emitted (RESHAPE
itself is a view that uses the stored output shape). The arithmetic is integer and exact.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from ..errors import UnsupportedOperator
from .model import ModelDesc, OpDesc

SHAPE_TYPES = ("int32", "int64")


def _strided_slice(op: OpDesc, values: Sequence[np.ndarray]) -> list[np.ndarray]:
    from .lower_ops import _strided_bounds

    x, begin, end, strides = (np.asarray(v) for v in values[:4])
    o = op.options
    if o.get("ellipsis_mask") or o.get("new_axis_mask"):
        raise UnsupportedOperator(op.name, "ellipsis/new-axis masks")
    begin, end, strides = (list(map(int, a.reshape(-1))) for a in (begin, end, strides))
    if not len(begin) == len(end) == len(strides) == x.ndim or 0 in strides:
        raise UnsupportedOperator(op.name, "begin, end and strides need one non-zero value per dimension")
    shrunk = []
    for d in range(x.ndim):
        stop = begin[d] + end[d] if o.get("offset") else end[d]
        shrink = bool(o["shrink_axis_mask"] >> d & 1)
        start, count = _strided_bounds(begin[d], stop, strides[d], x.shape[d], bool(o["begin_mask"] >> d & 1),
                                       bool(o["end_mask"] >> d & 1), shrink)
        if shrink:
            if not 0 <= start < x.shape[d]:
                raise UnsupportedOperator(op.name, f"index {begin[d]} out of range for dimension {x.shape[d]}")
            shrunk.append(d)
        x = np.take(x, [start + k * strides[d] for k in range(count)], axis=d)
    return [x.reshape([n for d, n in enumerate(x.shape) if d not in shrunk])]


def _activation_none(op: OpDesc) -> None:
    if op.options.get("activation", "NONE") != "NONE":
        raise UnsupportedOperator(op.name, "fused activation on shape values")


def _binary(function: Callable[[np.ndarray, np.ndarray], np.ndarray]):
    def fold(op: OpDesc, values: Sequence[np.ndarray]) -> list[np.ndarray]:
        _activation_none(op)
        return [function(np.asarray(values[0]), np.asarray(values[1]))]
    return fold


def _concatenation(op: OpDesc, values: Sequence[np.ndarray]) -> list[np.ndarray]:
    _activation_none(op)
    return [np.concatenate([np.asarray(v) for v in values], axis=op.options.get("axis", 0))]


FOLDINGS: dict[str, Callable[[OpDesc, Sequence[np.ndarray]], list[np.ndarray]]] = {
    "STRIDED_SLICE": _strided_slice,
    "PACK": lambda op, values: [np.stack([np.asarray(v) for v in values], axis=op.options.get("axis", 0))],
    "CONCATENATION": _concatenation,
    "ADD": _binary(np.add),
    "SUB": _binary(np.subtract),
    "MUL": _binary(np.multiply),
}
"""Operators folded when every input is constant and every output is an int32/int64 tensor.
RESHAPE, SQUEEZE and EXPAND_DIMS of constants are folded too (to the stored output shape)."""

_RESHAPES = ("RESHAPE", "SQUEEZE", "EXPAND_DIMS")


def fold_constant(desc: ModelDesc, op: OpDesc) -> bool:
    """Compute ``op`` at build time if it is shape arithmetic: set its output tensors' ``data``
    and return True; False leaves it to a kernel lowering."""
    outputs = [desc.tensor(o) for o in op.outputs]
    if not outputs or any(t.dtype not in SHAPE_TYPES for t in outputs):
        return False
    if op.name == "SHAPE":
        results = [np.array(desc.tensor(op.inputs[0]).shape, dtype=np.int64)]
    else:
        inputs = [i for i in op.inputs if i >= 0]
        if any(desc.tensor(i).data is None for i in inputs):
            return False
        values = [desc.tensor(i).data for i in inputs]
        if op.name in _RESHAPES:
            results = [np.asarray(values[0]).reshape(outputs[0].shape)]
        elif op.name in FOLDINGS:
            results = FOLDINGS[op.name](op, values)
        else:
            return False
    for tensor, value in zip(outputs, results, strict=True):
        value = np.asarray(value)
        if value.shape != tensor.shape:
            raise UnsupportedOperator(op.name, f"computes shape {list(value.shape)}, the model stores "
                                      f"{list(tensor.shape)} for '{tensor.name}'")
        if np.iinfo(tensor.dtype).min > value.min(initial=0) or value.max(initial=0) > np.iinfo(tensor.dtype).max:
            raise UnsupportedOperator(op.name, f"value out of {tensor.dtype} range")
        tensor.data = value.astype(tensor.dtype)
    if any(o in desc.outputs for o in op.outputs):
        raise UnsupportedOperator(op.name, "a graph output computed from shapes only")
    return True
