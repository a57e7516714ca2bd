"""Read the operators of an int8 ``.tflite`` graph with everything integer lowering needs.

Unlike Relax's frontend this keeps TFLite's own view: tensor quantization as stored (float32
scales, int zero points, per-channel axis), constant buffers as numpy arrays, and the builtin
options of each operator as a small dict. Only subgraph 0 is read.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import tflite
from tflite.BuiltinOptions import BuiltinOptions
from tflite.Padding import Padding
from tflite.TensorType import TensorType

from ..errors import UnsupportedOperator, UserError
from ..tflite_model import OP_NAMES, TYPE_NAMES

# Constant buffers of these types are read into numpy arrays; float16 is left unnamed and unread.
_DTYPES = {code: name for code, name in TYPE_NAMES.items() if code != TensorType.FLOAT16}
_ACTIVATIONS = {0: "NONE", 1: "RELU", 2: "RELU_N1_TO_1", 3: "RELU6"}


@dataclass(frozen=True)
class Quantization:
    """Quantization of one tensor exactly as stored in the flatbuffer (scales are float32)."""

    scale: tuple[float, ...]
    zero_point: tuple[int, ...]
    axis: int = 0

    @property
    def per_tensor(self) -> bool:
        return len(self.scale) == 1


@dataclass
class TensorDesc:
    """One tensor of subgraph 0; ``data`` holds the contents of constant tensors."""

    index: int
    name: str
    shape: tuple[int, ...]
    dtype: str
    quant: Quantization | None
    data: np.ndarray | None = None

    @property
    def size(self) -> int:
        return int(np.prod(self.shape, dtype=np.int64))


@dataclass
class OpDesc:
    """One operator: builtin name, tensor indices (-1 = absent optional input), options."""

    index: int
    name: str
    inputs: list[int]
    outputs: list[int]
    options: dict[str, Any] = field(default_factory=dict)


@dataclass
class ModelDesc:
    """Tensors and operators of subgraph 0 in graph order."""

    tensors: list[TensorDesc]
    ops: list[OpDesc]
    inputs: list[int]
    outputs: list[int]

    def tensor(self, index: int) -> TensorDesc:
        return self.tensors[index]


def _quantization(tensor) -> Quantization | None:
    q = tensor.Quantization()
    if q is None or q.ScaleLength() == 0:
        return None
    scale = tuple(float(s) for s in q.ScaleAsNumpy())
    zp = tuple(int(z) for z in q.ZeroPointAsNumpy()) if q.ZeroPointLength() else (0,) * len(scale)
    if len(zp) == 1 and len(scale) > 1:
        zp = zp * len(scale)
    return Quantization(scale, zp, int(q.QuantizedDimension()))


def _buffer(model: tflite.Model, tensor, dtype: str, shape: tuple[int, ...]) -> np.ndarray | None:
    buf = model.Buffers(tensor.Buffer())
    if buf is None or buf.DataLength() == 0:
        if buf is not None and buf.Offset() > 1:
            raise UnsupportedOperator("NONE", "model stores buffers outside the flatbuffer (>2 GB layout)")
        return None
    raw = buf.DataAsNumpy().tobytes()
    return np.frombuffer(raw, dtype=np.dtype(dtype).newbyteorder("<")).astype(dtype).reshape(shape)


def _options(op, name: str) -> dict[str, Any]:
    """The builtin options this package uses, by operator."""
    table = op.BuiltinOptions()
    kind = op.BuiltinOptionsType()

    def load(cls):
        obj = cls()
        if table is not None:
            obj.Init(table.Bytes, table.Pos)
        return obj

    def act(code: int) -> str:
        if code not in _ACTIVATIONS:
            raise UnsupportedOperator(name, f"fused activation code {code}")
        return _ACTIVATIONS[code]

    if name == "CONV_2D" and kind == BuiltinOptions.Conv2DOptions:
        o = load(tflite.Conv2DOptions)
        return {"padding": "SAME" if o.Padding() == Padding.SAME else "VALID",
                "stride": (o.StrideH(), o.StrideW()),
                "dilation": (o.DilationHFactor(), o.DilationWFactor()),
                "activation": act(o.FusedActivationFunction())}
    if name == "DEPTHWISE_CONV_2D" and kind == BuiltinOptions.DepthwiseConv2DOptions:
        o = load(tflite.DepthwiseConv2DOptions)
        return {"padding": "SAME" if o.Padding() == Padding.SAME else "VALID",
                "stride": (o.StrideH(), o.StrideW()),
                "dilation": (o.DilationHFactor(), o.DilationWFactor()),
                "depth_multiplier": o.DepthMultiplier(),
                "activation": act(o.FusedActivationFunction())}
    if name == "FULLY_CONNECTED":
        if kind != BuiltinOptions.FullyConnectedOptions:
            return {"activation": "NONE", "keep_num_dims": False, "weights_format": 0}
        o = load(tflite.FullyConnectedOptions)
        return {"activation": act(o.FusedActivationFunction()),
                "keep_num_dims": bool(o.KeepNumDims()),
                "weights_format": int(o.WeightsFormat())}
    if name in ("AVERAGE_POOL_2D", "MAX_POOL_2D") and kind == BuiltinOptions.Pool2DOptions:
        o = load(tflite.Pool2DOptions)
        return {"padding": "SAME" if o.Padding() == Padding.SAME else "VALID",
                "stride": (o.StrideH(), o.StrideW()),
                "filter": (o.FilterHeight(), o.FilterWidth()),
                "activation": act(o.FusedActivationFunction())}
    if name == "ADD":
        if kind != BuiltinOptions.AddOptions:
            return {"activation": "NONE"}
        o = load(tflite.AddOptions)
        return {"activation": act(o.FusedActivationFunction())}
    if name == "SOFTMAX":
        beta = load(tflite.SoftmaxOptions).Beta() if kind == BuiltinOptions.SoftmaxOptions else 1.0
        return {"beta": float(beta)}
    if name == "MEAN":
        keep = bool(load(tflite.ReducerOptions).KeepDims()) if kind == BuiltinOptions.ReducerOptions else False
        return {"keep_dims": keep}
    return _more_options(name, kind, load, act)


def _more_options(name: str, kind: int, load, act) -> dict[str, Any]:
    """Options of the elementwise and shape operators (``lower_ops``)."""
    simple = {"MUL": ("MulOptions", tflite.MulOptions), "SUB": ("SubOptions", tflite.SubOptions)}
    if name in simple:
        options_name, cls = simple[name]
        if kind != getattr(BuiltinOptions, options_name):
            return {"activation": "NONE"}
        return {"activation": act(load(cls).FusedActivationFunction())}
    if name == "LEAKY_RELU":
        alpha = load(tflite.LeakyReluOptions).Alpha() if kind == BuiltinOptions.LeakyReluOptions else 0.0
        return {"alpha": float(alpha)}
    if name == "CONCATENATION":
        o = load(tflite.ConcatenationOptions)
        return {"axis": int(o.Axis()), "activation": act(o.FusedActivationFunction())}
    if name == "SQUEEZE":
        o = load(tflite.SqueezeOptions)
        return {"dims": [int(d) for d in o.SqueezeDimsAsNumpy()] if o.SqueezeDimsLength() else []}
    if name == "STRIDED_SLICE":
        o = load(tflite.StridedSliceOptions)
        return {"begin_mask": o.BeginMask(), "end_mask": o.EndMask(), "ellipsis_mask": o.EllipsisMask(),
                "new_axis_mask": o.NewAxisMask(), "shrink_axis_mask": o.ShrinkAxisMask(),
                "offset": bool(o.Offset())}
    if name in ("PACK", "UNPACK"):
        o = load(tflite.PackOptions if name == "PACK" else tflite.UnpackOptions)
        return {"axis": int(o.Axis())}
    if name == "TRANSPOSE_CONV":
        o = load(tflite.TransposeConvOptions)
        return {"padding": "SAME" if o.Padding() == Padding.SAME else "VALID",
                "stride": (o.StrideH(), o.StrideW()), "activation": act(o.FusedActivationFunction())}
    if name == "RESIZE_NEAREST_NEIGHBOR":
        o = load(tflite.ResizeNearestNeighborOptions)
        return {"align_corners": bool(o.AlignCorners()), "half_pixel_centers": bool(o.HalfPixelCenters())}
    return {}


def read_model(buf: bytes) -> ModelDesc:
    """Parse subgraph 0 of a ``.tflite`` flatbuffer."""
    if len(buf) < 8 or buf[4:8] != b"TFL3":
        raise UserError("not a TFLite flatbuffer (missing 'TFL3' identifier)")
    model = tflite.Model.GetRootAsModel(buf, 0)
    if model.SubgraphsLength() < 1:
        raise UserError("TFLite model has no subgraph")
    graph = model.Subgraphs(0)
    tensors = []
    for i in range(graph.TensorsLength()):
        t = graph.Tensors(i)
        dtype = _DTYPES.get(t.Type(), f"type{t.Type()}")
        shape = tuple(int(d) for d in t.ShapeAsNumpy()) if t.ShapeLength() else ()
        data = _buffer(model, t, dtype, shape) if dtype in _DTYPES.values() else None
        name = t.Name().decode() if t.Name() else f"tensor{i}"
        tensors.append(TensorDesc(i, name, shape, dtype, _quantization(t), data))
    ops = []
    for i in range(graph.OperatorsLength()):
        op = graph.Operators(i)
        code = model.OperatorCodes(op.OpcodeIndex())
        name = OP_NAMES.get(max(code.BuiltinCode(), code.DeprecatedBuiltinCode()), "UNKNOWN")
        inputs = [int(x) for x in op.InputsAsNumpy()] if op.InputsLength() else []
        outputs = [int(x) for x in op.OutputsAsNumpy()] if op.OutputsLength() else []
        ops.append(OpDesc(i, name, inputs, outputs, _options(op, name)))
    return ModelDesc(tensors, ops, [int(x) for x in graph.InputsAsNumpy()],
                     [int(x) for x in graph.OutputsAsNumpy()])
