"""Gradient training of a builder `FloatGraph` (numpy, float64), for the bundled CNNs.

The graph's operators own their weight arrays; `train_classifier` updates them in place
with Adam on softmax cross-entropy of one output (the logits), so the same graph object is
then calibrated and quantized. Backward rules exist for the operators the bundled models
train through: CONV_2D, DEPTHWISE_CONV_2D (multiplier 1), FULLY_CONNECTED, AVERAGE_POOL_2D,
ADD, RESHAPE, PAD and MEAN, with NONE/RELU/RELU6 fused activations. This reaches into the
builder's operator classes on purpose: it is a model-making tool, not part of the builder API.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from .. import nn
from ..builder import FloatGraph
from ..ops import (
    _Add,
    _Conv2D,
    _DepthwiseConv2D,
    _FullyConnected,
    _Mean,
    _Op,
    _Pad,
    _Pool2D,
    _Reshape,
)

Grads = dict[str, np.ndarray]


def _activation_grad(op_activation: str, out: np.ndarray, g: np.ndarray) -> np.ndarray:
    if op_activation == "RELU":
        return g * (out > 0)
    if op_activation == "RELU6":
        return g * ((out > 0) & (out < 6))
    return g


def _window_backward(x_shape: tuple[int, ...], kernel: tuple[int, int], stride: tuple[int, int],
                     dilation: tuple[int, int], padding: str,
                     tap_grad: Callable[[int, int], np.ndarray], dtype: np.dtype) -> np.ndarray:
    """Scatter the gradients of every kernel tap back onto the (unpadded) input."""
    ph = nn.padding_amounts(x_shape[1], kernel[0], stride[0], dilation[0], padding)
    pw = nn.padding_amounts(x_shape[2], kernel[1], stride[1], dilation[1], padding)
    oh = nn.output_size(x_shape[1], kernel[0], stride[0], dilation[0], padding)
    ow = nn.output_size(x_shape[2], kernel[1], stride[1], dilation[1], padding)
    dx = np.zeros((x_shape[0], x_shape[1] + sum(ph), x_shape[2] + sum(pw), x_shape[3]), dtype=dtype)
    for i in range(kernel[0]):
        for j in range(kernel[1]):
            r0, c0 = i * dilation[0], j * dilation[1]
            dx[:, r0:r0 + stride[0] * (oh - 1) + 1:stride[0], c0:c0 + stride[1] * (ow - 1) + 1:stride[1], :] \
                += tap_grad(i, j)
    return dx[:, ph[0]:ph[0] + x_shape[1], pw[0]:pw[0] + x_shape[2], :]


def _taps(op, x: np.ndarray, kernel: tuple[int, int]) -> dict[tuple[int, int], np.ndarray]:
    return {(i, j): t for i, j, t in nn._taps(x, kernel, op.stride, op.dilation, op.padding)}


def backward(op: _Op, args: list[np.ndarray], out: np.ndarray, g: np.ndarray) -> tuple[list[np.ndarray], Grads]:
    """Gradients w.r.t. the op's activation inputs and its parameters."""
    if isinstance(op, _Conv2D):
        g = _activation_grad(op.activation, out, g)
        out_c, kh, kw, in_c = op.filters.shape
        patches = nn.im2col(args[0], (kh, kw), op.stride, op.dilation, op.padding)
        g2 = g.reshape(-1, out_c)
        dw = (g2.T @ patches.reshape(-1, patches.shape[3])).reshape(op.filters.shape)
        dpatches = (g2 @ op.filters.reshape(out_c, -1)).reshape(*g.shape[:3], kh * kw * in_c)
        dx = _window_backward(args[0].shape, (kh, kw), op.stride, op.dilation, op.padding,
                              lambda i, j: dpatches[..., (i * kw + j) * in_c:(i * kw + j + 1) * in_c], g.dtype)
        grads = {"filters": dw}
        if op.bias is not None:
            grads["bias"] = g.sum(axis=(0, 1, 2))
        return [dx], grads
    if isinstance(op, _DepthwiseConv2D):
        if op.depth_multiplier != 1:
            raise NotImplementedError("training depthwise convolutions with a depth multiplier")
        g = _activation_grad(op.activation, out, g)
        kh, kw = op.filters.shape[1:3]
        taps = _taps(op, args[0], (kh, kw))
        dw = np.zeros_like(op.filters)
        for (i, j), tap in taps.items():
            dw[0, i, j, :] = np.sum(g * tap, axis=(0, 1, 2))
        dx = _window_backward(args[0].shape, (kh, kw), op.stride, op.dilation, op.padding,
                              lambda i, j: g * op.filters[0, i, j, :], g.dtype)
        grads = {"filters": dw}
        if op.bias is not None:
            grads["bias"] = g.sum(axis=(0, 1, 2))
        return [dx], grads
    if isinstance(op, _FullyConnected):
        g = _activation_grad(op.activation, out, g)
        rows = args[0].reshape(-1, op.weights.shape[1])
        g2 = g.reshape(-1, op.weights.shape[0])
        grads = {"weights": g2.T @ rows}
        if op.bias is not None:
            grads["bias"] = g2.sum(axis=0)
        return [(g2 @ op.weights).reshape(args[0].shape)], grads
    if isinstance(op, _Pool2D) and op.opcode == "AVERAGE_POOL_2D":
        g = _activation_grad(op.activation, out, g)
        ones = np.ones((1, args[0].shape[1], args[0].shape[2], 1))
        count = sum(tap for _, _, tap in nn._taps(ones, op.pool, op.stride, (1, 1), op.padding))
        scaled = g / count.astype(g.dtype)
        dx = _window_backward(args[0].shape, op.pool, op.stride, (1, 1), op.padding, lambda i, j: scaled, g.dtype)
        return [dx], {}
    if isinstance(op, _Add):
        g = _activation_grad(op.activation, out, g)
        return [_unbroadcast(g, a.shape) for a in args], {}
    if isinstance(op, _Reshape):
        return [g.reshape(args[0].shape)], {}
    if isinstance(op, _Pad):
        sl = tuple(slice(p[0], p[0] + s) for p, s in zip(op.paddings, args[0].shape))
        return [g[sl]], {}
    if isinstance(op, _Mean):
        count = np.prod([args[0].shape[a] for a in op.axes])
        g = g if op.keep_dims else np.expand_dims(g, op.axes)
        return [np.broadcast_to(g, args[0].shape) / count], {}
    raise NotImplementedError(f"no backward rule for {op.opcode}")


