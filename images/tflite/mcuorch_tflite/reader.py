"""Parse and validate a `.tflite` file without trusting it.

The flatbuffers Python runtime does no verification: a truncated or corrupt file can make
it read garbage (negative vtable offsets read from the end of the buffer, strings are cut
short silently). Every table and vector visited here is bounds-checked first, so a bad file
becomes one `ModelError` naming the problem instead of a crash or a wrong answer, before
any interpreter (which would trust the file) sees it.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

import numpy as np
import tflite

from .schema import NUMPY_DTYPES, OPERATOR_NAMES, TENSOR_TYPE_NAMES

FILE_IDENTIFIER = b"TFL3"
_MALFORMED = "malformed TFLite flatbuffer (truncated or corrupt)"
SCHEMA_VERSION = 3


class ModelError(ValueError):
    """The file is not a usable TFLite model; the message says why (one line)."""


@dataclass(frozen=True)
class TensorInfo:
    """One tensor of the main subgraph."""

    index: int
    name: str
    shape: tuple[int, ...]
    dtype: str
    data: bytes | None  # constant data, None for activations
    scale: tuple[float, ...]
    zero_point: tuple[int, ...]
    quantized_dimension: int
    is_variable: bool = False  # state kept between invocations (e.g. recurrent ops)

    @property
    def is_constant(self) -> bool:
        return self.data is not None

    @property
    def size(self) -> int:
        return int(np.prod(self.shape, dtype=np.int64))

    @property
    def numpy_dtype(self) -> np.dtype:
        return NUMPY_DTYPES[_TYPE_CODES[self.dtype]]

    @property
    def nbytes(self) -> int:
        return self.size * self.numpy_dtype.itemsize


@dataclass(frozen=True)
class OperatorInfo:
    """One operator of the main subgraph; -1 in `inputs` marks an omitted optional input."""

    index: int
    opcode: str
    version: int
    inputs: tuple[int, ...]
    outputs: tuple[int, ...]


@dataclass(frozen=True)
class ModelInfo:
    """What LOAD needs to know about a model: tensors, operators, inputs and outputs."""

    version: int
    description: str
    num_subgraphs: int
    tensors: tuple[TensorInfo, ...]
    operators: tuple[OperatorInfo, ...]
    inputs: tuple[int, ...]
    outputs: tuple[int, ...]

    def input_tensors(self) -> list[TensorInfo]:
        return [self.tensors[i] for i in self.inputs]

    def output_tensors(self) -> list[TensorInfo]:
        return [self.tensors[i] for i in self.outputs]


_TYPE_CODES = {name: code for code, name in TENSOR_TYPE_NAMES.items()}


class _StrictBytes(bytes):
    """bytes whose slices fail instead of silently stopping at the end (truncated strings)."""

    def __getitem__(self, key):  # type: ignore[override]
        if isinstance(key, slice):
            start, stop, _ = key.indices(len(self))
            if (key.stop is not None and key.stop > len(self)) or (key.start is not None and key.start < 0):
                raise IndexError(f"slice {key.start}:{key.stop} outside {len(self)} bytes")
            return bytes.__getitem__(self, slice(start, stop))
        return bytes.__getitem__(self, key)


class _Checker:
    """Bounds checks on raw flatbuffer positions."""

    def __init__(self, buf: bytes) -> None:
        self.size = len(buf)
        self.buf = buf

    def _u32(self, pos: int) -> int:
        if not 0 <= pos <= self.size - 4:
            raise ModelError(f"{_MALFORMED}: offset {pos} outside the file ({self.size} bytes)")
        return struct.unpack_from("<I", self.buf, pos)[0]

    def table(self, obj: object, what: str) -> None:
        """Check the table behind a generated schema object (its position and its vtable)."""
        pos = obj._tab.Pos  # type: ignore[attr-defined]
        if not 0 <= pos <= self.size - 4:
            raise ModelError(f"{_MALFORMED}: {what} lies outside the file")
        vtable = pos - struct.unpack_from("<i", self.buf, pos)[0]
        if not 0 <= vtable <= self.size - 4:
            raise ModelError(f"{_MALFORMED}: {what} has an invalid vtable offset")
        vt_size, obj_size = struct.unpack_from("<HH", self.buf, vtable)
        if vt_size < 4 or vtable + vt_size > self.size or pos + obj_size > self.size:
            raise ModelError(f"{_MALFORMED}: {what} extends past the end of the file")

    def vector(self, obj: object, field_offset: int, elem_size: int, what: str) -> int:
        """Length of a vector field (0 if absent), after checking it fits in the file."""
        tab = obj._tab  # type: ignore[attr-defined]
        o = tab.Offset(field_offset)
        if o == 0:
            return 0
        start = tab.Vector(o)
        length = self._u32(start - 4)
        if start + length * elem_size > self.size:
            raise ModelError(f"{_MALFORMED}: {what} extends past the end of the file")
        return length


# vtable field offsets (4 + 2 * field id) of the vectors read below, from schema.fbs
_MODEL_OPERATOR_CODES, _MODEL_SUBGRAPHS, _MODEL_BUFFERS = 6, 8, 12
_SUBGRAPH_TENSORS, _SUBGRAPH_INPUTS, _SUBGRAPH_OUTPUTS, _SUBGRAPH_OPERATORS = 4, 6, 8, 10
_TENSOR_SHAPE, _TENSOR_SHAPE_SIGNATURE = 4, 18
_OPERATOR_INPUTS, _OPERATOR_OUTPUTS = 6, 8
_BUFFER_DATA = 4
_QUANT_SCALE, _QUANT_ZERO_POINT = 8, 10


def _name(raw: bytes | None) -> str:
    return raw.decode("utf-8", errors="replace") if raw else ""


def _parse_tensor(chk: _Checker, t: object, index: int, buffers: list[bytes | None]) -> TensorInfo:
    chk.table(t, f"tensor {index}")
    name = _name(t.Name()) or f"tensor_{index}"
    n_shape = chk.vector(t, _TENSOR_SHAPE, 4, f"shape of tensor {name!r}")
    shape = tuple(int(t.Shape(k)) for k in range(n_shape))
    if any(s < 0 for s in shape):
        raise ModelError(f"tensor {name!r} has a negative dimension in shape {list(shape)}")
    # shape_signature may hold -1 (a converter's dynamic batch); `shape` is what runs.
    chk.vector(t, _TENSOR_SHAPE_SIGNATURE, 4, f"shape signature of tensor {name!r}")
    code = t.Type()
    if code not in TENSOR_TYPE_NAMES:
        raise ModelError(f"tensor {name!r} has unknown type code {code}")
    dtype = TENSOR_TYPE_NAMES[code]
    if t.Sparsity() is not None:
        raise ModelError(f"tensor {name!r} is sparse; sparse tensors are not supported")
    buffer_index = t.Buffer()
    if not 0 <= buffer_index < len(buffers):
        raise ModelError(f"tensor {name!r} refers to buffer {buffer_index}, the model has {len(buffers)}")
    data = buffers[buffer_index]
    if data is not None and code in NUMPY_DTYPES:
        expected = int(np.prod(shape, dtype=np.int64)) * NUMPY_DTYPES[code].itemsize
        if len(data) != expected:
            raise ModelError(f"tensor {name!r}: its buffer holds {len(data)} bytes, shape {list(shape)} {dtype} needs {expected}")
    scale: tuple[float, ...] = ()
    zero_point: tuple[int, ...] = ()
    qdim = 0
    q = t.Quantization()
    if q is not None:
        chk.table(q, f"quantization of tensor {name!r}")
        n_scale = chk.vector(q, _QUANT_SCALE, 4, f"scales of tensor {name!r}")
        n_zp = chk.vector(q, _QUANT_ZERO_POINT, 8, f"zero points of tensor {name!r}")
        scale = tuple(float(q.Scale(k)) for k in range(n_scale))
        zero_point = tuple(int(q.ZeroPoint(k)) for k in range(n_zp))
        qdim = int(q.QuantizedDimension())
        if n_scale and n_zp and n_scale != n_zp:
            raise ModelError(f"tensor {name!r} has {n_scale} scales but {n_zp} zero points")
        if n_scale > 1 and (not 0 <= qdim < len(shape) or shape[qdim] != n_scale):
            raise ModelError(f"tensor {name!r} has {n_scale} per-axis scales that do not match dimension {qdim} of {list(shape)}")
        if n_scale and n_zp == 0:
            zero_point = (0,) * n_scale
    return TensorInfo(index, name, shape, dtype, data, scale, zero_point, qdim, bool(t.IsVariable()))


def _parse_buffers(chk: _Checker, model: object) -> list[bytes | None]:
    n = chk.vector(model, _MODEL_BUFFERS, 4, "buffer table")
    buffers: list[bytes | None] = []
    for k in range(n):
        buf = model.Buffers(k)
        chk.table(buf, f"buffer {k}")
        if buf.Offset() > 1:
            raise ModelError(f"buffer {k} stores its data outside the flatbuffer (models > 2 GB are not supported)")
        size = chk.vector(buf, _BUFFER_DATA, 1, f"data of buffer {k}")
        buffers.append(buf.DataAsNumpy().tobytes() if size else None)
    return buffers


def _parse_opcodes(chk: _Checker, model: object) -> list[tuple[str, int]]:
    n = chk.vector(model, _MODEL_OPERATOR_CODES, 4, "operator code table")
    codes = []
    for k in range(n):
        oc = model.OperatorCodes(k)
        chk.table(oc, f"operator code {k}")
        code = max(int(oc.BuiltinCode()), int(oc.DeprecatedBuiltinCode()))
        if code == tflite.BuiltinOperator.CUSTOM:
            custom = _name(oc.CustomCode()) or "?"
            raise ModelError(f"unsupported custom operator {custom!r}")
        if code not in OPERATOR_NAMES:
            raise ModelError(f"unknown builtin operator code {code}")
        codes.append((OPERATOR_NAMES[code], int(oc.Version())))
    return codes


def _index_list(chk: _Checker, obj: object, field: int, getter, what: str, count: int,
                optional: bool = False) -> tuple[int, ...]:
    n = chk.vector(obj, field, 4, what)
    values = tuple(int(getter(k)) for k in range(n))
    for v in values:
        if not (0 <= v < count or (optional and v == -1)):
            raise ModelError(f"{what} refers to tensor {v}, the subgraph has {count}")
    return values


def _parse(buf: bytes) -> ModelInfo:
    chk = _Checker(buf)
    model = tflite.Model.GetRootAsModel(buf, 0)
    chk.table(model, "model table")
    version = int(model.Version())
    if version != SCHEMA_VERSION:
        raise ModelError(f"unsupported TFLite schema version {version} (expected {SCHEMA_VERSION})")
    description = _name(model.Description())
    buffers = _parse_buffers(chk, model)
    opcodes = _parse_opcodes(chk, model)
    n_sub = chk.vector(model, _MODEL_SUBGRAPHS, 4, "subgraph table")
    if n_sub == 0:
        raise ModelError("model has no subgraphs")
    for s in range(n_sub):
        chk.table(model.Subgraphs(s), f"subgraph {s}")
    sg = model.Subgraphs(0)
    n_tensors = chk.vector(sg, _SUBGRAPH_TENSORS, 4, "tensor table")
    tensors = tuple(_parse_tensor(chk, sg.Tensors(k), k, buffers) for k in range(n_tensors))
    inputs = _index_list(chk, sg, _SUBGRAPH_INPUTS, sg.Inputs, "subgraph inputs", n_tensors)
    outputs = _index_list(chk, sg, _SUBGRAPH_OUTPUTS, sg.Outputs, "subgraph outputs", n_tensors)
    n_ops = chk.vector(sg, _SUBGRAPH_OPERATORS, 4, "operator table")
    operators = []
    for k in range(n_ops):
        op = sg.Operators(k)
        chk.table(op, f"operator {k}")
        idx = int(op.OpcodeIndex())
        if not 0 <= idx < len(opcodes):
            raise ModelError(f"operator {k} refers to operator code {idx}, the model has {len(opcodes)}")
        name, op_version = opcodes[idx]
        ins = _index_list(chk, op, _OPERATOR_INPUTS, op.Inputs, f"operator {k} ({name}) inputs", n_tensors, True)
        outs = _index_list(chk, op, _OPERATOR_OUTPUTS, op.Outputs, f"operator {k} ({name}) outputs", n_tensors)
        operators.append(OperatorInfo(k, name, op_version, ins, outs))
    return ModelInfo(version, description, n_sub, tensors, tuple(operators), inputs, outputs)


def parse_model(data: bytes) -> ModelInfo:
    """Parse and validate TFLite flatbuffer bytes; raises ModelError with a one-line reason."""
    if len(data) == 0:
        raise ModelError("the file is empty")
    if len(data) < 8 or data[4:8] != FILE_IDENTIFIER:
        raise ModelError("not a TFLite model (no 'TFL3' file identifier)")
    try:
        info = _parse(_StrictBytes(data))
    except ModelError:
        raise
    except Exception as exc:  # noqa: BLE001 - the flatbuffers runtime raises many kinds on garbage
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ModelError(f"{_MALFORMED}: {reason}") from None
    _check_graph(info)
    return info


def _check_graph(info: ModelInfo) -> None:
    if not info.operators:
        raise ModelError("the main subgraph has no operators")
    if not info.inputs or not info.outputs:
        raise ModelError("the main subgraph declares no inputs or no outputs")
    for role, indices in (("input", info.inputs), ("output", info.outputs)):
        for i in indices:
            t = info.tensors[i]
            if role == "input" and t.is_constant:
                raise ModelError(f"model input {t.name!r} is a constant tensor")
            if t.dtype not in IO_DTYPES:
                raise ModelError(f"model {role} {t.name!r} has type {t.dtype}; supported: {', '.join(IO_DTYPES)}")
            if len(t.scale) > 1:
                raise ModelError(f"model {role} {t.name!r} is quantized per axis; only per-tensor I/O is supported")
    produced = set(info.inputs) | {o for op in info.operators for o in op.outputs}
    for op in info.operators:
        for i in op.inputs:
            t = info.tensors[i] if i >= 0 else None
            if t is not None and i not in produced and not t.is_constant and not t.is_variable:
                raise ModelError(f"operator {op.index} ({op.opcode}) reads tensor {info.tensors[i].name!r},"
                                 " which is neither an input, a constant nor computed")


#: Types a model input or output may have (those the target harness can hold).
IO_DTYPES = ("int8", "uint8", "int16", "int32", "float32")


def require_int8(info: ModelInfo) -> None:
    """Reject models that are not fully int8-quantized (inputs, outputs and activations)."""
    for op in info.operators:
        for i in op.inputs + op.outputs:
            if i < 0:
                continue
            t = info.tensors[i]
            if not t.is_constant and t.dtype != "int8":
                raise ModelError(f"not a full-int8 model: tensor {t.name!r} is {t.dtype}")
            if t.is_constant and t.dtype.startswith("float"):
                raise ModelError(f"not a full-int8 model: constant {t.name!r} is {t.dtype}")
