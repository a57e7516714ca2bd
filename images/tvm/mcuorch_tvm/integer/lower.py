"""TFLite operators -> integer kernels: the ``--kernels int`` replacement of the backend's
import/fusion/scheduling stages.

:func:`lower_to_kernels` has the signature and result of
``mcuorch_tvm.compiler.lower_to_kernels`` (a Relax module whose ``main`` calls scheduled
PrimFuncs, plus the model summary), so graph extraction, arena planning and C emission are
shared with the float path unchanged.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace

import numpy as np
import tvm

from ..errors import UnsupportedOperator, UserError
from ..tflite_model import ModelInfo, describe, load_model
from . import lower_ops, quant
from .fold import fold_constant
from .isa import parse_isa
from .kernels import conv, dense, elementwise, pool, reduce, softmax
from .kernels.common import Kernel
from .model import ModelDesc, OpDesc, TensorDesc, read_model
from .program import Call, IntegerProgram, View, to_relax


@dataclass(frozen=True)
class LayerInfo:
    """One kernel call as a profile names it: layer name, TFLite operator, multiply-accumulates."""

    name: str
    op: str
    macs: int | None


@dataclass(frozen=True)
class Schedules:
    """Schedule knobs of every kernel family (defaults chosen by instruction counts)."""

    fully_connected: dense.DenseSchedule = field(default_factory=dense.DenseSchedule)
    conv2d: conv.ConvSchedule = field(default_factory=conv.ConvSchedule)
    depthwise: conv.DepthwiseSchedule = field(default_factory=conv.DepthwiseSchedule)

    def for_isa(self, isa: str) -> "Schedules":
        """The same knobs with every family generated for ``isa`` (``--isa``)."""
        target = parse_isa(isa)
        return replace(self, **{f: replace(getattr(self, f), isa=target)
                                for f in ("fully_connected", "conv2d", "depthwise")})


class _Lowering:
    """State while walking the operators in graph order."""

    def __init__(self, desc: ModelDesc, schedules: Schedules) -> None:
        self.desc = desc
        self.schedules = schedules
        self.program = IntegerProgram()
        self.names: dict[int, str] = {}
        self.counter: dict[str, int] = {}

    def name(self, index: int) -> str:
        if index not in self.names:
            self.names[index] = f"t{index}"
            t = self.desc.tensor(index)
            self.program.tensors[self.names[index]] = (t.shape, t.dtype)
        return self.names[index]

    def kernel_name(self, op: str) -> str:
        base = op.lower()
        n = self.counter.get(base, 0)
        self.counter[base] = n + 1
        return f"{base}_{n}"

    def tensor(self, index: int) -> TensorDesc:
        return self.desc.tensor(index)

    def constant(self, op: OpDesc, position: int, what: str) -> np.ndarray:
        index = op.inputs[position] if position < len(op.inputs) else -1
        if index < 0:
            raise UnsupportedOperator(op.name, f"missing {what}")
        data = self.tensor(index).data
        if data is None:
            raise UnsupportedOperator(op.name, f"{what} must be a constant tensor")
        return data

    def optional_constant(self, op: OpDesc, position: int) -> np.ndarray | None:
        index = op.inputs[position] if position < len(op.inputs) else -1
        return None if index < 0 else self.tensor(index).data

    def emit(self, op: OpDesc, make: Callable[[str], Kernel], inputs: list[int]) -> None:
        """Name the kernel, build it with ``make(name)`` and append the call."""
        name = self.kernel_name(op.name)
        self.program.steps.append(Call(name, make(name), [self.name(i) for i in inputs],
                                       self.name(op.outputs[0]), op.name))


def _require_int8(op: OpDesc, low: _Lowering, indices: list[int]) -> None:
    for i in indices:
        t = low.tensor(i)
        if t.dtype != "int8":
            raise UnsupportedOperator(op.name, f"tensor '{t.name}' is {t.dtype}; integer kernels need int8")
        quant.require_quantized(op.name, f"tensor '{t.name}'", t.quant)


def _weights(op: OpDesc, low: _Lowering, ndim: int) -> tuple[np.ndarray, "quant.Quantization"]:
    data = low.constant(op, 1, "weights")
    if data.dtype != np.int8 or data.ndim != ndim:
        raise UnsupportedOperator(op.name, f"weights must be a {ndim}-D int8 constant")
    return data, quant.require_quantized(op.name, "weights", low.tensor(op.inputs[1]).quant)


def _bias(op: OpDesc, low: _Lowering, channels: int) -> np.ndarray | None:
    bias = low.optional_constant(op, 2)
    if bias is not None and (bias.dtype != np.int32 or bias.size != channels):
        raise UnsupportedOperator(op.name, f"bias must be {channels} int32 values")
    return None if bias is None else bias.reshape(-1)


def _fully_connected(op: OpDesc, low: _Lowering) -> None:
    x, out = op.inputs[0], op.outputs[0]
    if low.tensor(x).dtype == "int16":
        return lower_ops.fully_connected_16x8(op, low)
    _require_int8(op, low, [x, out])
    if op.options.get("weights_format", 0) != 0:
        raise UnsupportedOperator(op.name, "shuffled weights format")
    weights, w_q = _weights(op, low, 2)
    if low.tensor(x).size % weights.shape[1]:
        raise UnsupportedOperator(op.name, "input size is not a multiple of the weights' depth")
    x_q, o_q = low.tensor(x).quant, low.tensor(out).quant
    bias = _bias(op, low, weights.shape[0])
    stage = quant.conv_requant(op.name, x_q, w_q, o_q, weights.shape[0], op.options["activation"],
                               quant.accumulator_bound(bias, weights, x_q.zero_point[0]))
    folded = quant.fold_bias(bias, weights, x_q.zero_point[0])
    low.emit(op, lambda name: dense.dense_kernel(name, low.tensor(x).shape, low.tensor(out).shape, weights,
                                                 folded, stage, low.schedules.fully_connected), [x])


def _conv_common(op: OpDesc, low: _Lowering, k_h: int, k_w: int):
    x, out = op.inputs[0], op.outputs[0]
    _require_int8(op, low, [x, out])
    in_shape, out_shape = low.tensor(x).shape, low.tensor(out).shape
    if len(in_shape) != 4 or len(out_shape) != 4:
        raise UnsupportedOperator(op.name, "input and output must be 4-D NHWC")
    try:
        g = conv.geometry(in_shape, out_shape, k_h, k_w, op.options["stride"], op.options["dilation"],
                          op.options["padding"])
    except ValueError as err:
        raise UnsupportedOperator(op.name, str(err)) from None
    return x, out, in_shape, out_shape, g


def _conv2d(op: OpDesc, low: _Lowering) -> None:
    if low.tensor(op.inputs[0]).dtype == "int16":
        return lower_ops.conv_16x8(op, low)
    weights, w_q = _weights(op, low, 4)
    oc, k_h, k_w, ic = weights.shape
    x, out, in_shape, out_shape, g = _conv_common(op, low, k_h, k_w)
    if in_shape[3] != ic or out_shape[3] != oc:
        raise UnsupportedOperator(op.name, "grouped convolution")
    x_q, o_q = low.tensor(x).quant, low.tensor(out).quant
    bias = _bias(op, low, oc)
    stage = quant.conv_requant(op.name, x_q, w_q, o_q, oc, op.options["activation"],
                               quant.accumulator_bound(bias, weights, x_q.zero_point[0]))
    folded = quant.fold_bias(bias, weights, x_q.zero_point[0])
    low.emit(op, lambda name: conv.conv2d_kernel(name, in_shape, out_shape, weights, folded, stage, g,
                                                 x_q.zero_point[0], low.schedules.conv2d), [x])


def _depthwise(op: OpDesc, low: _Lowering) -> None:
    if low.tensor(op.inputs[0]).dtype == "int16":
        return lower_ops.conv_16x8(op, low)
    weights, w_q = _weights(op, low, 4)
    _, k_h, k_w, oc = weights.shape
    x, out, in_shape, out_shape, g = _conv_common(op, low, k_h, k_w)
    if weights.shape[0] != 1 or out_shape[3] != oc or oc % in_shape[3]:
        raise UnsupportedOperator(op.name, "weights must be 1HW(C*M)")
    x_q, o_q = low.tensor(x).quant, low.tensor(out).quant
    per_channel_w = np.ascontiguousarray(weights.reshape(k_h * k_w, oc).T)
    bias = _bias(op, low, oc)
    stage = quant.conv_requant(op.name, x_q, w_q, o_q, oc, op.options["activation"],
                               quant.accumulator_bound(bias, per_channel_w, x_q.zero_point[0]))
    folded = quant.fold_bias(bias, per_channel_w, x_q.zero_point[0])
    mult = oc // in_shape[3]
    low.emit(op, lambda name: conv.depthwise_kernel(name, in_shape, out_shape, weights, folded, stage, g,
                                                    x_q.zero_point[0], mult, low.schedules.depthwise), [x])


def _pool(op: OpDesc, low: _Lowering) -> None:
    x, out = op.inputs[0], op.outputs[0]
    _require_int8(op, low, [x, out])
    x_q, o_q = low.tensor(x).quant, low.tensor(out).quant
    if (x_q.scale, x_q.zero_point) != (o_q.scale, o_q.zero_point):
        raise UnsupportedOperator(op.name, "input and output quantization differ (TFLite requires equal)")
    k_h, k_w = op.options["filter"]
    in_shape, out_shape = low.tensor(x).shape, low.tensor(out).shape
    try:
        g = conv.geometry(in_shape, out_shape, k_h, k_w, op.options["stride"], (1, 1), op.options["padding"])
    except ValueError as err:
        raise UnsupportedOperator(op.name, str(err)) from None
    lo, hi = quant.activation_range(op.name, op.options["activation"], o_q)
    kind = "avg" if op.name == "AVERAGE_POOL_2D" else "max"
    low.emit(op, lambda name: pool.pool_kernel(name, kind, in_shape, out_shape, g, lo, hi), [x])


def _add(op: OpDesc, low: _Lowering) -> None:
    a, b, out = op.inputs[0], op.inputs[1], op.outputs[0]
    if low.tensor(a).dtype == "int16":
        return lower_ops.add_sub(op, low)
    _require_int8(op, low, [a, b, out])
    shapes = [low.tensor(i).shape for i in (a, b, out)]
    try:
        if tuple(np.broadcast_shapes(shapes[0], shapes[1])) != tuple(shapes[2]):
            raise ValueError
    except ValueError:
        raise UnsupportedOperator(op.name, f"shapes {shapes[0]} and {shapes[1]} do not broadcast to {shapes[2]}")
    params = quant.AddParams(low.tensor(a).quant, low.tensor(b).quant, low.tensor(out).quant,
                             op.options["activation"])
    low.emit(op, lambda name: elementwise.add_kernel(name, *shapes, params, low.schedules.conv2d.isa), [a, b])


def _softmax(op: OpDesc, low: _Lowering) -> None:
    x, out = op.inputs[0], op.outputs[0]
    if low.tensor(x).dtype == "int16":
        return lower_ops.softmax_16(op, low)
    _require_int8(op, low, [x, out])
    params = quant.SoftmaxParams(low.tensor(x).quant, low.tensor(out).quant, op.options["beta"])
    low.emit(op, lambda name: softmax.softmax_kernel(name, low.tensor(x).shape, params), [x])


def _mean(op: OpDesc, low: _Lowering) -> None:
    x, out = op.inputs[0], op.outputs[0]
    _require_int8(op, low, [x, out])
    in_shape = low.tensor(x).shape
    axes = tuple(sorted({int(a) % len(in_shape) for a in low.constant(op, 1, "axis").reshape(-1)}))
    count = int(np.prod([in_shape[a] for a in axes])) if axes else 1
    params = quant.MeanParams(low.tensor(x).quant, low.tensor(out).quant, count)
    low.emit(op, lambda name: reduce.mean_kernel(name, in_shape, low.tensor(out).shape, axes, params), [x])


def _pad(op: OpDesc, low: _Lowering) -> None:
    x, out = op.inputs[0], op.outputs[0]
    _require_int8(op, low, [x, out])
    pads = low.constant(op, 1, "paddings").reshape(-1, 2)
    in_shape, out_shape = low.tensor(x).shape, low.tensor(out).shape
    if len(pads) != len(in_shape) or pads.min() < 0:
        raise UnsupportedOperator(op.name, "paddings must be non-negative, one pair per dimension")
    value = low.optional_constant(op, 2)
    pad_value = int(value.reshape(-1)[0]) if value is not None else low.tensor(out).quant.zero_point[0]
    pairs = [(int(p[0]), int(p[1])) for p in pads]
    low.emit(op, lambda name: elementwise.pad_kernel(name, in_shape, out_shape, pairs, pad_value), [x])


def _reshape(op: OpDesc, low: _Lowering) -> None:
    src, out = op.inputs[0], op.outputs[0]
    if low.tensor(src).size != low.tensor(out).size:
        raise UnsupportedOperator(op.name, "element counts differ")
    low.program.steps.append(View(low.name(src), low.name(out)))


def _shape(op: OpDesc, low: _Lowering) -> None:
    """SHAPE is always computed at build time (:mod:`.fold`); only its output type can stop it."""
    raise UnsupportedOperator(op.name, f"output type {low.tensor(op.outputs[0]).dtype} (int32/int64 only)")


_LOWERINGS: dict[str, Callable[[OpDesc, _Lowering], None]] = {
    "ADD": _add,
    "AVERAGE_POOL_2D": _pool,
    "CONV_2D": _conv2d,
    "DEPTHWISE_CONV_2D": _depthwise,
    "FULLY_CONNECTED": _fully_connected,
    "MAX_POOL_2D": _pool,
    "MEAN": _mean,
    "PAD": _pad,
    "PADV2": _pad,
    "RESHAPE": _reshape,
    "SHAPE": _shape,
    "SOFTMAX": _softmax,
    **lower_ops.LOWERINGS,
}

SUPPORTED_OPS = tuple(sorted(_LOWERINGS))


def lower_program(desc: ModelDesc, schedules: Schedules = Schedules()) -> IntegerProgram:
    """All operators of subgraph 0 as integer kernels, in graph order."""
    low = _Lowering(desc, schedules)
    for index in desc.inputs:
        low.program.inputs.append(low.name(index))
    for op in desc.ops:
        if fold_constant(desc, op):  # shape arithmetic: constant outputs, no kernel
            continue
        lower = _LOWERINGS.get(op.name)
        if lower is None:
            raise UnsupportedOperator(op.name, "supported: " + ", ".join(SUPPORTED_OPS))
        lower(op, low)
    low.program.outputs = [low.name(i) for i in desc.outputs]
    for name in low.program.outputs:
        if name in low.program.inputs:
            raise UserError("a graph output is a graph input; nothing to compute")
    return low.program


def _check_graph_io(desc: ModelDesc, info: ModelInfo) -> None:
    """Graph inputs/outputs are int8/int16, or float32 converted by QUANTIZE (inputs) / DEQUANTIZE
    (outputs) right at the boundary, the TFLite converter's float-I/O wrapper."""
    consumers: dict[int, set[str]] = {}
    producer: dict[int, str] = {}
    for op in desc.ops:
        for i in op.inputs:
            consumers.setdefault(i, set()).add(op.name)
        for o in op.outputs:
            producer[o] = op.name
    for index, tensor in zip(desc.inputs + desc.outputs, info.inputs + info.outputs):
        if tensor.dtype in ("int8", "int16"):  # each operator checks the types it supports
            continue
        is_input = index in desc.inputs
        if tensor.dtype == "float32" and (consumers.get(index, set()) <= {"QUANTIZE"} if is_input
                                          else producer.get(index) == "DEQUANTIZE"):
            continue
        raise UnsupportedOperator(info.ops[0] if info.ops else "NONE",
                                  f"graph tensor '{tensor.name}' is {tensor.dtype}; integer kernels need "
                                  "int8/int16 graph inputs and outputs, or float32 ones through "
                                  "QUANTIZE/DEQUANTIZE")


def lower_to_kernels(model_bytes: bytes, options=None, schedules: Schedules = Schedules()
                     ) -> tuple[tvm.IRModule, ModelInfo]:
    """Drop-in for ``compiler.lower_to_kernels``: (Relax module of integer kernels, summary)."""
    mod, info, _ = lower_with_layers(model_bytes, options, schedules)
    return mod, info


def lower_with_layers(model_bytes: bytes, options=None, schedules: Schedules = Schedules()
                      ) -> tuple[tvm.IRModule, ModelInfo, list[LayerInfo]]:
    """``lower_to_kernels`` plus what each kernel call computes (name, TFLite op, MACs), in call
    order: the memory plan lists it so a profile can name and normalise every kernel."""
    info = describe(load_model(model_bytes))
    desc = read_model(model_bytes)
    _check_graph_io(desc, info)
    if options is not None and getattr(options, "isa", "generic") != "generic":
        schedules = schedules.for_isa(options.isa)
    program = lower_program(desc, schedules)
    layers = [LayerInfo(c.kernel_name, c.op, c.kernel.macs) for c in program.calls]
    return to_relax(program), info, layers