def _unbroadcast(g: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    while g.ndim > len(shape):
        g = g.sum(axis=0)
    for axis, size in enumerate(shape):
        if size == 1 and g.shape[axis] != 1:
            g = g.sum(axis=axis, keepdims=True)
    return g


_PARAM_NAMES = ("filters", "weights", "bias")


def train_classifier(graph: FloatGraph, logits_index: int, x: np.ndarray, y: np.ndarray,
                     rng: np.random.Generator, *, epochs: int, batch_size: int, lr: float,
                     weight_decay: float = 5e-4, label_smoothing: float = 0.1) -> list[float]:
    """Adam on softmax cross-entropy of tensor `logits_index`, updating the graph's weights in
    place (single-input graphs). Returns the mean loss of each epoch.

    Label smoothing and weight decay stand in for batch normalisation, which these graphs do
    not have: they keep logits and activations from growing without bound during training,
    which would otherwise cost int8 resolution after quantization.
    """
    params = [(op, name) for op in graph.ops for name in _PARAM_NAMES if getattr(op, name, None) is not None]
    for op, name in params:  # float32 while training: half the memory traffic of float64
        setattr(op, name, getattr(op, name).astype(np.float32))
    x = x.astype(np.float32)
    m = {id_: np.zeros_like(getattr(op, name)) for id_, (op, name) in enumerate(params)}
    v = {id_: np.zeros_like(getattr(op, name)) for id_, (op, name) in enumerate(params)}
    producers = {op.output: op for op in graph.ops}
    needed: set[int] = set()
    stack = [logits_index]
    while stack:  # only the ops the logits depend on
        t = stack.pop()
        if t in producers and t not in needed:
            needed.add(t)
            stack.extend(producers[t].inputs)
    ops = [op for op in graph.ops if op.output in needed]
    step, history = 0, []
    for _ in range(epochs):
        order = rng.permutation(len(x))
        losses = []
        for start in range(0, len(x), batch_size):
            idx = order[start:start + batch_size]
            values = {graph.inputs[0]: x[idx]}
            for op in ops:
                values[op.output] = op.forward([values[i] for i in op.inputs])
            z = values[logits_index].reshape(len(idx), -1)
            p = nn.softmax(z)
            target = np.full(p.shape, label_smoothing / p.shape[1], dtype=np.float32)
            target[np.arange(len(idx)), y[idx]] += 1.0 - label_smoothing
            losses.append(float(-np.mean(np.sum(target * np.log(p + 1e-12), axis=1))))
            dz = (p - target).astype(np.float32)
            grads_t = {logits_index: (dz / len(idx)).reshape(values[logits_index].shape)}
            grads_p: dict[int, Grads] = {}
            for op in reversed(ops):
                g = grads_t.pop(op.output, None)
                if g is None:
                    continue
                d_inputs, d_params = backward(op, [values[i] for i in op.inputs], values[op.output], g)
                grads_p[id(op)] = d_params
                for i, d in zip(op.inputs, d_inputs):
                    grads_t[i] = grads_t[i] + d if i in grads_t else d
            step += 1
            for k, (op, name) in enumerate(params):
                grad = grads_p.get(id(op), {}).get(name)
                if grad is None:
                    continue
                w = getattr(op, name)
                if name != "bias":
                    grad = grad + weight_decay * w
                m[k] = 0.9 * m[k] + 0.1 * grad
                v[k] = 0.999 * v[k] + 0.001 * grad * grad
                w -= lr * (m[k] / (1 - 0.9**step)) / (np.sqrt(v[k] / (1 - 0.999**step)) + 1e-8)
        history.append(float(np.mean(losses)))
    for op, name in params:
        setattr(op, name, getattr(op, name).astype(np.float64))
    return history
