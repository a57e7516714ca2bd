"""Float reference kernels (NHWC, numpy) with TFLite's semantics.

They compute what a float TFLite model would: SAME padding splits the total padding with
the smaller half before, average pooling divides by the number of valid (unpadded)
elements, filters are in TFLite layout (conv OHWI, depthwise 1HW(C*M), fully connected OI).
Used to calibrate activation ranges and as the float reference in tests. The leading
dimension is a batch of any size, so calibration runs many samples at once.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

ACTIVATIONS: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "NONE": lambda x: x,
    "RELU": lambda x: np.maximum(x, 0.0),
    "RELU6": lambda x: np.clip(x, 0.0, 6.0),
}


def output_size(in_size: int, kernel: int, stride: int, dilation: int, padding: str) -> int:
    """Spatial output size of a window op (TFLite's ComputeOutSize)."""
    effective = (kernel - 1) * dilation + 1
    if padding == "SAME":
        return (in_size + stride - 1) // stride
    return (in_size - effective + stride) // stride


def padding_amounts(in_size: int, kernel: int, stride: int, dilation: int, padding: str) -> tuple[int, int]:
    """(before, after) padding of one spatial dimension."""
    if padding != "SAME":
        return 0, 0
    out = output_size(in_size, kernel, stride, dilation, padding)
    effective = (kernel - 1) * dilation + 1
    total = max((out - 1) * stride + effective - in_size, 0)
    return total // 2, total - total // 2


def _pad_spatial(x: np.ndarray, kernel: tuple[int, int], stride: tuple[int, int],
                 dilation: tuple[int, int], padding: str, value: float = 0.0) -> np.ndarray:
    ph = padding_amounts(x.shape[1], kernel[0], stride[0], dilation[0], padding)
    pw = padding_amounts(x.shape[2], kernel[1], stride[1], dilation[1], padding)
    if ph == (0, 0) and pw == (0, 0):
        return x
    return np.pad(x, ((0, 0), ph, pw, (0, 0)), constant_values=value)


def _taps(x: np.ndarray, kernel: tuple[int, int], stride: tuple[int, int],
          dilation: tuple[int, int], padding: str, value: float = 0.0):
    """Yield (i, j, slice) for every kernel tap: the input values that tap sees."""
    oh = output_size(x.shape[1], kernel[0], stride[0], dilation[0], padding)
    ow = output_size(x.shape[2], kernel[1], stride[1], dilation[1], padding)
    xp = _pad_spatial(x, kernel, stride, dilation, padding, value)
    for i in range(kernel[0]):
        for j in range(kernel[1]):
            r0, c0 = i * dilation[0], j * dilation[1]
            yield i, j, xp[:, r0:r0 + stride[0] * (oh - 1) + 1:stride[0],
                           c0:c0 + stride[1] * (ow - 1) + 1:stride[1], :]


def im2col(x: np.ndarray, kernel: tuple[int, int], stride: tuple[int, int], dilation: tuple[int, int],
           padding: str) -> np.ndarray:
    """Patches (N, OH, OW, KH*KW*C) in (kh, kw, c) order, matching OHWI filters flattened."""
    if kernel == (1, 1) and stride == (1, 1):
        return x
    return np.concatenate([tap for _, _, tap in _taps(x, kernel, stride, dilation, padding)], axis=3)


def conv2d(x: np.ndarray, filters: np.ndarray, bias: np.ndarray | None, stride: tuple[int, int],
           padding: str, dilation: tuple[int, int] = (1, 1), activation: str = "NONE") -> np.ndarray:
    """2-D convolution; filters OHWI. One matrix product over im2col patches."""
    out_c, kh, kw, _ = filters.shape
    patches = im2col(x, (kh, kw), stride, dilation, padding)
    acc = patches.reshape(-1, patches.shape[3]) @ filters.reshape(out_c, -1).T
    acc = acc.reshape(*patches.shape[:3], out_c)
    if bias is not None:
        acc = acc + bias
    return ACTIVATIONS[activation](acc)


def depthwise_conv2d(x: np.ndarray, filters: np.ndarray, bias: np.ndarray | None,
                     stride: tuple[int, int], padding: str, depth_multiplier: int = 1,
                     dilation: tuple[int, int] = (1, 1), activation: str = "NONE") -> np.ndarray:
    """Depthwise convolution; filters 1HW(C*M), output channel c*M+m reads input channel c."""
    _, kh, kw, _ = filters.shape
    acc = None
    for i, j, tap in _taps(x, (kh, kw), stride, dilation, padding):
        src = np.repeat(tap, depth_multiplier, axis=3) if depth_multiplier > 1 else tap
        contrib = src * filters[0, i, j, :]
        acc = contrib if acc is None else acc + contrib
    if bias is not None:
        acc = acc + bias
    return ACTIVATIONS[activation](acc)


def fully_connected(x: np.ndarray, weights: np.ndarray, bias: np.ndarray | None,
                    activation: str = "NONE", keep_num_dims: bool = False) -> np.ndarray:
    """Fully connected layer; weights OI. The input is flattened to rows of I values."""
    in_features = weights.shape[1]
    rows = x.reshape(-1, in_features)
    # einsum, not BLAS: the same sums in the same order on every machine (models rebuild bit-exactly)
    out = np.einsum("ni,oi->no", rows, weights, optimize=False)
    if bias is not None:
        out = out + bias
    out = ACTIVATIONS[activation](out)
    if keep_num_dims:
        return out.reshape(*x.shape[:-1], weights.shape[0])
    return out.reshape(x.shape[0], -1) if x.shape[0] else out


def max_pool2d(x: np.ndarray, pool: tuple[int, int], stride: tuple[int, int], padding: str,
               activation: str = "NONE") -> np.ndarray:
    """Max pooling; padded positions never win."""
    out = None
    for _, _, tap in _taps(x, pool, stride, (1, 1), padding, value=-np.inf):
        out = tap if out is None else np.maximum(out, tap)
    return ACTIVATIONS[activation](out)


def average_pool2d(x: np.ndarray, pool: tuple[int, int], stride: tuple[int, int], padding: str,
                   activation: str = "NONE") -> np.ndarray:
    """Average pooling over the valid (unpadded) elements of each window."""
    total = None
    for _, _, tap in _taps(x, pool, stride, (1, 1), padding):
        total = tap if total is None else total + tap
    ones = np.ones((1, x.shape[1], x.shape[2], 1))
    count = None
    for _, _, tap in _taps(ones, pool, stride, (1, 1), padding):
        count = tap if count is None else count + tap
    return ACTIVATIONS[activation](total / count)


def add(a: np.ndarray, b: np.ndarray, activation: str = "NONE") -> np.ndarray:
    """Elementwise addition with numpy broadcasting."""
    return ACTIVATIONS[activation](a + b)


def softmax(x: np.ndarray, beta: float = 1.0) -> np.ndarray:
    """Softmax over the last axis."""
    z = beta * (x - np.max(x, axis=-1, keepdims=True))
    e = np.exp(z)
    return e / np.sum(e, axis=-1, keepdims=True)


def pad(x: np.ndarray, paddings: tuple[tuple[int, int], ...]) -> np.ndarray:
    """Zero padding; `paddings` has one (before, after) pair per dimension."""
    return np.pad(x, paddings, constant_values=0.0)


def mean(x: np.ndarray, axes: tuple[int, ...], keep_dims: bool) -> np.ndarray:
    """Mean over `axes`."""
    return np.mean(x, axis=axes, keepdims=keep_dims)
