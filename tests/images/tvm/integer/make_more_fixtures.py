#!/usr/bin/env python3
"""Regenerate the single-operator models of the QUANTIZE/DEQUANTIZE, elementwise and shape
operators, with TFLite-Micro reference outputs, in ``data/more/``.

The model builder only knows the operators of the bundled models, so these graphs are
written directly as :class:`mcuorch_tflite.qmodel.QuantizedModel` (tensors with chosen
scales and zero points, one or two operators). Needs ``images/tflite`` and the
``tflite-micro`` wheel (dev venv with images/tvm/requirements.txt, or the ``tflite`` image):

    PYTHONPATH=images/tflite python tests/images/tvm/integer/make_more_fixtures.py

Each case gets ``<case>.tflite`` and ``<case>.npz`` (inputs ``in_<v>_<i>``, TFLite-Micro
outputs ``tflm_<v>_<o>``). Tables of unary int8 operators are checked on every int8 value:
vector 0 of a 256-element input holds each value once. Seeded by case name: reruns give the same files.
"""

from __future__ import annotations

import importlib
import sys
import zlib
from collections.abc import Callable
from pathlib import Path

import numpy as np
from fixture_files import record_case
from mcuorch_tflite import writer
from mcuorch_tflite.qmodel import QOperator, QTensor, QuantizedModel
from mcuorch_tflite.quant import QuantParams

# The model writer knows the element types of int8 models; 16x8 FULLY_CONNECTED has int64 bias.
writer._TENSOR_TYPES.setdefault("int64", writer.tflite.TensorType.INT64)

DATA = Path(__file__).resolve().parent / "data" / "more"
VECTORS = 4


def q(scale: float, zero_point: int) -> QuantParams:
    return QuantParams((float(np.float32(scale)),), (int(zero_point),))


