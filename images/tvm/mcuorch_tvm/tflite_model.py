"""Read what the backend needs from a ``.tflite`` flatbuffer (no TVM involved).

The operator list decides early, with a clear message, whether this backend can compile the
model at all; the graph inputs/outputs fix the order and types of the C API.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import tflite
from tflite.BuiltinOperator import BuiltinOperator
from tflite.TensorType import TensorType

from .errors import UserError

OP_NAMES = {v: k for k, v in vars(BuiltinOperator).items() if not k.startswith("_")}
TYPE_NAMES = {
    TensorType.INT8: "int8",
    TensorType.UINT8: "uint8",
    TensorType.INT16: "int16",
    TensorType.INT32: "int32",
    TensorType.INT64: "int64",
    TensorType.FLOAT32: "float32",
    TensorType.FLOAT16: "float16",
    TensorType.BOOL: "bool",
}


@dataclass(frozen=True)
class TensorInfo:
    """A graph input or output as the C API exposes it."""

    name: str
    shape: tuple[int, ...]
    dtype: str
    scale: float | None
    zero_point: int | None

    @property
    def nbytes(self) -> int:
        return int(np.prod(self.shape, dtype=np.int64)) * np.dtype(self.dtype).itemsize


@dataclass(frozen=True)
class ModelInfo:
    """Operators (in graph order) and graph inputs/outputs of subgraph 0."""

    ops: tuple[str, ...]
    inputs: tuple[TensorInfo, ...]
    outputs: tuple[TensorInfo, ...]
    tensor_dtypes: tuple[str, ...]


def load_model(buf: bytes) -> tflite.Model:
    """Parse the flatbuffer; a file that is not a TFLite model is a user error."""
    if len(buf) < 8 or buf[4:8] != b"TFL3":
        raise UserError("not a TFLite flatbuffer (missing 'TFL3' identifier)")
    try:
        model = tflite.Model.GetRootAsModel(buf, 0)
        if model.SubgraphsLength() < 1:
            raise UserError("TFLite model has no subgraph")
        describe(model)  # touches every operator and tensor: garbage fails here, not in TVM
        subgraph = model.Subgraphs(0)
        for i in range(subgraph.TensorsLength()):
            buffer = model.Buffers(subgraph.Tensors(i).Buffer())
            if buffer is not None and buffer.DataLength():
                buffer.DataAsNumpy()
    except UserError:
        raise
    except Exception as err:  # the flatbuffer reader raises assorted errors on garbage
        detail = str(err).splitlines()[0] if str(err) else type(err).__name__
        raise UserError(f"corrupt TFLite flatbuffer ({detail})") from err
    return model


def op_name(model: tflite.Model, op) -> str:
    """Builtin operator name, reading both the int8 and the int32 opcode fields."""
    code = model.OperatorCodes(op.OpcodeIndex())
    value = max(code.DeprecatedBuiltinCode(), code.BuiltinCode())
    name = OP_NAMES.get(value, f"BUILTIN_{value}")
    if name == "CUSTOM":
        custom = code.CustomCode()
        return f"CUSTOM({custom.decode() if custom else '?'})"
    return name


def _tensor_info(subgraph, index: int) -> TensorInfo:
    tensor = subgraph.Tensors(index)
    quant = tensor.Quantization()
    scale = zero_point = None
    if quant is not None and quant.ScaleLength() == 1:
        scale = float(quant.Scale(0))
        zero_point = int(quant.ZeroPoint(0))
    name = tensor.Name().decode() if tensor.Name() else f"tensor{index}"
    return TensorInfo(
        name=name,
        shape=tuple(int(d) for d in tensor.ShapeAsNumpy()) if tensor.ShapeLength() else (),
        dtype=TYPE_NAMES.get(tensor.Type(), f"type{tensor.Type()}"),
        scale=scale,
        zero_point=zero_point,
    )


def describe(model: tflite.Model) -> ModelInfo:
    """Summarise subgraph 0 of a parsed model."""
    subgraph = model.Subgraphs(0)
    ops = tuple(op_name(model, subgraph.Operators(i)) for i in range(subgraph.OperatorsLength()))
    inputs = tuple(_tensor_info(subgraph, int(i)) for i in subgraph.InputsAsNumpy())
    outputs = tuple(_tensor_info(subgraph, int(i)) for i in subgraph.OutputsAsNumpy())
    dtypes = tuple(
        TYPE_NAMES.get(subgraph.Tensors(i).Type(), "other") for i in range(subgraph.TensorsLength())
    )
    return ModelInfo(ops=ops, inputs=inputs, outputs=outputs, tensor_dtypes=dtypes)
