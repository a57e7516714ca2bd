#!/usr/bin/env python3
"""Regenerate the integer-kernel test models and TFLite-Micro reference outputs in ``data/``.

Cases that exercise the integer schedules beyond ``tests/images/tvm/data/ops``: register
blocking and its leftovers, the padded-plane and guarded depthwise paths, the first KWS
convolution shape, batched FULLY_CONNECTED, ADD with different input scales, SOFTMAX over a
range of input scales and betas, MEAN over several axes.

Needs the model builder (``images/tflite``) and ``tflite-micro`` (dev venv or ``tflite`` image):

    PYTHONPATH=images/tflite python tests/images/tvm/integer/make_fixtures.py

Each case gets ``<case>.tflite`` and ``<case>.npz`` (inputs ``in_<v>_<i>``, TFLite-Micro
outputs ``tflm_<v>_<o>``), the format of ``tests/images/tvm/data/ops``. Seeded: reruns give
the same files.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
from fixture_files import record_case
from mcuorch_tflite.builder import GraphBuilder

DATA = Path(__file__).resolve().parent / "data"
VECTORS = 4
SAMPLES = 64


def _w(rng: np.random.Generator, *shape: int) -> np.ndarray:
    fan_in = int(np.prod(shape[1:])) if len(shape) > 1 else shape[0]
    return rng.normal(0.0, 1.0 / np.sqrt(fan_in), size=shape)


def _b(rng: np.random.Generator, n: int) -> np.ndarray:
    return rng.normal(0.0, 0.2, size=n)


def conv_kws_first(g, rng, _):
    """KWS first layer: 10x4 kernel, stride 2, SAME padding on a 49x10x1 input."""
    x = g.input("x", (1, 49, 10, 1))
    g.output(g.conv2d(x, _w(rng, 8, 10, 4, 1), _b(rng, 8), stride=2, padding="SAME", activation="RELU"))


def conv_3x3_blocked(g, rng, _):
    """3x3 SAME on a 12-wide row: 4x4 blocks, border rows/columns, channel count 16."""
    x = g.input("x", (1, 10, 12, 8))
    g.output(g.conv2d(x, _w(rng, 16, 3, 3, 8), _b(rng, 16), padding="SAME", activation="RELU6"))


def conv_channel_tail(g, rng, _):
    """7 output channels (no block divides it: a tail block) and a 5-wide row."""
    x = g.input("x", (1, 6, 5, 3))
    g.output(g.conv2d(x, _w(rng, 7, 3, 3, 3), _b(rng, 7), padding="SAME"))


def conv_1x1_s2(g, rng, _):
    """Pointwise, stride 2 (the ResNet shortcut)."""
    x = g.input("x", (1, 8, 8, 8))
    g.output(g.conv2d(x, _w(rng, 16, 1, 1, 8), _b(rng, 16), stride=2, padding="SAME"))


def conv_s2_asym_pad(g, rng, _):
    """3x3 stride 2 SAME on an even size: padding only at the bottom/right."""
    x = g.input("x", (1, 8, 8, 4))
    g.output(g.conv2d(x, _w(rng, 8, 3, 3, 4), _b(rng, 8), stride=2, padding="SAME", activation="RELU"))


def dw_plane_relu6(g, rng, _):
    """Depthwise with a small padded plane (stack copy path)."""
    x = g.input("x", (1, 9, 6, 6))
    g.output(g.depthwise_conv2d(x, _w(rng, 1, 3, 3, 6), _b(rng, 6), padding="SAME", activation="RELU6"))


def dw_guarded_large(g, rng, _):
    """Depthwise whose padded plane exceeds 1 KiB: guarded border path."""
    x = g.input("x", (1, 34, 34, 2))
    g.output(g.depthwise_conv2d(x, _w(rng, 1, 3, 3, 2), _b(rng, 2), padding="SAME", activation="RELU"))


def dw_5x5_mult3(g, rng, _):
    """5x5 taps, depth multiplier 3, stride 2."""
    x = g.input("x", (1, 9, 9, 2))
    g.output(g.depthwise_conv2d(x, _w(rng, 1, 5, 5, 6), _b(rng, 6), stride=2, padding="SAME",
                                depth_multiplier=3))


def fc_batched(g, rng, _):
    """FULLY_CONNECTED on 3 rows (keep_num_dims), 10 outputs (block tail)."""
    x = g.input("x", (1, 3, 24))
    g.output(g.fully_connected(x, _w(rng, 10, 24), _b(rng, 10), keep_num_dims=True, activation="RELU"))


def add_scales(g, rng, _):
    """ADD of tensors with very different scales (conv output + raw input), fused RELU6."""
    x = g.input("x", (1, 6, 6, 4))
    y = g.conv2d(x, 3.0 * _w(rng, 4, 1, 1, 4), padding="VALID")
    g.output(g.add(y, x, activation="RELU6"))


def add_three_inputs(g, rng, _):
    """Two ADDs over three graph inputs with their own quantization."""
    a = g.input("a", (1, 5, 5, 3))
    b = g.input("b", (1, 5, 5, 3))
    c = g.input("c", (1, 1, 1, 3))
    g.output(g.add(g.add(a, b), c))


def softmax_scale(scale: float, beta: float = 1.0) -> Callable:
    def build(g, rng, _):
        x = g.input("x", (1, 2, 12))
        g.output(g.softmax(x, beta=beta))
    build.sample_range = scale  # type: ignore[attr-defined]
    return build


def mean_channels(g, rng, _):
    """MEAN over the channel axis (not the spatial pair)."""
    x = g.input("x", (1, 4, 5, 6))
    g.output(g.mean(x, axis=(3,), keep_dims=False))


def mean_spatial_after_conv(g, rng, _):
    """Global average as MEAN(1, 2) after a conv (different in/out quantization)."""
    x = g.input("x", (1, 7, 7, 4))
    y = g.conv2d(x, _w(rng, 8, 3, 3, 4), _b(rng, 8), padding="SAME", activation="RELU")
    g.output(g.mean(y, axis=(1, 2), keep_dims=True))


def avgpool_same_relu(g, rng, _):
    x = g.input("x", (1, 7, 9, 3))
    g.output(g.average_pool2d(x, pool=(3, 3), stride=2, padding="SAME", activation="RELU"))


CASES: dict[str, Callable] = {
    "conv_kws_first": conv_kws_first,
    "conv_3x3_blocked": conv_3x3_blocked,
    "conv_channel_tail": conv_channel_tail,
    "conv_1x1_s2": conv_1x1_s2,
    "conv_s2_asym_pad": conv_s2_asym_pad,
    "dw_plane_relu6": dw_plane_relu6,
    "dw_guarded_large": dw_guarded_large,
    "dw_5x5_mult3": dw_5x5_mult3,
    "fc_batched": fc_batched,
    "add_scales": add_scales,
    "add_three_inputs": add_three_inputs,
    "softmax_scale_0p05": softmax_scale(0.05),
    "softmax_scale_1": softmax_scale(1.0),
    "softmax_scale_8": softmax_scale(8.0),
    "softmax_scale_40_beta_0p5": softmax_scale(40.0, beta=0.5),
    "mean_channels": mean_channels,
    "mean_spatial_after_conv": mean_spatial_after_conv,
    "avgpool_same_relu": avgpool_same_relu,
}


def make(name: str, build: Callable, seed: int) -> None:
    rng = np.random.default_rng(seed)
    g = GraphBuilder(name)
    build(g, rng, None)
    graph = g.build()
    scale = getattr(build, "sample_range", 1.0)
    shapes = [graph.tensors[i].shape for i in graph.inputs]
    samples = [rng.uniform(-scale, scale, size=(SAMPLES,) + tuple(s[1:])) for s in shapes]
    model = graph.quantize(graph.calibrate(samples))
    data = model.to_bytes()
    vectors = []
    for v in range(VECTORS):
        vectors.append([rng.integers(-128, 128, size=s, dtype=np.int8) for s in shapes])
    record_case(DATA, name, data, vectors)


def main() -> int:
    DATA.mkdir(parents=True, exist_ok=True)
    for seed, (name, build) in enumerate(sorted(CASES.items())):
        make(name, build, seed)
        print(name)
    return 0


if __name__ == "__main__":
    sys.exit(main())