class Graph:
    """A hand-written model: tensors, operators, inputs, outputs."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.tensors: list[QTensor] = []
        self.ops: list[QOperator] = []
        self.inputs: list[int] = []
        self.outputs: list[int] = []

    def tensor(self, shape, params: QuantParams | None, dtype: str = "int8", data=None) -> int:
        self.tensors.append(QTensor(f"t{len(self.tensors)}", tuple(shape), dtype, params, data))
        return len(self.tensors) - 1

    def const(self, values, dtype: str = "int32") -> int:
        arr = np.asarray(values, dtype=dtype)
        return self.tensor(arr.shape, None, dtype, arr)

    def input(self, shape, params: QuantParams | None, dtype: str = "int8") -> int:
        index = self.tensor(shape, params, dtype)
        self.inputs.append(index)
        return index

    def op(self, opcode: str, inputs: list[int], outputs: list[int], options_type: str | None = None,
           **options) -> None:
        self.ops.append(QOperator(opcode, inputs, outputs, options_type, options))

    def model(self) -> QuantizedModel:
        return QuantizedModel(self.name, self.tensors, self.ops, self.inputs, self.outputs)


def unary(opcode: str, in_q: QuantParams, out_q: QuantParams, shape=(1, 8, 8, 4),
          options_type: str | None = None, **options) -> Callable[[Graph], None]:
    def build(g: Graph) -> None:
        x = g.input(shape, in_q)
        y = g.tensor(shape, out_q)
        g.op(opcode, [x], [y], options_type, **options)
        g.outputs.append(y)
    return build


def binary(opcode: str, a_shape, b_shape, out_shape, qs: tuple[QuantParams, QuantParams, QuantParams],
           options_type: str | None = None, dtype: str = "int8", **options) -> Callable[[Graph], None]:
    def build(g: Graph) -> None:
        a = g.input(a_shape, qs[0], dtype)
        b = g.input(b_shape, qs[1], dtype)
        y = g.tensor(out_shape, qs[2], dtype)
        g.op(opcode, [a, b], [y], options_type, **options)
        g.outputs.append(y)
    return build


SAME = q(0.05, -3)


def copy_op(opcode: str, in_shapes, out_shapes, consts=(), const_first: bool = False,
            options_type: str | None = None, dtype: str = "int8", **options) -> Callable[[Graph], None]:
    """A data-movement operator: every tensor shares one quantization (and element type)."""
    params = SAME if dtype == "int8" else S16

    def build(g: Graph) -> None:
        xs = [g.input(s, params, dtype) for s in in_shapes]
        cs = [g.const(c) for c in consts]
        ys = [g.tensor(s, params, dtype) for s in out_shapes]
        g.op(opcode, cs + xs if const_first else xs + cs, ys, options_type, **options)
        g.outputs.extend(ys)
    return build


def float_quantize(g: Graph) -> None:
    x = g.input((1, 300), None, "float32")
    y = g.tensor((1, 300), q(0.037, -9))
    g.op("QUANTIZE", [x], [y])
    g.outputs.append(y)


def float_dequantize(g: Graph) -> None:
    x = g.input((1, 16, 16), q(0.0113, 7))
    y = g.tensor((1, 16, 16), None, "float32")
    g.op("DEQUANTIZE", [x], [y])
    g.outputs.append(y)


def convert(in_dtype: str, out_dtype: str, in_q: QuantParams | None, out_q: QuantParams | None,
            opcode: str = "QUANTIZE", shape=(1, 300)) -> Callable[[Graph], None]:
    def build(g: Graph) -> None:
        x = g.input(shape, in_q, in_dtype)
        y = g.tensor(shape, out_q, out_dtype)
        g.op(opcode, [x], [y])
        g.outputs.append(y)
    return build


S16 = q(0.0007, 0)


def float_io_chain(g: Graph) -> None:
    """The converter's float-I/O wrapper around an int8 op: QUANTIZE, LOGISTIC, DEQUANTIZE."""
    x = g.input((1, 6, 5), None, "float32")
    a = g.tensor((1, 6, 5), q(0.031, 4))
    b = g.tensor((1, 6, 5), q(1 / 256, -128))
    y = g.tensor((1, 6, 5), None, "float32")
    g.op("QUANTIZE", [x], [a])
    g.op("LOGISTIC", [a], [b])
    g.op("DEQUANTIZE", [b], [y])
    g.outputs.append(y)


def squeeze_then_tanh(g: Graph) -> None:
    x = g.input((1, 1, 6, 4), SAME)
    s = g.tensor((1, 6, 4), SAME)
    y = g.tensor((1, 6, 4), q(1 / 128, 0))
    g.op("SQUEEZE", [x], [s], "SqueezeOptions", SqueezeDims=[1])
    g.op("TANH", [s], [y])
    g.outputs.append(y)


def expand_dims_then_relu(g: Graph) -> None:
    x = g.input((1, 12), SAME)
    s = g.tensor((1, 1, 12), SAME)
    y = g.tensor((1, 1, 12), q(0.03, -128))
    g.op("EXPAND_DIMS", [x, g.const([1])], [s])
    g.op("RELU", [s], [y])
    g.outputs.append(y)


def with_float_io(model: QuantizedModel) -> QuantizedModel:
    """``model`` with the TFLite converter's default float interface: each int8 graph input
    becomes a float32 tensor of the same name feeding a QUANTIZE, each int8 output comes out
    of a DEQUANTIZE into a float32 tensor of the same name."""
    tensors = [QTensor(t.name, t.shape, t.dtype, t.quant, t.data) for t in model.tensors]
    operators, inputs, outputs = [], [], []
    for i in model.inputs:
        t = tensors[i]
        tensors.append(QTensor(t.name, t.shape, "float32"))
        t.name = f"{t.name}_int8"
        inputs.append(len(tensors) - 1)
        operators.append(QOperator("QUANTIZE", [len(tensors) - 1], [i]))
    operators += model.operators
    for o in model.outputs:
        t = tensors[o]
        tensors.append(QTensor(t.name, t.shape, "float32"))
        t.name = f"{t.name}_int8"
        outputs.append(len(tensors) - 1)
        operators.append(QOperator("DEQUANTIZE", [o], [len(tensors) - 1]))
    return QuantizedModel(model.name, tensors, operators, inputs, outputs, model.description)


