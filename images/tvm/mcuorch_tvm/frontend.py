"""Import an int8 ``.tflite`` model into Relax with ``tvm.relax.frontend.tflite``.

The stock converter is used for every operator except where it departs from TFLite's
semantics; those converters are overridden here (and covered by per-operator tests):

* quantized AVERAGE_POOL_2D: the stock converter averages int32 values with truncating
  division; TFLite rounds half away from zero and divides by the number of *valid* (unpadded)
  elements. The replacement is an integer TE kernel, bit-exact with TFLite's reference.
* quantized PAD/PADV2: the stock converter handles them correctly (pad value = zero point) but
  its quantized-operator allow-list omits them.
"""

from __future__ import annotations

import numpy as np
import tflite
import tvm
from tvm import relax, te, tirx
from tvm.relax.frontend.tflite import tflite_frontend
from tvm.relax.frontend.tflite.tflite_frontend import OperatorConverter, from_tflite

from .errors import UnsupportedOperator
from .tflite_model import ModelInfo

# Operators this path compiles and tests cover, for full-int8 models.
SUPPORTED_OPS = frozenset(
    {
        "ADD",
        "AVERAGE_POOL_2D",
        "CONV_2D",
        "DEPTHWISE_CONV_2D",
        "FULLY_CONNECTED",
        "MAX_POOL_2D",
        "MEAN",
        "PAD",
        "PADV2",
        "RESHAPE",
        "SOFTMAX",
    }
)
# Tensor types allowed anywhere in the graph (activations int8, biases int32, shapes int32/64).
_ALLOWED_DTYPES = frozenset({"int8", "int32", "int64"})


def check_supported(info: ModelInfo) -> None:
    """Raise UnsupportedOperator for the first operator (in graph order) this path cannot do."""
    for op in info.ops:
        if op not in SUPPORTED_OPS:
            raise UnsupportedOperator(op, "supported: " + ", ".join(sorted(SUPPORTED_OPS)))
    for tensor in info.inputs + info.outputs:
        if tensor.dtype != "int8":
            raise UnsupportedOperator(
                info.ops[0] if info.ops else "NONE",
                f"graph tensor '{tensor.name}' is {tensor.dtype}; this backend needs full-int8 "
                "models (int8 inputs and outputs)",
            )
    others = sorted(set(info.tensor_dtypes) - _ALLOWED_DTYPES)
    if others:
        raise UnsupportedOperator(
            info.ops[0] if info.ops else "NONE",
            f"model has {'/'.join(others)} tensors; this backend needs full-int8 models",
        )


def _activation_range(fused: int, scale: float, zero_point: int) -> tuple[int, int]:
    """TFLite's CalculateActivationRangeQuantized for int8 outputs."""
    from tflite.ActivationFunctionType import ActivationFunctionType as Act

    def quantize(x: float) -> int:
        q = x / scale
        # TfLiteRound: half away from zero.
        return zero_point + int(q + 0.5 if q >= 0 else q - 0.5)

    lo, hi = -128, 127
    if fused == Act.RELU:
        lo = max(lo, quantize(0.0))
    elif fused == Act.RELU6:
        lo, hi = max(lo, quantize(0.0)), min(hi, quantize(6.0))
    elif fused == Act.RELU_N1_TO_1:
        lo, hi = max(lo, quantize(-1.0)), min(hi, quantize(1.0))
    elif fused != Act.NONE:
        raise UnsupportedOperator("AVERAGE_POOL_2D", f"fused activation {fused}")
    return lo, hi


def _valid_counts(shape, pool, strides, pads, out_hw) -> np.ndarray:
    """Number of unpadded taps under each output position (TFLite's filter_count)."""
    _, h_, w_, _ = shape
    counts = np.zeros(out_hw, dtype=np.int32)
    for y in range(out_hw[0]):
        y0 = y * strides[0] - pads[0]
        rows = min(y0 + pool[0], h_) - max(y0, 0)
        for x in range(out_hw[1]):
            x0 = x * strides[1] - pads[1]
            counts[y, x] = rows * (min(x0 + pool[1], w_) - max(x0, 0))
    return counts


