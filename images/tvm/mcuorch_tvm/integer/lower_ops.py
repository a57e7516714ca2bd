"""Lowerings of the graph-boundary, elementwise and shape operators (``LOWERINGS``, merged
into :mod:`.lower`'s table).

* QUANTIZE float32 -> int8 / DEQUANTIZE int8 -> float32: the float-I/O wrapper the TFLite
  converter puts around a full-int8 graph; QUANTIZE int8 -> int8 requantizes by table;
* RELU, RELU6, LEAKY_RELU, LOGISTIC, TANH, HARD_SWISH: 256-entry tables (:mod:`.lut`);
* MUL, SUB, MAXIMUM, MINIMUM: broadcasting integer kernels (:mod:`.kernels.binary`);
* SQUEEZE, EXPAND_DIMS: zero-copy views like RESHAPE; CONCATENATION, PACK, TRANSPOSE,
  SLICE, STRIDED_SLICE, SPLIT, SPLIT_V, UNPACK, RESIZE_NEAREST_NEIGHBOR: copies
  (:mod:`.kernels.shape`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np

from ..errors import UnsupportedOperator
from . import fixedpoint as fp
from . import lut, quant
from .kernels import binary, conv16, dense16, shape, softmax16, transpose_conv, unary
from .kernels.conv import geometry
from .kernels.elementwise import _strides
from .model import OpDesc, Quantization
from .program import Call, View
from .tir import RequantStage

if TYPE_CHECKING:
    from .lower import _Lowering


def _int8(op: OpDesc, low: _Lowering, indices: list[int], dtypes: tuple[str, ...] = ("int8",)) -> list[Quantization]:
    """Every tensor of an element type in ``dtypes`` with per-tensor quantization; their
    quantizations."""
    out = []
    for i in indices:
        t = low.tensor(i)
        if t.dtype not in dtypes:
            raise UnsupportedOperator(op.name, f"tensor '{t.name}' is {t.dtype}; these kernels need "
                                      + " or ".join(dtypes))
        q = quant.require_quantized(op.name, f"tensor '{t.name}'", t.quant)
        if not q.per_tensor:
            raise UnsupportedOperator(op.name, f"tensor '{t.name}' is quantized per channel")
        out.append(q)
    return out


def _same_type(op: OpDesc, low: _Lowering, indices: list[int]) -> str:
    """Data movement and MAXIMUM/MINIMUM: int8 or int16, one type for every tensor."""
    _int8(op, low, indices, ("int8", "int16"))
    types = {low.tensor(i).dtype for i in indices}
    if len(types) != 1:
        raise UnsupportedOperator(op.name, f"mixed element types {sorted(types)}")
    return types.pop()


def _int_values(op: OpDesc, low: _Lowering, position: int, what: str) -> list[int]:
    return [int(v) for v in low.constant(op, position, what).reshape(-1)]


def _add_call(op: OpDesc, low: _Lowering, kernel_of: Callable[[str], object], inputs: list[int], output: int) -> None:
    name = low.kernel_name(op.name)
    low.program.steps.append(Call(name, kernel_of(name), [low.name(i) for i in inputs], low.name(output), op.name))


# --------------------------------------------------------------------------- graph boundary


_INTEGER = ("int8", "int16")


def _quantize(op: OpDesc, low: _Lowering) -> None:
    x, out = op.inputs[0], op.outputs[0]
    (o_q,) = _int8(op, low, [out], _INTEGER)
    src, dst = low.tensor(x), low.tensor(out).dtype
    if src.dtype == "float32":
        low.emit(op, lambda name: unary.quantize_kernel(name, src.shape, o_q.scale[0], o_q.zero_point[0], dst),
                 [x])
        return
    (x_q,) = _int8(op, low, [x], _INTEGER)
    if src.dtype == dst == "int8":
        table = lut.requantize_table(x_q, o_q)
        low.emit(op, lambda name: unary.table_kernel(name, src.shape, table, "requantize"), [x])
        return
    # ``Requantize``: multiplier double(in) / double(out), result clamped to the output type.
    m, s = fp.quantize_multiplier(float(np.float32(x_q.scale[0])) / float(np.float32(o_q.scale[0])))
    lo, hi = unary.RANGES[dst]
    reach = max(abs(v - x_q.zero_point[0]) for v in unary.RANGES[src.dtype])
    stage = RequantStage((m,), (s,), o_q.zero_point[0], lo, hi, reach)
    low.emit(op, lambda name: unary.requantize_kernel(name, src.shape, src.dtype, dst, stage,
                                                      x_q.zero_point[0]), [x])


def _dequantize(op: OpDesc, low: _Lowering) -> None:
    x, out = op.inputs[0], op.outputs[0]
    (x_q,) = _int8(op, low, [x], _INTEGER)
    if low.tensor(out).dtype != "float32":
        raise UnsupportedOperator(op.name, f"output is {low.tensor(out).dtype}; only float32 is supported")
    shape_, dtype = low.tensor(x).shape, low.tensor(x).dtype
    low.emit(op, lambda name: unary.dequantize_kernel(name, shape_, x_q.scale[0], x_q.zero_point[0], dtype),
             [x])


# --------------------------------------------------------------------------- one-input tables


def _table_op(op: OpDesc, low: _Lowering) -> None:
    x, out = op.inputs[0], op.outputs[0]
    x_q, o_q = _int8(op, low, [x, out])
    if op.name == "RELU":
        table = lut.relu_table(x_q, o_q)
    elif op.name == "RELU6":
        table = lut.relu6_table(x_q)
    elif op.name == "LEAKY_RELU":
        table = lut.leaky_relu_table(x_q, o_q, op.options.get("alpha", 0.0))
    elif op.name == "LOGISTIC":
        table = lut.logistic_table(x_q, o_q)
    elif op.name == "TANH":
        table = lut.tanh_table(x_q)
    else:
        table = lut.hard_swish_table(x_q, o_q)
    shape_ = low.tensor(x).shape
    low.emit(op, lambda name: unary.table_kernel(name, shape_, table, op.name.lower()), [x])


# --------------------------------------------------------------------------- two-input elementwise


def _binary_shapes(op: OpDesc, low: _Lowering) -> list[tuple[int, ...]]:
    shapes = [low.tensor(i).shape for i in (op.inputs[0], op.inputs[1], op.outputs[0])]
    try:
        ok = tuple(np.broadcast_shapes(shapes[0], shapes[1])) == tuple(shapes[2])
    except ValueError:
        ok = False
    if not ok:
        raise UnsupportedOperator(op.name, f"shapes {shapes[0]} and {shapes[1]} do not broadcast to {shapes[2]}")
    return shapes


def _elementwise_types(op: OpDesc, low: _Lowering) -> tuple[str, list[Quantization]]:
    """MUL/ADD/SUB: all int8, or all int16 with zero points 0 (TFLite-Micro's int16 rule)."""
    indices = [op.inputs[0], op.inputs[1], op.outputs[0]]
    dtype = _same_type(op, low, indices)
    qs = _int8(op, low, indices, (dtype,))
    if dtype == "int16" and any(q_.zero_point[0] for q_ in qs):
        raise UnsupportedOperator(op.name, "int16 tensors need zero point 0")
    return dtype, qs


def _range(op: OpDesc, dtype: str, out_q: Quantization) -> tuple[int, int]:
    activation = op.options.get("activation", "NONE")
    if dtype == "int16":
        return activation_range16(op.name, activation, out_q)
    return quant.activation_range(op.name, activation, out_q)


def _mul(op: OpDesc, low: _Lowering) -> None:
    dtype, (a_q, b_q, o_q) = _elementwise_types(op, low)
    shapes = _binary_shapes(op, low)
    real = float(np.float32(a_q.scale[0])) * float(np.float32(b_q.scale[0])) / float(np.float32(o_q.scale[0]))
    m, s = fp.quantize_multiplier(real)
    lo, hi = _range(op, dtype, o_q)
    reach = [max(abs(v - q_.zero_point[0]) for v in unary.RANGES[dtype]) for q_ in (a_q, b_q)]
    stage = RequantStage((m,), (s,), o_q.zero_point[0], lo, hi, reach[0] * reach[1])
    low.emit(op, lambda name: binary.mul_kernel(name, *shapes, a_q.zero_point[0], b_q.zero_point[0], stage,
                                                dtype), op.inputs[:2])


class _AddParams16(quant.AddParams):
    """``CalculateOpDataAdd``/``Sub`` for int16: a 2^15 common domain."""

    LEFT_SHIFT = 15


def add_sub(op: OpDesc, low: _Lowering) -> None:
    """ADD (int16; int8 ADD stays in ``lower``) and SUB (int8, int16)."""
    dtype, (a_q, b_q, o_q) = _elementwise_types(op, low)
    shapes = _binary_shapes(op, low)
    try:
        params = (_AddParams16 if dtype == "int16" else quant.AddParams)(a_q, b_q, o_q, "NONE")
    except ValueError as err:
        raise UnsupportedOperator(op.name, str(err)) from None
    params.act_min, params.act_max = _range(op, dtype, o_q)
    subtract = op.name == "SUB"
    low.emit(op, lambda name: binary.add_sub_kernel(name, *shapes, params, subtract, dtype), op.inputs[:2])


def _extremum(op: OpDesc, low: _Lowering) -> None:
    dtype = _same_type(op, low, [op.inputs[0], op.inputs[1], op.outputs[0]])
    shapes = _binary_shapes(op, low)
    kind = "max" if op.name == "MAXIMUM" else "min"
    low.emit(op, lambda name: binary.extremum_kernel(name, *shapes, kind, dtype), op.inputs[:2])


# --------------------------------------------------------------------------- shape operators


def _view(op: OpDesc, low: _Lowering) -> None:
    src, out = op.inputs[0], op.outputs[0]
    if low.tensor(src).size != low.tensor(out).size:
        raise UnsupportedOperator(op.name, "element counts differ")
    low.program.steps.append(View(low.name(src), low.name(out)))


def _axis(op: OpDesc, axis: int, rank: int) -> int:
    if not -rank <= axis < rank:
        raise UnsupportedOperator(op.name, f"axis {axis} out of range for rank {rank}")
    return axis % rank


def _concatenation(op: OpDesc, low: _Lowering) -> None:
    dtype = _same_type(op, low, list(op.inputs) + [op.outputs[0]])
    if op.options.get("activation", "NONE") != "NONE":
        raise UnsupportedOperator(op.name, "fused activation (TFLite-Micro requires NONE)")
    out_shape = low.tensor(op.outputs[0]).shape
    axis = _axis(op, op.options.get("axis", 0), len(out_shape))
    shapes = [low.tensor(i).shape for i in op.inputs]
    if any(len(s) != len(out_shape) for s in shapes) or sum(s[axis] for s in shapes) != out_shape[axis]:
        raise UnsupportedOperator(op.name, f"input shapes {shapes} do not concatenate to {out_shape}")
    low.emit(op, lambda name: shape.concat_kernel(name, shapes, out_shape, axis, dtype), list(op.inputs))


def _pack(op: OpDesc, low: _Lowering) -> None:
    dtype = _same_type(op, low, list(op.inputs) + [op.outputs[0]])
    out_shape = low.tensor(op.outputs[0]).shape
    axis = _axis(op, op.options.get("axis", 0), len(out_shape))
    shapes = []
    for i in op.inputs:
        s = list(low.tensor(i).shape)
        s.insert(axis, 1)
        shapes.append(tuple(s))
    if any(s[:axis] + s[axis + 1:] != out_shape[:axis] + out_shape[axis + 1:] for s in shapes) \
            or len(shapes) != out_shape[axis]:
        raise UnsupportedOperator(op.name, f"inputs do not stack to {out_shape}")
    low.emit(op, lambda name: shape.concat_kernel(name, shapes, out_shape, axis, dtype, note="pack"), list(op.inputs))


def _slice_call(op: OpDesc, low: _Lowering, x: int, out: int, begin, stride, loop_shape) -> None:
    in_shape = low.tensor(x).shape
    if int(np.prod(loop_shape)) != low.tensor(out).size:
        raise UnsupportedOperator(op.name, f"slice of {in_shape} has {list(loop_shape)} elements, "
                                  f"output is {list(low.tensor(out).shape)}")
    offsets = shape.slice_offsets(in_shape, begin, stride, loop_shape)
    dtype = low.tensor(x).dtype
    _add_call(op, low, lambda name: shape.gather_kernel(name, in_shape, loop_shape, offsets, dtype,
                                                        note=op.name.lower()), [x], out)


def _transpose(op: OpDesc, low: _Lowering) -> None:
    x, out = op.inputs[0], op.outputs[0]
    dtype = _same_type(op, low, [x, out])
    in_shape, out_shape = low.tensor(x).shape, low.tensor(out).shape
    perm = [_axis(op, p, len(in_shape)) for p in _int_values(op, low, 1, "permutation")]
    if sorted(perm) != list(range(len(in_shape))) or tuple(in_shape[p] for p in perm) != tuple(out_shape):
        raise UnsupportedOperator(op.name, f"permutation {perm} does not map {in_shape} to {out_shape}")
    strides = _strides(tuple(in_shape))
    offsets = [np.arange(out_shape[d]) * strides[p] for d, p in enumerate(perm)]
    low.emit(op, lambda name: shape.gather_kernel(name, in_shape, out_shape, offsets, dtype, note="transpose"), [x])


def _slice(op: OpDesc, low: _Lowering) -> None:
    x, out = op.inputs[0], op.outputs[0]
    dtype = _same_type(op, low, [x, out])
    in_shape = low.tensor(x).shape
    begin, size = _int_values(op, low, 1, "begin"), _int_values(op, low, 2, "size")
    if len(begin) != len(in_shape) or len(size) != len(in_shape):
        raise UnsupportedOperator(op.name, "begin and size need one value per dimension")
    size = [d - b if s == -1 else s for b, s, d in zip(begin, size, in_shape)]
    if any(b < 0 or s < 0 or b + s > d for b, s, d in zip(begin, size, in_shape)):
        raise UnsupportedOperator(op.name, f"slice begin {begin} size {size} outside {in_shape}")
    _slice_call(op, low, x, out, begin, [1] * len(begin), size)


def _strided_bounds(begin: int, end: int, stride: int, dim: int, begin_masked: bool, end_masked: bool,
                    shrink: bool) -> tuple[int, int]:
    """TFLite's ``StartForAxis``/``StopForAxis``: (first index, element count)."""
    big = 2**40
    start = (-big if stride > 0 else big) if begin_masked else begin
    if start < 0:
        start += dim
    start = min(max(start, 0), dim) if stride > 0 else min(max(start, -1), dim - 1)
    if shrink:
        return start, 1
    stop = (big if stride > 0 else -big) if end_masked else end
    if stop < 0:
        stop += dim
    stop = min(max(stop, 0), dim) if stride > 0 else min(max(stop, -1), dim - 1)
    return start, len(range(start, stop, stride))


def _strided_slice(op: OpDesc, low: _Lowering) -> None:
    x, out = op.inputs[0], op.outputs[0]
    dtype = _same_type(op, low, [x, out])
    o = op.options
    if o.get("ellipsis_mask") or o.get("new_axis_mask") or o.get("offset"):
        # TFLite-Micro's StridedSlice sets both masks to 0 (strided_slice_common.cc): there is
        # no reference result to be exact with.
        raise UnsupportedOperator(op.name, "ellipsis/new-axis masks (TFLite-Micro ignores them) and offset mode")
    in_shape = low.tensor(x).shape
    begin, end, strides = (_int_values(op, low, i, w) for i, w in ((1, "begin"), (2, "end"), (3, "strides")))
    rank = len(in_shape)
    if not len(begin) == len(end) == len(strides) == rank or 0 in strides:
        raise UnsupportedOperator(op.name, "begin, end and strides need one non-zero value per dimension")
    starts, counts = [], []
    for d in range(rank):
        s, n = _strided_bounds(begin[d], end[d], strides[d], in_shape[d], bool(o["begin_mask"] >> d & 1),
                               bool(o["end_mask"] >> d & 1), bool(o["shrink_axis_mask"] >> d & 1))
        starts.append(s)
        counts.append(n)
    if 0 in counts:
        raise UnsupportedOperator(op.name, "empty slice")
    _slice_call(op, low, x, out, starts, strides, counts)


def _split(op: OpDesc, low: _Lowering) -> None:
    """SPLIT: equal parts; the axis is input 0."""
    x = op.inputs[1]
    _same_type(op, low, [x] + list(op.outputs))
    in_shape = low.tensor(x).shape
    axis = _axis(op, _int_values(op, low, 0, "axis")[0], len(in_shape))
    parts = len(op.outputs)
    if in_shape[axis] % parts:
        raise UnsupportedOperator(op.name, f"dimension {in_shape[axis]} does not split into {parts}")
    _split_along(op, low, x, axis, [in_shape[axis] // parts] * parts)


def _split_v(op: OpDesc, low: _Lowering) -> None:
    """SPLIT_V: parts of the sizes the outputs have along the axis (input 2), as TFLite-Micro
    copies them (``size_splits`` only served shape inference)."""
    x = op.inputs[0]
    _same_type(op, low, [x] + list(op.outputs))
    in_shape = low.tensor(x).shape
    axis = _axis(op, _int_values(op, low, 2, "axis")[0], len(in_shape))
    sizes = [low.tensor(out).shape[axis] if len(low.tensor(out).shape) == len(in_shape) else -1
             for out in op.outputs]
    if -1 in sizes or sum(sizes) != in_shape[axis]:
        raise UnsupportedOperator(op.name, f"outputs of {sizes} along axis {axis} do not split {list(in_shape)}")
    _split_along(op, low, x, axis, sizes)


def _split_along(op: OpDesc, low: _Lowering, x: int, axis: int, sizes: list[int]) -> None:
    """One copy kernel per output: consecutive parts of ``sizes`` along ``axis``."""
    in_shape = low.tensor(x).shape
    first = 0
    for out, part in zip(op.outputs, sizes):
        begin, size = [0] * len(in_shape), list(in_shape)
        begin[axis], size[axis] = first, part
        _slice_call(op, low, x, out, begin, [1] * len(in_shape), size)
        first += part


def _unpack(op: OpDesc, low: _Lowering) -> None:
    x = op.inputs[0]
    _same_type(op, low, [x] + list(op.outputs))
    in_shape = low.tensor(x).shape
    axis = _axis(op, op.options.get("axis", 0), len(in_shape))
    if len(op.outputs) != in_shape[axis]:
        raise UnsupportedOperator(op.name, f"{len(op.outputs)} outputs for a dimension of {in_shape[axis]}")
    size = list(in_shape)
    size[axis] = 1
    for k, out in enumerate(op.outputs):
        begin = [0] * len(in_shape)
        begin[axis] = k
        _slice_call(op, low, x, out, begin, [1] * len(in_shape), size)


def _resize_nearest(op: OpDesc, low: _Lowering) -> None:
    x, out = op.inputs[0], op.outputs[0]
    dtype = _same_type(op, low, [x, out])
    in_shape, out_shape = low.tensor(x).shape, low.tensor(out).shape
    size = _int_values(op, low, 1, "size")
    if len(in_shape) != 4 or len(size) != 2 or tuple(out_shape) != (in_shape[0], size[0], size[1], in_shape[3]):
        raise UnsupportedOperator(op.name, f"cannot resize {in_shape} to {out_shape} with size {size}")
    align = op.options.get("align_corners", False)
    half = op.options.get("half_pixel_centers", False)
    strides = _strides(tuple(in_shape))
    offsets = [np.arange(out_shape[0]) * strides[0]]
    for d in (1, 2):
        offsets.append(np.asarray([shape.nearest_neighbor_index(v, in_shape[d], out_shape[d], align, half)
                                   for v in range(out_shape[d])]) * strides[d])
    offsets.append(np.arange(out_shape[3]))
    low.emit(op, lambda name: shape.gather_kernel(name, in_shape, out_shape, offsets, dtype, note="resize"), [x])


def _transpose_conv(op: OpDesc, low: _Lowering) -> None:
    if len(op.inputs) < 3:
        raise UnsupportedOperator(op.name, "needs output shape, weights and input")
    x, out = op.inputs[2], op.outputs[0]
    x_q, o_q = _int8(op, low, [x, out])
    weights = low.constant(op, 1, "weights")
    w_q = quant.require_quantized(op.name, "weights", low.tensor(op.inputs[1]).quant)
    in_shape, out_shape = low.tensor(x).shape, low.tensor(out).shape
    if weights.dtype != np.int8 or weights.ndim != 4 or len(in_shape) != 4 or len(out_shape) != 4 \
            or weights.shape[3] != in_shape[3] or weights.shape[0] != out_shape[3]:
        raise UnsupportedOperator(op.name, "needs int8 OHWI weights and 4-D NHWC tensors")
    if op.options.get("activation", "NONE") != "NONE":
        raise UnsupportedOperator(op.name, "fused activation (TFLite-Micro's int8 kernel ignores it)")
    oc = weights.shape[0]
    bias = low.optional_constant(op, 3)
    if bias is not None and (bias.dtype != np.int32 or bias.size != oc):
        raise UnsupportedOperator(op.name, f"bias must be {oc} int32 values")
    bias = None if bias is None else bias.reshape(-1)
    stage = quant.conv_requant(op.name, x_q, w_q, o_q, oc, "NONE",
                               quant.accumulator_bound(bias, weights, x_q.zero_point[0]))
    low.emit(op, lambda name: transpose_conv.transpose_conv_kernel(
        name, in_shape, out_shape, weights, bias, stage, op.options["stride"], op.options["padding"],
        x_q.zero_point[0]), [x])


def activation_range16(op: str, activation: str, out: Quantization) -> tuple[int, int]:
    """``CalculateActivationRangeQuantized`` for an int16 output."""
    lo, hi = unary.RANGES["int16"]
    bounds = {"NONE": (None, None), "RELU": (0.0, None), "RELU6": (0.0, 6.0), "RELU_N1_TO_1": (-1.0, 1.0)}
    if activation not in bounds:
        raise UnsupportedOperator(op, f"fused activation {activation}")
    low_real, high_real = bounds[activation]
    scale, zp = out.scale[0], out.zero_point[0]
    if low_real is not None:
        lo = max(lo, quant.quantize_activation_bound(low_real, scale, zp))
    if high_real is not None:
        hi = min(hi, quant.quantize_activation_bound(high_real, scale, zp))
    return lo, hi


def fully_connected_16x8(op: OpDesc, low: _Lowering) -> None:
    """FULLY_CONNECTED with int16 input/output and int8 weights (called by ``lower``)."""
    x, out = op.inputs[0], op.outputs[0]
    x_q, o_q = _int8(op, low, [x, out], ("int16",))
    if op.options.get("weights_format", 0) != 0:
        raise UnsupportedOperator(op.name, "shuffled weights format")
    weights = low.constant(op, 1, "weights")
    w_q = quant.require_quantized(op.name, "weights", low.tensor(op.inputs[1]).quant)
    if weights.dtype != np.int8 or weights.ndim != 2 or low.tensor(x).size % weights.shape[1]:
        raise UnsupportedOperator(op.name, "weights must be 2-D int8 matching the input depth")
    if len(w_q.scale) != 1 or w_q.zero_point[0] != 0:
        raise UnsupportedOperator(op.name, "16x8 weights must be per-tensor with zero point 0")
    bias = low.optional_constant(op, 2)
    if bias is not None and (bias.dtype != np.int64 or bias.size != weights.shape[0]):
        raise UnsupportedOperator(op.name, f"16x8 bias must be {weights.shape[0]} int64 values")
    # As for int8 (the pinned wheel forms the scale product in double, see fc_float_product).
    m, s = fp.quantize_multiplier(float(np.float32(x_q.scale[0])) * float(np.float32(w_q.scale[0]))
                                  / float(np.float32(o_q.scale[0])))
    lo, hi = activation_range16(op.name, op.options["activation"], o_q)
    in_shape, out_shape = low.tensor(x).shape, low.tensor(out).shape
    b = None if bias is None else bias.reshape(-1)
    if not -31 <= s < 8:
        raise UnsupportedOperator(op.name, f"output multiplier shift {s} outside TFLite's int64 range")
    low.emit(op, lambda name: dense16.dense16_kernel(name, in_shape, out_shape, weights, b, m, s,
                                                     x_q.zero_point[0], o_q.zero_point[0], lo, hi), [x])


def conv_16x8(op: OpDesc, low: _Lowering) -> None:
    """CONV_2D / DEPTHWISE_CONV_2D with int16 input/output, int8 per-channel weights and int64
    bias (called by ``lower`` for an int16 input)."""
    x, out = op.inputs[0], op.outputs[0]
    x_q, o_q = _int8(op, low, [x, out], ("int16",))
    if x_q.zero_point[0] or o_q.zero_point[0]:
        raise UnsupportedOperator(op.name, "int16 tensors need zero point 0")
    weights = low.constant(op, 1, "weights")
    if weights.dtype != np.int8 or weights.ndim != 4:
        raise UnsupportedOperator(op.name, "weights must be a 4-D int8 constant")
    in_shape, out_shape = low.tensor(x).shape, low.tensor(out).shape
    depthwise = op.name == "DEPTHWISE_CONV_2D"
    channels = weights.shape[3] if depthwise else weights.shape[0]
    if len(in_shape) != 4 or len(out_shape) != 4 or out_shape[3] != channels:
        raise UnsupportedOperator(op.name, "input and output must be 4-D NHWC matching the weights")
    if depthwise and (weights.shape[0] != 1 or channels % in_shape[3]):
        raise UnsupportedOperator(op.name, "weights must be 1HW(C*M)")
    if not depthwise and weights.shape[3] != in_shape[3]:
        raise UnsupportedOperator(op.name, "grouped convolution")
    bias = low.optional_constant(op, 2)
    if bias is not None and (bias.dtype != np.int64 or bias.size != channels):
        raise UnsupportedOperator(op.name, f"16x8 bias must be {channels} int64 values")
    w_q = quant.require_quantized(op.name, "weights", low.tensor(op.inputs[1]).quant)
    stage = quant.conv_requant(op.name, x_q, w_q, o_q, channels, "NONE")
    if any(not -31 <= s < 8 for s in stage.shift):
        raise UnsupportedOperator(op.name, "an output multiplier shift outside TFLite's int64 range")
    k_h, k_w = weights.shape[1:3]
    try:
        g = geometry(in_shape, out_shape, k_h, k_w, op.options["stride"], op.options["dilation"],
                     op.options["padding"])
    except ValueError as err:
        raise UnsupportedOperator(op.name, str(err)) from None
    lo, hi = activation_range16(op.name, op.options["activation"], o_q)
    b = None if bias is None else bias.reshape(-1)
    multiplier = channels // in_shape[3] if depthwise else None
    low.emit(op, lambda name: conv16.conv16_kernel(name, in_shape, out_shape, weights, b, stage.multiplier,
                                                   stage.shift, g, lo, hi, multiplier), [x])


def softmax_16(op: OpDesc, low: _Lowering) -> None:
    """SOFTMAX int16 -> int16 (called by ``lower`` for an int16 input): TFLite-Micro's
    ``CalculateSoftmaxParams`` checks, then its table-based kernel."""
    x, out = op.inputs[0], op.outputs[0]
    x_q, o_q = _int8(op, low, [x, out], ("int16",))
    if x_q.zero_point[0] or o_q.zero_point[0]:
        raise UnsupportedOperator(op.name, "int16 tensors need zero point 0")
    if abs(float(np.float32(o_q.scale[0])) - 1.0 / 32768) > 0.001 / 32768:
        raise UnsupportedOperator(op.name, "int16 output must have scale 1/32768")
    real = float(np.float32(x_q.scale[0])) * float(np.float32(op.options["beta"])) / (10.0 / 65535.0)
    multiplier, shift = fp.quantize_multiplier(real)
    if multiplier <= 0 or not -31 <= shift <= 30:
        raise UnsupportedOperator(op.name, f"input scale * beta {real:.3g} cannot be rescaled")
    shape_ = low.tensor(x).shape
    low.emit(op, lambda name: softmax16.softmax16_kernel(name, shape_, multiplier, shift), [x])


LOWERINGS: dict[str, Callable[[OpDesc, _Lowering], None]] = {
    "QUANTIZE": _quantize,
    "DEQUANTIZE": _dequantize,
    "RELU": _table_op,
    "RELU6": _table_op,
    "LEAKY_RELU": _table_op,
    "LOGISTIC": _table_op,
    "TANH": _table_op,
    "HARD_SWISH": _table_op,
    "MUL": _mul,
    "SUB": add_sub,
    "MAXIMUM": _extremum,
    "MINIMUM": _extremum,
    "SQUEEZE": _view,
    "EXPAND_DIMS": _view,
    "CONCATENATION": _concatenation,
    "PACK": _pack,
    "TRANSPOSE": _transpose,
    "SLICE": _slice,
    "STRIDED_SLICE": _strided_slice,
    "SPLIT": _split,
    "SPLIT_V": _split_v,
    "UNPACK": _unpack,
    "RESIZE_NEAREST_NEIGHBOR": _resize_nearest,
    "TRANSPOSE_CONV": _transpose_conv,
}