def bundled_float_io(module: str) -> Callable[[Graph], QuantizedModel]:
    """A bundled model (rebuilt by its recipe in ``mcuorch_tflite.models``) with float I/O."""
    def build(g: Graph) -> QuantizedModel:
        recipe = importlib.import_module(f"mcuorch_tflite.models.{module}")
        return with_float_io(recipe.build().quantized)
    return build


def transpose_conv(in_shape, out_shape, kernel, stride, padding: str, bias: bool = True,
                   per_channel: bool = True) -> Callable[[Graph], None]:
    """TRANSPOSE_CONV with int8 OHWI weights (per-channel scales), optional int32 bias."""
    def build(g: Graph) -> None:
        rng = np.random.default_rng(len(in_shape) * 7 + kernel[0] * 3 + stride)
        oc, ic = out_shape[3], in_shape[3]
        x_q, o_q = q(0.04, -6), q(0.09, 11)
        w_scales = rng.uniform(0.002, 0.01, size=oc if per_channel else 1).astype(np.float32)
        w = rng.integers(-127, 128, size=(oc, kernel[0], kernel[1], ic)).astype(np.int8)
        shape_const = g.const(list(out_shape))
        w_index = g.tensor(w.shape, QuantParams(tuple(float(v) for v in w_scales), (0,) * len(w_scales), 0),
                           "int8", w)
        x = g.input(in_shape, x_q)
        inputs = [shape_const, w_index, x]
        if bias:
            b_scales = tuple(float(np.float32(np.float32(x_q.scale[0]) * v)) for v in w_scales)
            b = rng.integers(-3000, 3000, size=oc).astype(np.int32)
            inputs.append(g.tensor((oc,), QuantParams(b_scales, (0,) * len(b_scales), 0), "int32", b))
        y = g.tensor(out_shape, o_q)
        g.op("TRANSPOSE_CONV", inputs, [y], "TransposeConvOptions", Padding=0 if padding == "SAME" else 1,
             StrideW=stride, StrideH=stride)
        g.outputs.append(y)
    return build


def fc16x8(in_shape, units: int, activation: int = 0, bias: bool = True, keep_num_dims: bool = False,
           scales=(0.0005, 0.004, 0.003)) -> Callable[[Graph], None]:
    """FULLY_CONNECTED 16x8: int16 input/output (zero point 0), int8 weights, int64 bias."""
    def build(g: Graph) -> None:
        rng = np.random.default_rng(units * 31 + in_shape[-1])
        depth = in_shape[-1]
        x_q, w_q, o_q = q(scales[0], 0), q(scales[1], 0), q(scales[2], 0)
        w = rng.integers(-127, 128, size=(units, depth)).astype(np.int8)
        x = g.input(in_shape, x_q, "int16")
        inputs = [x, g.tensor(w.shape, w_q, "int8", w)]
        if bias:
            b_q = q(float(np.float32(x_q.scale[0]) * np.float32(w_q.scale[0])), 0)
            inputs.append(g.tensor((units,), b_q, "int64", rng.integers(-2**22, 2**22, size=units).astype(np.int64)))
        out_shape = tuple(in_shape[:-1]) + (units,) if keep_num_dims else (1, units)
        y = g.tensor(out_shape, o_q, "int16")
        g.op("FULLY_CONNECTED", inputs, [y], "FullyConnectedOptions", FusedActivationFunction=activation,
             KeepNumDims=keep_num_dims)
        g.outputs.append(y)
    return build