def _avg_pool(data, counts, shape, pool, strides, pads, out_hw, act) -> te.Tensor:
    """TFLite's integer average pool (NHWC): sum of valid taps, rounded division, clamp.

    ``counts`` (int32, one per output position) is a constant so that the division stays
    32-bit (index arithmetic would make it int64, a libgcc call on 32-bit cores).
    """
    n_, h_, w_, c_ = shape
    kh, kw = pool
    sh, sw = strides
    pt, pl = pads
    oh, ow = out_hw
    rh = te.reduce_axis((0, kh), name="rh")
    rw = te.reduce_axis((0, kw), name="rw")

    def valid(y, x):
        return tirx.all(y >= 0, y < h_, x >= 0, x < w_)

    acc = te.compute(
        (n_, oh, ow, c_),
        lambda n, y, x, c: te.sum(
            tirx.if_then_else(
                valid(y * sh + rh - pt, x * sw + rw - pl),
                data[n, y * sh + rh - pt, x * sw + rw - pl, c].astype("int32"),
                tirx.const(0, "int32"),
            ),
            axis=[rh, rw],
        ),
        name="avg_pool_sum",
    )

    def rounded(n, y, x, c):
        a = acc[n, y, x, c]
        cnt = counts[y, x]
        half = tirx.truncdiv(cnt, 2)
        zero = tirx.const(0, "int32")
        q = tirx.if_then_else(
            a > zero, tirx.truncdiv(a + half, cnt), tirx.truncdiv(a - half, cnt)
        )
        q = tirx.max(tirx.min(q, tirx.const(act[1], "int32")), tirx.const(act[0], "int32"))
        return q.astype(data.dtype)

    return te.compute((n_, oh, ow, c_), rounded, name="avg_pool")


class TfliteSemanticsConverter(OperatorConverter):
    """The stock converter with TFLite-exact overrides (see module docstring)."""

    _SUPPORTED_QUANTIZED_OPS = OperatorConverter._SUPPORTED_QUANTIZED_OPS | {"PAD", "PADV2"}

    def __init__(self, model, subgraph, exp_tab, ctx, conversion_state=None):
        super().__init__(model, subgraph, exp_tab, ctx, conversion_state)
        self.convert_map["AVERAGE_POOL_2D"] = self._convert_average_pool2d

    def _convert_average_pool2d(self, op):
        input_tensor = self.get_input_tensors(op)[0]
        output_tensor = self.get_output_tensors(op)[0]
        if not input_tensor.qnn_params:
            return self.convert_average_pool2d(op)
        from tflite.Padding import Padding
        from tflite.Pool2DOptions import Pool2DOptions

        if not self.has_same_qnn_params(input_tensor, output_tensor):
            raise UnsupportedOperator(
                "AVERAGE_POOL_2D", "input and output quantization differ (TFLite requires equal)"
            )
        options = Pool2DOptions()
        raw = op.BuiltinOptions()
        options.Init(raw.Bytes, raw.Pos)
        kh, kw = options.FilterHeight(), options.FilterWidth()
        sh, sw = options.StrideH(), options.StrideW()
        _, h_, w_, _ = (int(d) for d in self.get_tensor_shape(input_tensor))
        if options.Padding() == Padding.SAME:
            oh, ow = -(-h_ // sh), -(-w_ // sw)
            pad_h = max(0, (oh - 1) * sh + kh - h_)
            pad_w = max(0, (ow - 1) * sw + kw - w_)
            pads = (pad_h // 2, pad_w // 2)
        else:
            oh, ow = (h_ - kh) // sh + 1, (w_ - kw) // sw + 1
            pads = (0, 0)
        scale = float(tflite_frontend.get_scalar_from_constant(output_tensor.qnn_params["scale"]))
        zp = int(tflite_frontend.get_scalar_from_constant(output_tensor.qnn_params["zero_point"]))
        act = _activation_range(options.FusedActivationFunction(), scale, zp)
        data = self.get_expr(input_tensor.tensor_idx)
        shape = tuple(int(d) for d in self.get_tensor_shape(input_tensor))
        counts = relax.const(_valid_counts(shape, (kh, kw), (sh, sw), pads, (oh, ow)), "int32")
        return self.bb.emit_te(
            lambda x, n: _avg_pool(x, n, shape, (kh, kw), (sh, sw), pads, (oh, ow), act),
            data,
            counts,
            primfunc_name_hint="tflite_avg_pool2d",
        )


def import_model(model: tflite.Model) -> tvm.IRModule:
    """TFLite flatbuffer → Relax module whose ``main`` holds constants inline."""
    return from_tflite(model, op_converter=TfliteSemanticsConverter)
