"""Describe a small network in float, calibrate it, and get a full-int8 `.tflite` model.

The converter's job without TensorFlow: a graph is written in float with the operators
micro models use (CONV_2D, DEPTHWISE_CONV_2D, FULLY_CONNECTED, AVERAGE_POOL_2D,
MAX_POOL_2D, ADD, SOFTMAX, RESHAPE, PAD, MEAN, fused RELU/RELU6), activation ranges are
calibrated with numpy on representative data, and the graph is quantized the way the
TFLite converter's full-integer mode does it (see `mcuorch_tflite.quant`): int8 inputs and
outputs, per-channel symmetric conv/depthwise weights, per-tensor FC weights, int32 biases,
softmax output scale 1/256 and zero point -128, pooling/reshape/pad outputs sharing their
input's parameters.

Layouts are TFLite's: activations NHWC with batch 1, conv filters OHWI, depthwise filters
1HW(C*M), fully-connected weights OI. Every method checks shapes when it is called and
raises `BuilderError` with a message in the caller's terms.

Example::

    import numpy as np
    from mcuorch_tflite.builder import GraphBuilder

    rng = np.random.default_rng(0)
    g = GraphBuilder("tiny")
    x = g.input("input", (1, 8, 8, 3))
    y = g.conv2d(x, rng.normal(size=(4, 3, 3, 3)), np.zeros(4), stride=2,
                 padding="SAME", activation="RELU")
    y = g.average_pool2d(y, pool=(4, 4))
    y = g.reshape(y, (1, 4))
    y = g.fully_connected(y, rng.normal(size=(2, 4)), np.zeros(2))
    g.output(g.softmax(y), name="Identity")

    graph = g.build()
    samples = [rng.uniform(-1, 1, size=(64, 8, 8, 3))]   # one array per input, N samples
    model = graph.quantize(graph.calibrate(samples))
    tflite_bytes = model.to_bytes()
    q_in = model.quantize_input(0, samples[0][:1])       # int8 array for the interpreter
    ref = graph.run([samples[0][:1]])                     # float reference outputs
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from . import nn
from .ops import (
    ACTIVATIONS,
    PADDINGS,
    SOFTMAX_OUTPUT_PARAMS,
    LowerContext,
    _Add,
    _Conv2D,
    _DepthwiseConv2D,
    _FullyConnected,
    _Mean,
    _Op,
    _Pad,
    _Pool2D,
    _Reshape,
    _Softmax,
)
from .qmodel import QOperator, QTensor, QuantizedModel
from .quant import QuantParams, activation_params

__all__ = ["ACTIVATIONS", "PADDINGS", "SOFTMAX_OUTPUT_PARAMS", "BuilderError", "Calibration", "FloatGraph",
           "GraphBuilder", "QOperator", "QTensor", "QuantParams", "QuantizedModel", "Tensor"]


class BuilderError(ValueError):
    """A graph description that cannot be built (wrong shape, unknown option, ...)."""


@dataclass(frozen=True)
class Tensor:
    """Handle of an activation tensor of the graph being built."""

    index: int
    name: str
    shape: tuple[int, ...]


@dataclass(frozen=True)
class Calibration:
    """Observed (min, max) of every activation tensor over the representative data."""

    ranges: dict[int, tuple[float, float]]
    num_samples: int


@dataclass
class FloatGraph:
    """A built float graph: evaluate it, calibrate it, quantize it."""

    name: str
    tensors: list[Tensor]
    ops: list[_Op]
    inputs: list[int]
    outputs: list[int]
    description: str = ""

    def _check_inputs(self, inputs: Sequence[np.ndarray]) -> list[np.ndarray]:
        if len(inputs) != len(self.inputs):
            raise BuilderError(f"graph {self.name!r} has {len(self.inputs)} inputs, got {len(inputs)} arrays")
        arrays = []
        for arr, idx in zip(inputs, self.inputs):
            a = np.asarray(arr, dtype=np.float64)
            spec = self.tensors[idx]
            if a.shape[1:] != spec.shape[1:]:
                raise BuilderError(f"input {spec.name!r} expects shape (N, {', '.join(map(str, spec.shape[1:]))}),"
                                   f" got {a.shape}")
            arrays.append(a)
        return arrays

    def evaluate(self, inputs: Sequence[np.ndarray]) -> dict[int, np.ndarray]:
        """Float values of every activation tensor for a batch of inputs (leading dim N)."""
        values: dict[int, np.ndarray] = dict(zip(self.inputs, self._check_inputs(inputs)))
        for op in self.ops:
            values[op.output] = op.forward([values[i] for i in op.inputs])
        return values

    def run(self, inputs: Sequence[np.ndarray]) -> list[np.ndarray]:
        """Float outputs for a batch of inputs (one array per input, leading dim N)."""
        values = self.evaluate(inputs)
        return [values[i] for i in self.outputs]

    def calibrate(self, samples: Sequence[np.ndarray], batch_size: int = 32) -> Calibration:
        """Record every activation's (min, max) over representative samples.

        `samples` holds one array per graph input, each with N samples along axis 0
        (like the converter's representative dataset, min/max over all of them).
        """
        arrays = self._check_inputs(samples)
        n = arrays[0].shape[0]
        if n == 0 or any(a.shape[0] != n for a in arrays):
            raise BuilderError("representative data needs the same, non-zero number of samples for every input")
        lo: dict[int, float] = {}
        hi: dict[int, float] = {}
        for start in range(0, n, batch_size):
            values = self.evaluate([a[start:start + batch_size] for a in arrays])
            for idx, v in values.items():
                lo[idx] = min(lo.get(idx, np.inf), float(np.min(v)))
                hi[idx] = max(hi.get(idx, -np.inf), float(np.max(v)))
        return Calibration({i: (lo[i], hi[i]) for i in lo}, n)

    def quantization_params(self, calibration: Calibration) -> dict[int, QuantParams]:
        """Parameters of every activation tensor, with the converter's pinned ones applied."""
        params = {i: activation_params(*calibration.ranges[i]) for i in self.inputs}
        for op in self.ops:
            calibrated = activation_params(*calibration.ranges[op.output])
            params[op.output] = op.output_params([params[i] for i in op.inputs], calibrated)
        return params

    def quantize(self, calibration: Calibration) -> QuantizedModel:
        """Lower to the full-int8 model the TFLite converter would produce."""
        ctx = LowerContext([(t.name, t.shape) for t in self.tensors], self.quantization_params(calibration))
        inputs = [ctx.act(i) for i in self.inputs]
        operators = [op.lower(ctx) for op in self.ops]
        outputs = [ctx.act(i) for i in self.outputs]
        return QuantizedModel(self.name, ctx.tensors, operators, inputs, outputs, self.description)

    def convert(self, samples: Sequence[np.ndarray]) -> QuantizedModel:
        """Calibrate on `samples` and quantize, in one call."""
        return self.quantize(self.calibrate(samples))


# --------------------------------------------------------------------------- builder


def _pair(value: int | Sequence[int], what: str) -> tuple[int, int]:
    pair = (int(value), int(value)) if isinstance(value, (int, np.integer)) else tuple(int(v) for v in value)
    if len(pair) != 2 or min(pair) < 1:
        raise BuilderError(f"{what} must be a positive int or a pair of positive ints, got {value!r}")
    return pair  # type: ignore[return-value]


def _choice(value: str, allowed: Iterable[str], what: str) -> str:
    allowed = tuple(allowed)
    if value not in allowed:
        raise BuilderError(f"{what} must be one of {', '.join(allowed)}, got {value!r}")
    return value


def _conv_options(stride: int | Sequence[int], dilation: int | Sequence[int], padding: str,
                  activation: str) -> tuple[tuple[int, int], tuple[int, int], str, str]:
    """Checked stride, dilation, padding and fused activation of a convolution (in that order)."""
    return (_pair(stride, "stride"), _pair(dilation, "dilation"), _choice(padding, PADDINGS, "padding"),
            _choice(activation, ACTIVATIONS, "activation"))


def _window_output(x: Tensor, kernel: Sequence[int], stride: tuple[int, int], dilation: tuple[int, int],
                   padding: str) -> tuple[int, int]:
    """Output height and width of a 2-D window op (convolution, pooling) on the NHWC input `x`."""
    return (nn.output_size(x.shape[1], kernel[0], stride[0], dilation[0], padding),
            nn.output_size(x.shape[2], kernel[1], stride[1], dilation[1], padding))


def _vector(values: np.ndarray | None, length: int, what: str) -> np.ndarray | None:
    if values is None:
        return None
    arr = np.asarray(values, dtype=np.float64)
    if arr.shape != (length,):
        raise BuilderError(f"{what} must have shape ({length},), got {arr.shape}")
    return arr


class GraphBuilder:
    """Records a float graph one operator at a time; `build()` returns a `FloatGraph`.

    Every op method takes input `Tensor` handles and returns the output's handle.
    `name` arguments name the output tensor (and prefix its constants); unnamed outputs get
    `<op>_<n>`. Names must be unique.
    """

    def __init__(self, name: str, description: str = "") -> None:
        self.name = name
        self.description = description
        self._tensors: list[Tensor] = []
        self._ops: list[_Op] = []
        self._inputs: list[int] = []
        self._outputs: list[int] = []
        self._counts: dict[str, int] = {}

    # ----------------------------------------------------------------- helpers
    def _new_tensor(self, name: str | None, kind: str, shape: Sequence[int]) -> Tensor:
        if name is None:
            n = self._counts.get(kind, 0)
            self._counts[kind] = n + 1
            name = f"{kind}_{n}"
        if any(t.name == name for t in self._tensors):
            raise BuilderError(f"tensor name {name!r} is used twice")
        shape = tuple(int(s) for s in shape)
        if any(s < 1 for s in shape):
            raise BuilderError(f"tensor {name!r} would have an empty shape {shape}")
        t = Tensor(len(self._tensors), name, shape)
        self._tensors.append(t)
        return t

    def _own(self, t: Tensor) -> Tensor:
        if not isinstance(t, Tensor) or t.index >= len(self._tensors) or self._tensors[t.index].name != t.name:
            raise BuilderError(f"{t!r} is not a tensor of graph {self.name!r}")
        return self._tensors[t.index]

    @staticmethod
    def _rank4(t: Tensor, op: str) -> None:
        if len(t.shape) != 4:
            raise BuilderError(f"{op} needs a 4-D NHWC input, {t.name!r} has shape {t.shape}")

    # ----------------------------------------------------------------- graph I/O
    def input(self, name: str, shape: Sequence[int]) -> Tensor:
        """Declare a model input (batch 1, e.g. (1, 49, 10, 1)); order = model input order."""
        shape = tuple(shape)
        if not shape or shape[0] != 1:
            raise BuilderError(f"input {name!r} must have batch dimension 1, got shape {shape}")
        t = self._new_tensor(name, "input", shape)
        self._inputs.append(t.index)
        return t

    def output(self, t: Tensor, name: str | None = None) -> Tensor:
        """Mark `t` as a model output (in call order), optionally renaming it (e.g. "Identity")."""
        t = self._own(t)
        if t.index in self._inputs:
            raise BuilderError(f"input {t.name!r} cannot also be an output")
        if t.index in self._outputs:
            raise BuilderError(f"{t.name!r} is already an output")
        if name is not None and name != t.name:
            if any(o.name == name for o in self._tensors):
                raise BuilderError(f"tensor name {name!r} is used twice")
            t = Tensor(t.index, name, t.shape)
            self._tensors[t.index] = t
            for op in self._ops:
                if op.output == t.index:
                    op.name = name
        self._outputs.append(t.index)
        return t

    # ----------------------------------------------------------------- operators
    def conv2d(self, x: Tensor, filters: np.ndarray, bias: np.ndarray | None = None, *,
               stride: int | Sequence[int] = 1, padding: str = "SAME", dilation: int | Sequence[int] = 1,
               activation: str = "NONE", name: str | None = None) -> Tensor:
        """CONV_2D; `filters` OHWI (out channels, kernel h, kernel w, in channels).

        Without `bias` the model gets an all-zero int32 bias, as the converter emits.
        """
        x = self._own(x)
        self._rank4(x, "conv2d")
        w = np.asarray(filters, dtype=np.float64)
        if w.ndim != 4 or w.shape[3] != x.shape[3]:
            raise BuilderError(f"conv2d filters must be OHWI with I={x.shape[3]}, got shape {w.shape}")
        stride, dilation, padding, activation = _conv_options(stride, dilation, padding, activation)
        oh, ow = _window_output(x, w.shape[1:3], stride, dilation, padding)
        out = self._new_tensor(name, "conv2d", (1, oh, ow, w.shape[0]))
        self._ops.append(_Conv2D("CONV_2D", (x.index,), out.index, out.name, w,
                                 _vector(bias, w.shape[0], "conv2d bias"), stride, padding, dilation, activation))
        return out

    def depthwise_conv2d(self, x: Tensor, filters: np.ndarray, bias: np.ndarray | None = None, *,
                         stride: int | Sequence[int] = 1, padding: str = "SAME", depth_multiplier: int = 1,
                         dilation: int | Sequence[int] = 1, activation: str = "NONE",
                         name: str | None = None) -> Tensor:
        """DEPTHWISE_CONV_2D; `filters` 1HW(C*M), M = `depth_multiplier`. A missing `bias` becomes zeros."""
        x = self._own(x)
        self._rank4(x, "depthwise_conv2d")
        w = np.asarray(filters, dtype=np.float64)
        channels = x.shape[3] * depth_multiplier
        if depth_multiplier < 1 or w.ndim != 4 or w.shape[0] != 1 or w.shape[3] != channels:
            raise BuilderError(f"depthwise_conv2d filters must be 1HW(C*M) with C*M={channels}, got shape {w.shape}")
        stride, dilation, padding, activation = _conv_options(stride, dilation, padding, activation)
        oh, ow = _window_output(x, w.shape[1:3], stride, dilation, padding)
        out = self._new_tensor(name, "depthwise_conv2d", (1, oh, ow, channels))
        self._ops.append(_DepthwiseConv2D("DEPTHWISE_CONV_2D", (x.index,), out.index, out.name, w,
                                          _vector(bias, channels, "depthwise_conv2d bias"), stride, padding,
                                          int(depth_multiplier), dilation, activation))
        return out

    def fully_connected(self, x: Tensor, weights: np.ndarray, bias: np.ndarray | None = None, *,
                        activation: str = "NONE", keep_num_dims: bool = False,
                        name: str | None = None) -> Tensor:
        """FULLY_CONNECTED; `weights` OI. Without `keep_num_dims` the input must hold one row of I.

        Without `bias` the operator has two inputs (operator version 6), as the converter emits.
        """
        x = self._own(x)
        w = np.asarray(weights, dtype=np.float64)
        if w.ndim != 2 or w.shape[1] != x.shape[-1]:
            raise BuilderError(f"fully_connected weights must be OI with I={x.shape[-1]}, got shape {w.shape}")
        activation = _choice(activation, ACTIVATIONS, "activation")
        if keep_num_dims:
            shape = x.shape[:-1] + (w.shape[0],)
        else:
            if int(np.prod(x.shape)) != w.shape[1]:
                raise BuilderError(f"fully_connected input {x.name!r} {x.shape} is more than one row of {w.shape[1]};"
                                   " reshape it first or pass keep_num_dims=True")
            shape = (1, w.shape[0])
        out = self._new_tensor(name, "fully_connected", shape)
        self._ops.append(_FullyConnected("FULLY_CONNECTED", (x.index,), out.index, out.name, w,
                                         _vector(bias, w.shape[0], "fully_connected bias"), activation,
                                         bool(keep_num_dims)))
        return out

    def _pool(self, opcode: str, kind: str, x: Tensor, pool: int | Sequence[int],
              stride: int | Sequence[int] | None, padding: str, activation: str, name: str | None) -> Tensor:
        x = self._own(x)
        self._rank4(x, kind)
        pool = _pair(pool, "pool")
        stride = pool if stride is None else _pair(stride, "stride")
        padding = _choice(padding, PADDINGS, "padding")
        activation = _choice(activation, ACTIVATIONS, "activation")
        oh, ow = _window_output(x, pool, stride, (1, 1), padding)
        out = self._new_tensor(name, kind, (1, oh, ow, x.shape[3]))
        self._ops.append(_Pool2D(opcode, (x.index,), out.index, out.name, pool, stride, padding, activation))
        return out

    def average_pool2d(self, x: Tensor, pool: int | Sequence[int], *, stride: int | Sequence[int] | None = None,
                       padding: str = "VALID", activation: str = "NONE", name: str | None = None) -> Tensor:
        """AVERAGE_POOL_2D; stride defaults to the pool size. Output shares the input's quantization."""
        return self._pool("AVERAGE_POOL_2D", "average_pool2d", x, pool, stride, padding, activation, name)

    def max_pool2d(self, x: Tensor, pool: int | Sequence[int], *, stride: int | Sequence[int] | None = None,
                   padding: str = "VALID", activation: str = "NONE", name: str | None = None) -> Tensor:
        """MAX_POOL_2D; stride defaults to the pool size. Output shares the input's quantization."""
        return self._pool("MAX_POOL_2D", "max_pool2d", x, pool, stride, padding, activation, name)

    def add(self, a: Tensor, b: Tensor, *, activation: str = "NONE", name: str | None = None) -> Tensor:
        """ADD of two tensors (numpy broadcasting); each input keeps its own quantization."""
        a, b = self._own(a), self._own(b)
        activation = _choice(activation, ACTIVATIONS, "activation")
        try:
            shape = np.broadcast_shapes(a.shape, b.shape)
        except ValueError:
            raise BuilderError(f"add: shapes {a.shape} and {b.shape} do not broadcast") from None
        if shape[0] != 1:
            raise BuilderError("add: batch dimension must stay 1")
        out = self._new_tensor(name, "add", shape)
        self._ops.append(_Add("ADD", (a.index, b.index), out.index, out.name, activation))
        return out

    def softmax(self, x: Tensor, *, beta: float = 1.0, name: str | None = None) -> Tensor:
        """SOFTMAX over the last axis; int8 output has scale 1/256 and zero point -128."""
        x = self._own(x)
        out = self._new_tensor(name, "softmax", x.shape)
        self._ops.append(_Softmax("SOFTMAX", (x.index,), out.index, out.name, float(beta)))
        return out

    def reshape(self, x: Tensor, shape: Sequence[int], *, name: str | None = None) -> Tensor:
        """RESHAPE keeping batch 1; one dimension may be -1. Output shares the input's quantization."""
        x = self._own(x)
        shape = [int(s) for s in shape]
        if shape.count(-1) > 1 or any(s == 0 or s < -1 for s in shape):
            raise BuilderError(f"reshape: invalid target shape {tuple(shape)}")
        size = int(np.prod(x.shape))
        if -1 in shape:
            known = int(np.prod([s for s in shape if s != -1]))
            if size % known:
                raise BuilderError(f"reshape: cannot reshape {x.shape} to {tuple(shape)}")
            shape[shape.index(-1)] = size // known
        if int(np.prod(shape)) != size:
            raise BuilderError(f"reshape: cannot reshape {x.shape} to {tuple(shape)}")
        if shape[0] != 1:
            raise BuilderError("reshape: the batch dimension must stay 1")
        out = self._new_tensor(name, "reshape", shape)
        self._ops.append(_Reshape("RESHAPE", (x.index,), out.index, out.name, tuple(shape)))
        return out

    def pad(self, x: Tensor, paddings: Sequence[Sequence[int]], *, name: str | None = None) -> Tensor:
        """PAD with zeros; one (before, after) pair per dimension, none on the batch.

        The int8 padding value is the input's zero point, so padded zeros stay exact.
        """
        x = self._own(x)
        pads = tuple((int(p[0]), int(p[1])) for p in paddings)
        if len(pads) != len(x.shape) or any(min(p) < 0 for p in pads) or pads[0] != (0, 0):
            raise BuilderError(f"pad: need {len(x.shape)} non-negative (before, after) pairs with none on the batch,"
                               f" got {paddings!r}")
        shape = tuple(s + p[0] + p[1] for s, p in zip(x.shape, pads))
        out = self._new_tensor(name, "pad", shape)
        self._ops.append(_Pad("PAD", (x.index,), out.index, out.name, pads))
        return out

    def mean(self, x: Tensor, axis: Sequence[int], *, keep_dims: bool = True, name: str | None = None) -> Tensor:
        """MEAN over the given (non-batch) axes, e.g. (1, 2) for global average pooling."""
        x = self._own(x)
        axes = tuple(sorted({int(a) % len(x.shape) for a in axis}))
        if not axes or 0 in axes:
            raise BuilderError(f"mean: axes must be non-empty and exclude the batch axis, got {tuple(axis)}")
        if keep_dims:
            shape = tuple(1 if i in axes else s for i, s in enumerate(x.shape))
        else:
            shape = tuple(s for i, s in enumerate(x.shape) if i not in axes)
        out = self._new_tensor(name, "mean", shape)
        self._ops.append(_Mean("MEAN", (x.index,), out.index, out.name, axes, bool(keep_dims)))
        return out

    # ----------------------------------------------------------------- inspection
    def evaluate(self, tensors: Sequence[Tensor], inputs: Sequence[np.ndarray],
                 batch_size: int = 64) -> list[np.ndarray]:
        """Float values of `tensors` on the graph built so far (one array per input, leading N).

        Lets a model author look at activations while building, e.g. to fit a layer.
        """
        wanted = [self._own(t).index for t in tensors]
        partial = FloatGraph(self.name, list(self._tensors), list(self._ops), list(self._inputs), wanted)
        arrays = partial._check_inputs(inputs)
        chunks = [partial.run([a[s:s + batch_size] for a in arrays]) for s in range(0, arrays[0].shape[0], batch_size)]
        return [np.concatenate([c[k] for c in chunks]) for k in range(len(wanted))]

    # ----------------------------------------------------------------- finish
    def build(self) -> FloatGraph:
        """Freeze the description; needs at least one input and one output."""
        if not self._inputs or not self._outputs:
            raise BuilderError(f"graph {self.name!r} needs at least one input and one output")
        produced = set(self._inputs) | {op.output for op in self._ops}
        for idx in self._outputs:
            if idx not in produced:
                raise BuilderError(f"output {self._tensors[idx].name!r} is not computed")
        return FloatGraph(self.name, list(self._tensors), list(self._ops), list(self._inputs),
                          list(self._outputs), self.description)