def conv16x8(in_shape, out_shape, kernel, stride=(1, 1), padding: str = "SAME", dilation=(1, 1),
             depthwise: bool = False, activation: int = 0, bias: bool = True,
             input_scale: float = 0.0004, spread: float = 3.0) -> Callable[[Graph], None]:
    """CONV_2D / DEPTHWISE_CONV_2D 16x8: int16 input/output (zero point 0), int8 weights with
    per-channel scales, int64 bias. The output scale puts ``spread`` typical sums (random taps
    over the full int16 range) at the int16 limit, so most outputs are not clamped."""
    def build(g: Graph) -> None:
        rng = np.random.default_rng(sum(in_shape) * 13 + out_shape[3] * 7 + kernel[0] + 5 * depthwise)
        ic, oc = in_shape[3], out_shape[3]
        taps = kernel[0] * kernel[1] * (1 if depthwise else ic)
        typical = np.sqrt(taps) * 18900 * input_scale * 73 * 0.0055
        x_q, o_q = q(input_scale, 0), q(spread * typical / 32767, 0)
        w_scales = rng.uniform(0.001, 0.01, size=oc).astype(np.float32)
        shape = (1, kernel[0], kernel[1], oc) if depthwise else (oc, kernel[0], kernel[1], ic)
        w = rng.integers(-127, 128, size=shape).astype(np.int8)
        x = g.input(in_shape, x_q, "int16")
        w_params = QuantParams(tuple(float(v) for v in w_scales), (0,) * oc, 3 if depthwise else 0)
        inputs = [x, g.tensor(w.shape, w_params, "int8", w)]
        if bias:
            b_scales = tuple(float(np.float32(np.float32(x_q.scale[0]) * v)) for v in w_scales)
            # per channel, a real bias up to a typical sum
            b = np.round(rng.uniform(-1, 1, size=oc) * typical / np.asarray(b_scales)).astype(np.int64)
            inputs.append(g.tensor((oc,), QuantParams(b_scales, (0,) * oc, 0), "int64", b))
        y = g.tensor(out_shape, o_q, "int16")
        common = dict(Padding=0 if padding == "SAME" else 1, StrideW=stride[1], StrideH=stride[0],
                      DilationWFactor=dilation[1], DilationHFactor=dilation[0], FusedActivationFunction=activation)
        if depthwise:
            g.op("DEPTHWISE_CONV_2D", inputs, [y], "DepthwiseConv2DOptions", DepthMultiplier=oc // ic, **common)
        else:
            g.op("CONV_2D", inputs, [y], "Conv2DOptions", **common)
        g.outputs.append(y)
    return build


def softmax16(shape, input_scale: float, beta: float = 1.0) -> Callable[[Graph], None]:
    """SOFTMAX int16 -> int16: zero points 0, output scale 1/32768 (TFLite-Micro's rule)."""
    def build(g: Graph) -> None:
        x = g.input(shape, q(input_scale, 0), "int16")
        y = g.tensor(shape, q(1.0 / 32768, 0), "int16")
        g.op("SOFTMAX", [x], [y], "SoftmaxOptions", Beta=beta)
        g.outputs.append(y)
    return build


def fc_float_product(g: Graph) -> None:
    """int8 FULLY_CONNECTED whose output depends on how the multiplier's input * filter scale
    product is formed: in double (the pinned wheel) it is 1962432100 and accumulators +-13096
    (x = +-100) give +-94; in float32 (older GetQuantizedConvolutionMultipler) 1962432071, +-93."""
    x = g.input((1, 256, 1), q(0.05, 0))
    w = g.tensor((2, 1), q(0.004, 0), "int8", np.asarray([[127], [127]], dtype=np.int8))
    b_q = q(float(np.float32(0.05) * np.float32(0.004)), 0)
    b = g.tensor((2,), b_q, "int32", np.asarray([396, -396], dtype=np.int32))
    y = g.tensor((1, 256, 2), q(0.028014006093144417, 0))
    g.op("FULLY_CONNECTED", [x, w, b], [y], "FullyConnectedOptions", FusedActivationFunction=0, KeepNumDims=True)
    g.outputs.append(y)


def _strided(begin, end, strides, out_shape, in_shape=(1, 7, 6, 5), **masks) -> Callable[[Graph], None]:
    options = {"BeginMask": 0, "EndMask": 0, "ShrinkAxisMask": 0}
    options.update(masks)
    return copy_op("STRIDED_SLICE", [in_shape], [out_shape], consts=[begin, end, strides],
                   options_type="StridedSliceOptions", **options)


CASES: dict[str, Callable[[Graph], None]] = {
    # graph boundary
    "quantize_float_in": float_quantize,
    "dequantize_float_out": float_dequantize,
    "float_io_logistic": float_io_chain,
    "quantize_float_to_int16": convert("float32", "int16", None, q(0.0011, 0)),
    "quantize_int8_to_int16": convert("int8", "int16", q(0.05, 3), q(0.0009, 0)),
    "quantize_int16_to_int8": convert("int16", "int8", q(0.0009, 0), q(0.05, -3)),
    "quantize_int16_to_int16": convert("int16", "int16", q(0.0009, 0), q(0.0004, 0)),
    "dequantize_int16": convert("int16", "float32", q(0.00037, 0), None, "DEQUANTIZE"),
    "quantize_requant_down": unary("QUANTIZE", q(0.05, 3), q(0.08, -5)),
    "quantize_requant_up": unary("QUANTIZE", q(0.05, 3), q(0.011, 20)),
    # one-input tables
    "relu_rescale": unary("RELU", q(0.05, -10), q(0.03, -128)),
    "relu_same": unary("RELU", q(0.02, 5), q(0.02, 5)),
    "relu6_clamps": unary("RELU6", q(0.04, 5), q(0.04, 5)),
    "relu6_wide": unary("RELU6", q(0.1, -20), q(0.1, -20)),
    "leaky_relu_rescale": unary("LEAKY_RELU", q(0.05, 10), q(0.04, -30), options_type="LeakyReluOptions",
                                Alpha=0.2),
    "leaky_relu_small_alpha": unary("LEAKY_RELU", q(0.02, -1), q(0.02, -1), options_type="LeakyReluOptions",
                                    Alpha=0.01),
    "logistic_fine": unary("LOGISTIC", q(0.02, 3), q(1 / 256, -128)),
    "logistic_coarse": unary("LOGISTIC", q(0.1, -12), q(1 / 256, -128)),
    "logistic_saturating": unary("LOGISTIC", q(0.5, 0), q(1 / 256, -128)),
    "tanh_fine": unary("TANH", q(0.01, -7), q(1 / 128, 0)),
    "tanh_coarse": unary("TANH", q(0.05, 9), q(1 / 128, 0)),
    "hard_swish_asym": unary("HARD_SWISH", q(0.05, -20), q(0.03, -70)),
    "hard_swish_coarse": unary("HARD_SWISH", q(0.1, 0), q(0.07, -100)),
    "hard_swish_fine": unary("HARD_SWISH", q(0.004, 30), q(0.005, -90)),
    # two-input elementwise
    "mul_same_shape": binary("MUL", (1, 5, 4, 3), (1, 5, 4, 3), (1, 5, 4, 3), (q(0.05, 3), q(0.03, -9), q(0.02, 1))),
    "mul_broadcast_relu": binary("MUL", (1, 4, 4, 3), (1, 1, 1, 3), (1, 4, 4, 3), (q(0.5, 0), q(0.5, -20), q(0.01, -128)),
                                 "MulOptions", FusedActivationFunction=1),
    "mul_rank2_relu6": binary("MUL", (1, 12), (1, 12), (1, 12), (q(0.04, 10), q(0.06, 0), q(0.0313, -100)),
                              "MulOptions", FusedActivationFunction=3),
    "sub_same_shape": binary("SUB", (1, 5, 4, 3), (1, 5, 4, 3), (1, 5, 4, 3), (q(0.05, 3), q(0.03, -9), q(0.06, 1))),
    "sub_broadcast_relu6": binary("SUB", (1, 4, 4, 3), (1, 1, 4, 1), (1, 4, 4, 3), (q(0.02, -4), q(0.07, 11), q(0.025, -128)),
                                  "SubOptions", FusedActivationFunction=3),
    "maximum_broadcast": binary("MAXIMUM", (1, 3, 4, 5), (1, 1, 1, 5), (1, 3, 4, 5), (SAME, SAME, SAME)),
    "minimum_same_shape": binary("MINIMUM", (1, 20), (1, 20), (1, 20), (SAME, SAME, SAME)),
    # shape operators
    "concat_channels": copy_op("CONCATENATION", [(1, 3, 4, 2), (1, 3, 4, 5), (1, 3, 4, 1)], [(1, 3, 4, 8)],
                               options_type="ConcatenationOptions", Axis=3, FusedActivationFunction=0),
    "concat_rows": copy_op("CONCATENATION", [(1, 2, 6), (1, 3, 6)], [(1, 5, 6)],
                           options_type="ConcatenationOptions", Axis=-2, FusedActivationFunction=0),
    "pack_axis1": copy_op("PACK", [(1, 4, 3)] * 3, [(1, 3, 4, 3)], options_type="PackOptions",
                          ValuesCount=3, Axis=1),
    "unpack_axis1": copy_op("UNPACK", [(1, 3, 4)], [(1, 4)] * 3, options_type="UnpackOptions", Num=3, Axis=1),
    "transpose_nchw": copy_op("TRANSPOSE", [(1, 4, 5, 3)], [(1, 3, 4, 5)], consts=[[0, 3, 1, 2]]),
    "transpose_rank3": copy_op("TRANSPOSE", [(1, 6, 7)], [(1, 7, 6)], consts=[[0, 2, 1]]),
    "slice_window": copy_op("SLICE", [(1, 5, 6, 4)], [(1, 2, 4, 2)], consts=[[0, 1, 2, 1], [1, 2, -1, 2]]),
    "strided_slice_step2": _strided([0, 1, 0, 0], [1, 7, 6, 5], [1, 2, 2, 1], (1, 3, 3, 5)),
    "strided_slice_reverse": _strided([0, -1, 4, 0], [1, 0, 0, 5], [1, -2, -1, 2], (1, 3, 4, 3), EndMask=1),
    "strided_slice_shrink": _strided([0, 2, 0, 1], [1, 3, 6, 4], [1, 1, 1, 1], (1, 6, 3), BeginMask=4,
                                     ShrinkAxisMask=2),
    "split_channels": copy_op("SPLIT", [(1, 4, 3, 6)], [(1, 4, 3, 2)] * 3, consts=[[3]], const_first=True,
                              options_type="SplitOptions", NumSplits=3),
    "split_v_channels": copy_op("SPLIT_V", [(1, 4, 3, 7)], [(1, 4, 3, 2), (1, 4, 3, 4), (1, 4, 3, 1)],
                                consts=[[2, -1, 1], [-1]], options_type="SplitVOptions", NumSplits=3),
    "int16_split_v_rows": copy_op("SPLIT_V", [(1, 6, 5)], [(1, 1, 5), (1, 5, 5)], consts=[[1, 5], [1]],
                                  dtype="int16", options_type="SplitVOptions", NumSplits=2),
    "resize_nearest_x2": copy_op("RESIZE_NEAREST_NEIGHBOR", [(1, 3, 4, 2)], [(1, 6, 8, 2)], consts=[[6, 8]],
                                 options_type="ResizeNearestNeighborOptions", AlignCorners=False,
                                 HalfPixelCenters=False),
    "resize_nearest_align": copy_op("RESIZE_NEAREST_NEIGHBOR", [(1, 3, 5, 2)], [(1, 7, 4, 2)], consts=[[7, 4]],
                                    options_type="ResizeNearestNeighborOptions", AlignCorners=True,
                                    HalfPixelCenters=False),
    "resize_nearest_half_pixel": copy_op("RESIZE_NEAREST_NEIGHBOR", [(1, 4, 3, 1)], [(1, 6, 7, 1)],
                                         consts=[[6, 7]], options_type="ResizeNearestNeighborOptions",
                                         AlignCorners=False, HalfPixelCenters=True),
    "transpose_conv_s2_same": transpose_conv((1, 4, 4, 3), (1, 8, 8, 5), (3, 3), 2, "SAME"),
    "transpose_conv_s2_valid": transpose_conv((1, 3, 5, 2), (1, 7, 10, 4), (3, 2), 2, "VALID"),
    "transpose_conv_s1_no_bias": transpose_conv((1, 5, 5, 4), (1, 5, 5, 3), (3, 3), 1, "SAME", bias=False,
                                                per_channel=False),
    "transpose_conv_s3_gaps": transpose_conv((1, 3, 3, 2), (1, 8, 8, 2), (2, 2), 3, "VALID"),
    "fc_float_product": fc_float_product,
    "conv16x8_3x3_same": conv16x8((1, 6, 7, 5), (1, 6, 7, 4), (3, 3)),
    "conv16x8_s2_valid_relu": conv16x8((1, 9, 8, 3), (1, 4, 3, 6), (3, 3), stride=(2, 2), padding="VALID",
                                       activation=1, input_scale=0.0003),
    "conv16x8_1x1_no_bias": conv16x8((1, 4, 5, 16), (1, 4, 5, 8), (1, 1), bias=False, input_scale=0.0002),
    "conv16x8_dilated_relu6": conv16x8((1, 8, 8, 2), (1, 8, 8, 3), (3, 2), dilation=(2, 3), activation=3,
                                       input_scale=0.0005, spread=1.0),
    "depthwise16x8_3x3_same": conv16x8((1, 7, 6, 4), (1, 7, 6, 4), (3, 3), depthwise=True),
    "depthwise16x8_mult2_s2": conv16x8((1, 9, 9, 3), (1, 5, 5, 6), (3, 3), stride=(2, 2), depthwise=True,
                                       activation=1, input_scale=0.0006),
    "depthwise16x8_5x5_valid": conv16x8((1, 8, 7, 5), (1, 4, 3, 5), (5, 5), padding="VALID", depthwise=True,
                                        bias=False, input_scale=0.0003),
    "softmax16_row10": softmax16((1, 10), 0.0003),
    "softmax16_rows_beta2": softmax16((2, 3, 7), 0.0002, beta=2.0),
    "softmax16_wide_coarse": softmax16((1, 64), 0.0006, beta=0.5),
    "softmax16_many_rows": softmax16((1, 48, 12), 0.00035),  # 192 rows: most table entries
    "fc16x8_bias": fc16x8((1, 40), 12),
    "fc16x8_relu_no_bias": fc16x8((1, 64), 9, activation=1, bias=False, scales=(0.001, 0.0031, 0.0125)),
    "fc16x8_batched_relu6": fc16x8((1, 3, 24), 10, activation=3, keep_num_dims=True,
                                   scales=(0.0002, 0.0077, 0.0021)),
    "sine_model_float_io": bundled_float_io("sine"),
    "squeeze_then_tanh": squeeze_then_tanh,
    "int16_add": binary("ADD", (1, 5, 4, 3), (1, 5, 4, 3), (1, 5, 4, 3), (q(0.0004, 0), q(0.0009, 0), q(0.0011, 0)),
                        dtype="int16"),
    "int16_add_broadcast_relu": binary("ADD", (1, 4, 4, 3), (1, 1, 1, 3), (1, 4, 4, 3),
                                       (q(0.0005, 0), q(0.0002, 0), q(0.0006, 0)), "AddOptions", dtype="int16",
                                       FusedActivationFunction=1),
    "int16_sub": binary("SUB", (1, 5, 4, 3), (1, 1, 4, 1), (1, 5, 4, 3), (q(0.0004, 0), q(0.0009, 0), q(0.0012, 0)),
                        dtype="int16"),
    "int16_mul": binary("MUL", (1, 5, 4, 3), (1, 5, 4, 3), (1, 5, 4, 3), (q(0.0004, 0), q(0.0009, 0), q(0.012, 0)),
                        dtype="int16"),
    "int16_mul_broadcast_relu6": binary("MUL", (1, 4, 4, 3), (1, 1, 1, 3), (1, 4, 4, 3),
                                        (q(0.001, 0), q(0.0004, 0), q(0.0003, 0)), "MulOptions", dtype="int16",
                                        FusedActivationFunction=3),
    "int16_concat": copy_op("CONCATENATION", [(1, 3, 4, 2), (1, 3, 4, 3)], [(1, 3, 4, 5)], dtype="int16",
                            options_type="ConcatenationOptions", Axis=3, FusedActivationFunction=0),
    "int16_transpose": copy_op("TRANSPOSE", [(1, 4, 5, 3)], [(1, 3, 5, 4)], consts=[[0, 3, 2, 1]], dtype="int16"),
    "int16_strided_slice": copy_op("STRIDED_SLICE", [(1, 7, 6, 5)], [(1, 3, 3, 5)], dtype="int16",
                                   consts=[[0, 1, 0, 0], [1, 7, 6, 5], [1, 2, 2, 1]],
                                   options_type="StridedSliceOptions", BeginMask=0, EndMask=0, ShrinkAxisMask=0),
    "int16_maximum": copy_op("MAXIMUM", [(1, 3, 4, 5), (1, 1, 1, 5)], [(1, 3, 4, 5)], dtype="int16"),
    "int16_resize_nearest": copy_op("RESIZE_NEAREST_NEIGHBOR", [(1, 3, 4, 2)], [(1, 6, 8, 2)], consts=[[6, 8]],
                                    dtype="int16", options_type="ResizeNearestNeighborOptions",
                                    AlignCorners=False, HalfPixelCenters=False),
    "expand_dims_then_relu": expand_dims_then_relu,
}


def _input(rng: np.random.Generator, t: QTensor, v: int) -> np.ndarray:
    size = int(np.prod(t.shape))
    if t.dtype == "float32":
        scale = t.quant.scale[0] if t.quant else 0.037
        x = rng.normal(0.0, 3.0, size=size).astype(np.float32)
        if v in (0, 1):  # ties of the int8 (0.037) or int16 (0.0011) quantizer, values far out of range
            k = np.arange(size) - size // 2
            x = ((k + 0.5) * np.float32(0.037 if v == 0 else 0.0011)).astype(np.float32)
            edges = np.asarray([1e3, -1e3, 0.0, -0.0], dtype=np.float32)[:size]
            x[:edges.size] = edges
        return x.reshape(t.shape)
    if t.dtype == "int16":
        return rng.integers(-32768, 32768, size=t.shape).astype(np.int16)
    if v == 0 and size >= 256:
        values = np.concatenate([np.arange(-128, 128), rng.integers(-128, 128, size=size - 256)])
        return rng.permutation(values).astype(np.int8).reshape(t.shape)
    return rng.integers(-128, 128, size=t.shape).astype(np.int8)


def make(name: str, build: Callable[[Graph], None], seed: int) -> None:
    rng = np.random.default_rng(seed)
    g = Graph(name)
    model = build(g) or g.model()
    data = model.to_bytes()
    vectors = [[_input(rng, model.tensors[i], v) for i in model.inputs] for v in range(VECTORS)]
    record_case(DATA, name, data, vectors)


def main(names: list[str]) -> int:
    DATA.mkdir(parents=True, exist_ok=True)
    for name, build in sorted(CASES.items()):
        if names and name not in names:
            continue
        make(name, build, zlib.crc32(name.encode()))  # a case's seed does not depend on the others
        print(name)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
