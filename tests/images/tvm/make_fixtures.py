#!/usr/bin/env python3
"""Regenerate the per-operator test models and their reference outputs in ``data/ops/``.

Needs the TFLite model builder (``images/tflite``) and both reference interpreters
(``tflite-micro`` and ``ai-edge-litert``), i.e. the ``tflite`` image or a dev venv:

    PYTHONPATH=images/tflite python tests/images/tvm/make_fixtures.py

The ``tvm`` image has neither, so its tests read the committed ``<case>.tflite`` and
``<case>.npz`` (inputs ``in_<v>_<i>``, TFLite-Micro outputs ``tflm_<v>_<o>``, LiteRT outputs
``litert_<v>_<o>``). Everything is seeded: rerunning gives the same files.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
from mcuorch_tflite.builder import GraphBuilder
from mcuorch_tflite.reference import run_litert, run_tflm

DATA = Path(__file__).resolve().parent / "data" / "ops"
VECTORS = 3
SAMPLES = 64


def _w(rng: np.random.Generator, *shape: int) -> np.ndarray:
    fan_in = int(np.prod(shape[1:])) if len(shape) > 1 else shape[0]
    return rng.normal(0.0, 1.0 / np.sqrt(fan_in), size=shape)


def _b(rng: np.random.Generator, n: int) -> np.ndarray:
    return rng.normal(0.0, 0.1, size=n)


def conv_same_s2_relu6(g: GraphBuilder, rng) -> None:
    x = g.input("x", (1, 9, 9, 3))
    g.output(g.conv2d(x, _w(rng, 5, 3, 3, 3), _b(rng, 5), stride=2, padding="SAME",
                      activation="RELU6"))


def conv_valid_rect(g: GraphBuilder, rng) -> None:
    x = g.input("x", (1, 8, 7, 4))
    g.output(g.conv2d(x, _w(rng, 6, 3, 2, 4), _b(rng, 6), padding="VALID"))


def conv_dilated_relu(g: GraphBuilder, rng) -> None:
    x = g.input("x", (1, 10, 10, 2))
    g.output(g.conv2d(x, _w(rng, 4, 3, 3, 2), _b(rng, 4), padding="SAME", dilation=2,
                      activation="RELU"))


def dw_same_s1_relu(g: GraphBuilder, rng) -> None:
    x = g.input("x", (1, 7, 6, 8))
    g.output(g.depthwise_conv2d(x, _w(rng, 1, 3, 3, 8), _b(rng, 8), padding="SAME",
                                activation="RELU"))


def dw_same_s2(g: GraphBuilder, rng) -> None:
    x = g.input("x", (1, 8, 8, 6))
    g.output(g.depthwise_conv2d(x, _w(rng, 1, 3, 3, 6), _b(rng, 6), stride=2, padding="SAME"))


def dw_valid_mult2(g: GraphBuilder, rng) -> None:
    x = g.input("x", (1, 7, 7, 4))
    g.output(g.depthwise_conv2d(x, _w(rng, 1, 3, 3, 8), _b(rng, 8), padding="VALID",
                                depth_multiplier=2))


def fc_relu(g: GraphBuilder, rng) -> None:
    x = g.input("x", (1, 20))
    g.output(g.fully_connected(x, _w(rng, 7, 20), _b(rng, 7), activation="RELU"))


def fc_keep_dims(g: GraphBuilder, rng) -> None:
    x = g.input("x", (1, 4, 6))
    g.output(g.fully_connected(x, _w(rng, 3, 6), _b(rng, 3), keep_num_dims=True))


def avgpool_same_s2(g: GraphBuilder, rng) -> None:
    x = g.input("x", (1, 10, 8, 4))
    g.output(g.average_pool2d(x, 3, stride=2, padding="SAME"))


def avgpool_global(g: GraphBuilder, rng) -> None:
    x = g.input("x", (1, 25, 5, 16))
    g.output(g.average_pool2d(x, (25, 5)))


def avgpool_relu6(g: GraphBuilder, rng) -> None:
    x = g.input("x", (1, 6, 6, 3))
    g.output(g.average_pool2d(x, 2, padding="VALID", activation="RELU6"))


def maxpool_valid(g: GraphBuilder, rng) -> None:
    x = g.input("x", (1, 10, 8, 4))
    g.output(g.max_pool2d(x, 2))


def maxpool_same_s2(g: GraphBuilder, rng) -> None:
    x = g.input("x", (1, 9, 7, 3))
    g.output(g.max_pool2d(x, 3, stride=2, padding="SAME"))


def add_two_inputs(g: GraphBuilder, rng) -> None:
    a = g.input("a", (1, 6, 6, 3))
    b = g.input("b", (1, 6, 6, 3))
    g.output(g.add(a, b))


def add_relu_broadcast(g: GraphBuilder, rng) -> None:
    a = g.input("a", (1, 4, 4, 3))
    b = g.input("b", (1, 1, 1, 3))
    g.output(g.add(a, b, activation="RELU"))


def softmax_vector(g: GraphBuilder, rng) -> None:
    x = g.input("x", (1, 10))
    g.output(g.softmax(x))


def softmax_4d(g: GraphBuilder, rng) -> None:
    x = g.input("x", (1, 1, 1, 12))
    g.output(g.softmax(x))


def pad_spatial(g: GraphBuilder, rng) -> None:
    x = g.input("x", (1, 5, 5, 3))
    g.output(g.pad(x, [(0, 0), (1, 2), (2, 1), (0, 0)]))


def pad_then_conv(g: GraphBuilder, rng) -> None:
    x = g.input("x", (1, 6, 6, 2))
    p = g.pad(x, [(0, 0), (1, 1), (1, 1), (0, 0)])
    g.output(g.conv2d(p, _w(rng, 3, 3, 3, 2), _b(rng, 3), padding="VALID"))


def mean_keep_dims(g: GraphBuilder, rng) -> None:
    x = g.input("x", (1, 6, 5, 8))
    g.output(g.mean(x, (1, 2)))


def mean_no_keep_dims(g: GraphBuilder, rng) -> None:
    x = g.input("x", (1, 4, 4, 6))
    g.output(g.mean(x, (1, 2), keep_dims=False))


def reshape_fc(g: GraphBuilder, rng) -> None:
    x = g.input("x", (1, 4, 6, 2))
    y = g.reshape(x, (1, 48))
    g.output(g.fully_connected(y, _w(rng, 5, 48), _b(rng, 5)))


def reshape_output(g: GraphBuilder, rng) -> None:
    x = g.input("x", (1, 12))
    y = g.fully_connected(x, _w(rng, 8, 12), _b(rng, 8))
    g.output(g.reshape(y, (1, 2, 4)))


def multi_output(g: GraphBuilder, rng) -> None:
    x = g.input("x", (1, 8, 8, 3))
    h = g.conv2d(x, _w(rng, 4, 3, 3, 3), _b(rng, 4), padding="SAME")
    g.output(g.max_pool2d(h, 2))
    g.output(g.mean(h, (1, 2), keep_dims=False))


def residual_block(g: GraphBuilder, rng) -> None:
    x = g.input("x", (1, 8, 8, 4))
    h = g.conv2d(x, _w(rng, 4, 3, 3, 4), _b(rng, 4), padding="SAME", activation="RELU")
    h = g.conv2d(h, _w(rng, 4, 3, 3, 4), _b(rng, 4), padding="SAME")
    g.output(g.add(x, h, activation="RELU"))


def small_classifier(g: GraphBuilder, rng) -> None:
    x = g.input("x", (1, 12, 10, 1))
    h = g.conv2d(x, _w(rng, 8, 4, 3, 1), _b(rng, 8), stride=2, padding="SAME", activation="RELU")
    h = g.depthwise_conv2d(h, _w(rng, 1, 3, 3, 8), _b(rng, 8), padding="SAME", activation="RELU")
    h = g.conv2d(h, _w(rng, 8, 1, 1, 8), _b(rng, 8), activation="RELU")
    h = g.average_pool2d(h, (6, 5))
    h = g.reshape(h, (1, 8))
    g.output(g.softmax(g.fully_connected(h, _w(rng, 4, 8), _b(rng, 4))))


CASES: dict[str, Callable[[GraphBuilder, np.random.Generator], None]] = {
    f.__name__: f
    for f in (
        conv_same_s2_relu6, conv_valid_rect, conv_dilated_relu, dw_same_s1_relu, dw_same_s2,
        dw_valid_mult2, fc_relu, fc_keep_dims, avgpool_same_s2, avgpool_global, avgpool_relu6,
        maxpool_valid, maxpool_same_s2, add_two_inputs, add_relu_broadcast, softmax_vector,
        softmax_4d, pad_spatial, pad_then_conv, mean_keep_dims, mean_no_keep_dims, reshape_fc,
        reshape_output, multi_output, residual_block, small_classifier,
    )
}


def make_case(name: str, seed: int) -> tuple[bytes, dict[str, np.ndarray]]:
    rng = np.random.default_rng(seed)
    g = GraphBuilder(name)
    CASES[name](g, rng)
    graph = g.build()
    shapes = [t.shape for t in (graph.tensors[i] for i in graph.inputs)]
    samples = [rng.normal(0.0, 1.0, size=(SAMPLES,) + tuple(s[1:])) for s in shapes]
    model = graph.quantize(graph.calibrate(samples))
    data = model.to_bytes()
    vectors = [
        [model.quantize_input(i, samples[i][v : v + 1]) for i in range(len(shapes))]
        for v in range(VECTORS)
    ]
    arrays: dict[str, np.ndarray] = {}
    for v, inputs in enumerate(vectors):
        for i, x in enumerate(inputs):
            arrays[f"in_{v}_{i}"] = x
    for engine, run in (("tflm", run_tflm), ("litert", run_litert)):
        for v, outputs in enumerate(run(data, vectors)):
            for o, y in enumerate(outputs):
                arrays[f"{engine}_{v}_{o}"] = y
    return data, arrays


def make_unsupported(seed: int) -> bytes:
    """A valid model whose only operator is LOG_SOFTMAX (not supported by tvmaot)."""
    rng = np.random.default_rng(seed)
    g = GraphBuilder("unsupported_log_softmax")
    softmax_vector(g, rng)
    graph = g.build()
    model = graph.quantize(graph.calibrate([rng.normal(size=(SAMPLES, 10))]))
    model.operators[0].opcode = "LOG_SOFTMAX"
    model.operators[0].options_type = None
    model.operators[0].options = {}
    return model.to_bytes()


def main() -> int:
    DATA.mkdir(parents=True, exist_ok=True)
    for seed, name in enumerate(CASES):
        data, arrays = make_case(name, seed)
        (DATA / f"{name}.tflite").write_bytes(data)
        with open(DATA / f"{name}.npz", "wb") as f:
            np.savez(f, **arrays)
        print(f"{name}: {len(data)} bytes")
    (DATA.parent / "unsupported_log_softmax.tflite").write_bytes(make_unsupported(1000))
    return 0


if __name__ == "__main__":
    sys.exit(main())
