"""Serialize a `QuantizedModel` into a `.tflite` flatbuffer with the schema's builder functions.

Layout choices follow the TFLite converter: schema version 3, file identifier "TFL3", buffer
0 is the empty sentinel, every tensor owns a buffer (empty for activations), constant data is
16-byte aligned (targets read int32 biases in place), and operator codes carry both
`builtin_code` and `deprecated_builtin_code`. The output depends only on the model, so the
same model always gives the same bytes.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import flatbuffers
import numpy as np
import tflite

from .quant import QuantParams
from .schema import INT8_OPERATOR_VERSIONS, PLACEHOLDER_FOR_GREATER_OP_CODES, operator_code

if TYPE_CHECKING:  # for annotations only: qmodel imports this module (`QuantizedModel.to_bytes`)
    from .qmodel import QOperator, QTensor, QuantizedModel

SCHEMA_VERSION = 3
_DATA_ALIGNMENT = 16
_TENSOR_TYPES = {"int8": tflite.TensorType.INT8, "int32": tflite.TensorType.INT32,
                 "float32": tflite.TensorType.FLOAT32, "uint8": tflite.TensorType.UINT8,
                 "int16": tflite.TensorType.INT16}


def _fn(name: str):
    """A schema builder function by its full name, e.g. 'TensorAddShape'."""
    return getattr(tflite, name)


def _int_vector(b: flatbuffers.Builder, table: str, field: str, values: list[int], fmt: str = "int32") -> int:
    arr = np.asarray(values, dtype=np.dtype(fmt).newbyteorder("<"))
    if arr.size == 0:
        _fn(f"{table}Start{field}Vector")(b, 0)
        return b.EndVector()
    return b.CreateNumpyVector(arr)


def _aligned_bytes(b: flatbuffers.Builder, data: bytes) -> int:
    b.StartVector(1, len(data), _DATA_ALIGNMENT)
    b.head = b.head - len(data)
    b.Bytes[b.head:b.head + len(data)] = data
    return b.EndVector()


def _quantization(b: flatbuffers.Builder, q: QuantParams) -> int:
    scale = b.CreateNumpyVector(np.asarray(q.scale, dtype="<f4"))
    zero_point = b.CreateNumpyVector(np.asarray(q.zero_point, dtype="<i8"))
    tflite.QuantizationParametersStart(b)
    tflite.QuantizationParametersAddScale(b, scale)
    tflite.QuantizationParametersAddZeroPoint(b, zero_point)
    tflite.QuantizationParametersAddQuantizedDimension(b, q.quantized_dimension)
    return tflite.QuantizationParametersEnd(b)


def _tensor(b: flatbuffers.Builder, t: QTensor, buffer_index: int) -> int:
    name = b.CreateString(t.name)
    shape = _int_vector(b, "Tensor", "Shape", list(t.shape))
    quant = _quantization(b, t.quant) if t.quant is not None else None
    tflite.TensorStart(b)
    tflite.TensorAddShape(b, shape)
    tflite.TensorAddType(b, _TENSOR_TYPES[t.dtype])
    tflite.TensorAddBuffer(b, buffer_index)
    tflite.TensorAddName(b, name)
    if quant is not None:
        tflite.TensorAddQuantization(b, quant)
    return tflite.TensorEnd(b)


def _options(b: flatbuffers.Builder, options_type: str, options: dict[str, Any]) -> int:
    vectors = {k: _int_vector(b, options_type, k, v) for k, v in options.items() if isinstance(v, list)}
    _fn(f"{options_type}Start")(b)
    for key, value in options.items():
        _fn(f"{options_type}Add{key}")(b, vectors.get(key, value))
    return _fn(f"{options_type}End")(b)


def _operator(b: flatbuffers.Builder, op: QOperator, opcode_index: int) -> int:
    inputs = _int_vector(b, "Operator", "Inputs", op.inputs)
    outputs = _int_vector(b, "Operator", "Outputs", op.outputs)
    options = _options(b, op.options_type, op.options) if op.options_type else None
    tflite.OperatorStart(b)
    tflite.OperatorAddOpcodeIndex(b, opcode_index)
    tflite.OperatorAddInputs(b, inputs)
    tflite.OperatorAddOutputs(b, outputs)
    if options is not None:
        tflite.OperatorAddBuiltinOptionsType(b, getattr(tflite.BuiltinOptions, op.options_type))
        tflite.OperatorAddBuiltinOptions(b, options)
    return tflite.OperatorEnd(b)


def _version(op: QOperator) -> int:
    return op.version if op.version is not None else INT8_OPERATOR_VERSIONS.get(op.opcode, 1)


def _operator_code(b: flatbuffers.Builder, name: str, version: int) -> int:
    code = operator_code(name)
    tflite.OperatorCodeStart(b)
    tflite.OperatorCodeAddDeprecatedBuiltinCode(b, min(code, PLACEHOLDER_FOR_GREATER_OP_CODES))
    tflite.OperatorCodeAddBuiltinCode(b, code)
    tflite.OperatorCodeAddVersion(b, version)
    return tflite.OperatorCodeEnd(b)


def _vector_of_tables(b: flatbuffers.Builder, table: str, field: str, offsets: list[int]) -> int:
    _fn(f"{table}Start{field}Vector")(b, len(offsets))
    for off in reversed(offsets):
        b.PrependUOffsetTRelative(off)
    return b.EndVector()


def _buffer(b: flatbuffers.Builder, data: np.ndarray | None) -> int:
    payload = _aligned_bytes(b, np.ascontiguousarray(data).astype(data.dtype.newbyteorder("<")).tobytes()) \
        if data is not None else None
    tflite.BufferStart(b)
    if payload is not None:
        tflite.BufferAddData(b, payload)
    return tflite.BufferEnd(b)


def serialize(model: QuantizedModel) -> bytes:
    """Flatbuffer bytes of `model` (one subgraph, "TFL3")."""
    b = flatbuffers.Builder(1024)
    opcodes: list[tuple[str, int]] = []  # one operator code per (operator, version), first-use order
    for op in model.operators:
        if (op.opcode, _version(op)) not in opcodes:
            opcodes.append((op.opcode, _version(op)))

    # Buffers: 0 = sentinel, then one per tensor in tensor order.
    buffers = [_buffer(b, None)] + [_buffer(b, t.data) for t in model.tensors]
    tensors = [_tensor(b, t, i + 1) for i, t in enumerate(model.tensors)]
    operators = [_operator(b, op, opcodes.index((op.opcode, _version(op)))) for op in model.operators]

    tensors_vec = _vector_of_tables(b, "SubGraph", "Tensors", tensors)
    inputs_vec = _int_vector(b, "SubGraph", "Inputs", model.inputs)
    outputs_vec = _int_vector(b, "SubGraph", "Outputs", model.outputs)
    operators_vec = _vector_of_tables(b, "SubGraph", "Operators", operators)
    subgraph_name = b.CreateString("main")
    tflite.SubGraphStart(b)
    tflite.SubGraphAddTensors(b, tensors_vec)
    tflite.SubGraphAddInputs(b, inputs_vec)
    tflite.SubGraphAddOutputs(b, outputs_vec)
    tflite.SubGraphAddOperators(b, operators_vec)
    tflite.SubGraphAddName(b, subgraph_name)
    subgraph = tflite.SubGraphEnd(b)

    codes_vec = _vector_of_tables(b, "Model", "OperatorCodes", [_operator_code(b, n, v) for n, v in opcodes])
    subgraphs_vec = _vector_of_tables(b, "Model", "Subgraphs", [subgraph])
    buffers_vec = _vector_of_tables(b, "Model", "Buffers", buffers)
    description = b.CreateString(model.description or f"mcuorch model builder: {model.name}")
    tflite.ModelStart(b)
    tflite.ModelAddVersion(b, SCHEMA_VERSION)
    tflite.ModelAddOperatorCodes(b, codes_vec)
    tflite.ModelAddSubgraphs(b, subgraphs_vec)
    tflite.ModelAddDescription(b, description)
    tflite.ModelAddBuffers(b, buffers_vec)
    root = tflite.ModelEnd(b)
    b.Finish(root, file_identifier=b"TFL3")
    return bytes(b.Output())
