"""Float operators of a builder graph: their numpy forward pass and their lowering to int8.

Each operator knows how the TFLite converter quantizes it: which tensors get per-channel or
per-tensor weights, whether its output keeps its input's parameters (pooling, reshape, pad)
or has fixed ones (softmax), and which options and operator version it is written with.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import nn
from .qmodel import QOperator, QTensor
from .quant import (
    QuantParams,
    bias_params,
    quantize_bias,
    quantize_weights,
    symmetric_weight_params,
)

ACTIVATIONS = ("NONE", "RELU", "RELU6")
PADDINGS = ("SAME", "VALID")
_ACTIVATION_CODES = {"NONE": 0, "RELU": 1, "RELU6": 3}
_PADDING_CODES = {"SAME": 0, "VALID": 1}
#: Softmax output quantization fixed by the TFLite converter for int8.
SOFTMAX_OUTPUT_PARAMS = QuantParams((1.0 / 256.0,), (-128,))


class LowerContext:
    """Collects quantized tensors while a float graph is lowered, in a stable order.

    `activations` gives (name, shape) of every activation tensor by its graph index.
    """

    def __init__(self, activations: list[tuple[str, tuple[int, ...]]], params: dict[int, QuantParams]) -> None:
        self.activations = activations
        self.params = params
        self.tensors: list[QTensor] = []
        self._act_index: dict[int, int] = {}

    def act(self, index: int) -> int:
        if index not in self._act_index:
            name, shape = self.activations[index]
            self._act_index[index] = len(self.tensors)
            self.tensors.append(QTensor(name, shape, "int8", self.params[index]))
        return self._act_index[index]

    def const(self, name: str, data: np.ndarray, dtype: str, quant: QuantParams | None) -> int:
        self.tensors.append(QTensor(name, tuple(data.shape), dtype, quant, data))
        return len(self.tensors) - 1

    def bias(self, op_name: str, bias: np.ndarray | None, input_index: int, w_params: QuantParams,
             required: bool = False) -> int:
        """Quantized bias tensor; a missing one becomes zeros when the kernel needs it
        (int8 convolutions in LiteRT do, so the converter always emits one)."""
        if bias is None and not required:
            return -1
        if bias is None:
            bias = np.zeros(len(w_params.scale) if not w_params.per_tensor else 1)
        b_params = bias_params(self.params[input_index], w_params)
        if not w_params.per_tensor:
            b_params = QuantParams(b_params.scale, b_params.zero_point, 0)
        return self.const(f"{op_name}/bias", quantize_bias(bias, b_params), "int32", b_params)

    def weighted_inputs(self, op_name: str, input_index: int, weights: np.ndarray, weights_name: str,
                        bias: np.ndarray | None, axis: int | None, bias_required: bool = False) -> list[int]:
        """Tensor indices of a weighted operator's inputs: its activation, the int8 symmetric
        weights (per channel along `axis`, per tensor when None) and the bias (see `bias`)."""
        w_params = symmetric_weight_params(weights, axis=axis)
        return [self.act(input_index),
                self.const(f"{op_name}/{weights_name}", quantize_weights(weights, w_params), "int8", w_params),
                self.bias(op_name, bias, input_index, w_params, required=bias_required)]


@dataclass
class _Op:
    """One float operator: activation inputs, one output, constants, options."""

    opcode: str
    inputs: tuple[int, ...]
    output: int
    name: str

    def forward(self, args: list[np.ndarray]) -> np.ndarray:
        raise NotImplementedError

    def output_params(self, in_params: list[QuantParams], calibrated: QuantParams) -> QuantParams:
        """Quantization of the output: calibrated unless the op pins it."""
        return calibrated

    def lower(self, ctx: LowerContext) -> QOperator:
        raise NotImplementedError


@dataclass
class _Conv2D(_Op):
    filters: np.ndarray
    bias: np.ndarray | None
    stride: tuple[int, int]
    padding: str
    dilation: tuple[int, int]
    activation: str

    def forward(self, args: list[np.ndarray]) -> np.ndarray:
        return nn.conv2d(args[0], self.filters, self.bias, self.stride, self.padding,
                         self.dilation, self.activation)

    def lower(self, ctx: LowerContext) -> QOperator:
        inputs = ctx.weighted_inputs(self.name, self.inputs[0], self.filters, "filter", self.bias, axis=0,
                                     bias_required=True)
        return QOperator("CONV_2D", inputs, [ctx.act(self.output)], "Conv2DOptions", {
            "Padding": _PADDING_CODES[self.padding], "StrideW": self.stride[1], "StrideH": self.stride[0],
            "FusedActivationFunction": _ACTIVATION_CODES[self.activation],
            "DilationWFactor": self.dilation[1], "DilationHFactor": self.dilation[0]})


@dataclass
class _DepthwiseConv2D(_Op):
    filters: np.ndarray
    bias: np.ndarray | None
    stride: tuple[int, int]
    padding: str
    depth_multiplier: int
    dilation: tuple[int, int]
    activation: str

    def forward(self, args: list[np.ndarray]) -> np.ndarray:
        return nn.depthwise_conv2d(args[0], self.filters, self.bias, self.stride, self.padding,
                                   self.depth_multiplier, self.dilation, self.activation)

    def lower(self, ctx: LowerContext) -> QOperator:
        inputs = ctx.weighted_inputs(self.name, self.inputs[0], self.filters, "filter", self.bias, axis=3,
                                     bias_required=True)
        return QOperator("DEPTHWISE_CONV_2D", inputs, [ctx.act(self.output)], "DepthwiseConv2DOptions", {
            "Padding": _PADDING_CODES[self.padding], "StrideW": self.stride[1], "StrideH": self.stride[0],
            "DepthMultiplier": self.depth_multiplier,
            "FusedActivationFunction": _ACTIVATION_CODES[self.activation],
            "DilationWFactor": self.dilation[1], "DilationHFactor": self.dilation[0]})


@dataclass
class _FullyConnected(_Op):
    weights: np.ndarray
    bias: np.ndarray | None
    activation: str
    keep_num_dims: bool

    def forward(self, args: list[np.ndarray]) -> np.ndarray:
        return nn.fully_connected(args[0], self.weights, self.bias, self.activation, self.keep_num_dims)

    def lower(self, ctx: LowerContext) -> QOperator:
        inputs = ctx.weighted_inputs(self.name, self.inputs[0], self.weights, "weights", self.bias, axis=None)
        version = 5 if self.keep_num_dims else 4  # the converter's rule (op_version.cc)
        if inputs[2] == -1:
            inputs, version = inputs[:2], 6
        return QOperator("FULLY_CONNECTED", inputs, [ctx.act(self.output)], "FullyConnectedOptions", {
            "FusedActivationFunction": _ACTIVATION_CODES[self.activation],
            "KeepNumDims": self.keep_num_dims}, version)


@dataclass
class _Pool2D(_Op):
    pool: tuple[int, int]
    stride: tuple[int, int]
    padding: str
    activation: str

    def forward(self, args: list[np.ndarray]) -> np.ndarray:
        fn = nn.max_pool2d if self.opcode == "MAX_POOL_2D" else nn.average_pool2d
        return fn(args[0], self.pool, self.stride, self.padding, self.activation)

    def output_params(self, in_params: list[QuantParams], calibrated: QuantParams) -> QuantParams:
        return in_params[0]

    def lower(self, ctx: LowerContext) -> QOperator:
        return QOperator(self.opcode, [ctx.act(self.inputs[0])], [ctx.act(self.output)], "Pool2DOptions", {
            "Padding": _PADDING_CODES[self.padding], "StrideW": self.stride[1], "StrideH": self.stride[0],
            "FilterWidth": self.pool[1], "FilterHeight": self.pool[0],
            "FusedActivationFunction": _ACTIVATION_CODES[self.activation]})


@dataclass
class _Add(_Op):
    activation: str

    def forward(self, args: list[np.ndarray]) -> np.ndarray:
        return nn.add(args[0], args[1], self.activation)

    def lower(self, ctx: LowerContext) -> QOperator:
        return QOperator("ADD", [ctx.act(i) for i in self.inputs], [ctx.act(self.output)], "AddOptions", {
            "FusedActivationFunction": _ACTIVATION_CODES[self.activation]})


@dataclass
class _Softmax(_Op):
    beta: float

    def forward(self, args: list[np.ndarray]) -> np.ndarray:
        return nn.softmax(args[0], self.beta)

    def output_params(self, in_params: list[QuantParams], calibrated: QuantParams) -> QuantParams:
        return SOFTMAX_OUTPUT_PARAMS

    def lower(self, ctx: LowerContext) -> QOperator:
        return QOperator("SOFTMAX", [ctx.act(self.inputs[0])], [ctx.act(self.output)], "SoftmaxOptions",
                         {"Beta": self.beta})


@dataclass
class _Reshape(_Op):
    new_shape: tuple[int, ...]

    def forward(self, args: list[np.ndarray]) -> np.ndarray:
        return args[0].reshape((args[0].shape[0],) + self.new_shape[1:])

    def output_params(self, in_params: list[QuantParams], calibrated: QuantParams) -> QuantParams:
        return in_params[0]

    def lower(self, ctx: LowerContext) -> QOperator:
        shape = ctx.const(f"{self.name}/shape", np.asarray(self.new_shape, dtype=np.int32), "int32", None)
        return QOperator("RESHAPE", [ctx.act(self.inputs[0]), shape], [ctx.act(self.output)],
                         "ReshapeOptions", {"NewShape": list(self.new_shape)})


@dataclass
class _Pad(_Op):
    paddings: tuple[tuple[int, int], ...]

    def forward(self, args: list[np.ndarray]) -> np.ndarray:
        return nn.pad(args[0], self.paddings)

    def output_params(self, in_params: list[QuantParams], calibrated: QuantParams) -> QuantParams:
        return in_params[0]

    def lower(self, ctx: LowerContext) -> QOperator:
        pads = ctx.const(f"{self.name}/paddings", np.asarray(self.paddings, dtype=np.int32), "int32", None)
        return QOperator("PAD", [ctx.act(self.inputs[0]), pads], [ctx.act(self.output)], "PadOptions", {})


@dataclass
class _Mean(_Op):
    axes: tuple[int, ...]
    keep_dims: bool

    def forward(self, args: list[np.ndarray]) -> np.ndarray:
        return nn.mean(args[0], self.axes, self.keep_dims)

    def lower(self, ctx: LowerContext) -> QOperator:
        axes = ctx.const(f"{self.name}/axes", np.asarray(self.axes, dtype=np.int32), "int32", None)
        return QOperator("MEAN", [ctx.act(self.inputs[0]), axes], [ctx.act(self.output)], "ReducerOptions",
                         {"KeepDims": self.keep_dims})


