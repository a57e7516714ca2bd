"""Operator histogram, parameter count and MAC count of a parsed model.

Conventions (stated so the numbers can be compared with other tools):

* MACs are the multiply-accumulates of the operators that do them: CONV_2D
  (output elements x KH*KW*Cin), DEPTHWISE_CONV_2D (output elements x KH*KW),
  FULLY_CONNECTED (output elements x input features), TRANSPOSE_CONV (input elements x
  KH*KW*Cout) and BATCH_MATMUL (output elements x the contracted size). Elementwise,
  pooling and reshaping operators count 0, as in the MLPerf Tiny tables.
* Params are the elements of constant tensors, each counted once: weights of any numeric
  type plus the int32 biases of CONV_2D / DEPTHWISE_CONV_2D / FULLY_CONNECTED /
  TRANSPOSE_CONV. Other integer constants (shapes, axes, paddings, indices) are not
  parameters.
* Only the main subgraph (0) is analysed.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

import numpy as np

from .reader import ModelInfo, OperatorInfo, TensorInfo

_BIAS_POSITIONS = {"CONV_2D": 2, "DEPTHWISE_CONV_2D": 2, "FULLY_CONNECTED": 2, "TRANSPOSE_CONV": 3}
_INDEX_TYPES = ("int32", "int64", "uint32", "uint64", "bool", "string")


@dataclass(frozen=True)
class LayerStats:
    """MACs and parameters of one operator."""

    index: int
    op: str
    macs: int
    params: int
    output_shape: tuple[int, ...]


def _prod(shape: tuple[int, ...]) -> int:
    return int(np.prod(shape, dtype=np.int64)) if shape else 1


def operator_macs(info: ModelInfo, op: OperatorInfo) -> int:
    """Multiply-accumulates of one operator (0 for operators without any)."""
    def tensor(pos: int) -> TensorInfo | None:
        return info.tensors[op.inputs[pos]] if pos < len(op.inputs) and op.inputs[pos] >= 0 else None

    out = info.tensors[op.outputs[0]] if op.outputs else None
    if out is None:
        return 0
    if op.opcode == "CONV_2D" and (w := tensor(1)) is not None and len(w.shape) == 4:
        return _prod(out.shape) * w.shape[1] * w.shape[2] * w.shape[3]
    if op.opcode == "DEPTHWISE_CONV_2D" and (w := tensor(1)) is not None and len(w.shape) == 4:
        return _prod(out.shape) * w.shape[1] * w.shape[2]
    if op.opcode == "FULLY_CONNECTED" and (w := tensor(1)) is not None and len(w.shape) == 2:
        return _prod(out.shape) * w.shape[1]
    if op.opcode == "TRANSPOSE_CONV" and (w := tensor(1)) is not None and (x := tensor(2)) is not None \
            and len(w.shape) == 4:
        return _prod(x.shape) * w.shape[0] * w.shape[1] * w.shape[2]
    if op.opcode == "BATCH_MATMUL" and (a := tensor(0)) is not None and a.shape:
        return _prod(out.shape) * a.shape[-1]
    return 0


def _is_parameter(op: OperatorInfo, pos: int, t: TensorInfo) -> bool:
    if not t.is_constant:
        return False
    if t.dtype in _INDEX_TYPES:
        return _BIAS_POSITIONS.get(op.opcode) == pos and t.dtype == "int32"
    return True


def layer_stats(info: ModelInfo) -> list[LayerStats]:
    """Per-operator MACs and parameters (a constant shared by operators counts at its first user)."""
    seen: set[int] = set()
    stats = []
    for op in info.operators:
        params = 0
        for pos, idx in enumerate(op.inputs):
            if idx < 0 or idx in seen:
                continue
            t = info.tensors[idx]
            if _is_parameter(op, pos, t):
                seen.add(idx)
                params += t.size
        shape = info.tensors[op.outputs[0]].shape if op.outputs else ()
        stats.append(LayerStats(op.index, op.opcode, operator_macs(info, op), params, shape))
    return stats


def op_histogram(info: ModelInfo) -> dict[str, int]:
    """Operator name -> count, in order of first appearance."""
    return dict(Counter(op.opcode for op in info.operators))
