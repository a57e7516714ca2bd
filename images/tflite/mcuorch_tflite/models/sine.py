"""`sine_model`: TFLite-Micro's hello_world network, trained here with numpy.

A 1 -> 16 -> 16 -> 1 ReLU MLP fitted to noisy sin(x), x in [0, 2 pi], as in the TFLite-Micro
example. Training uses einsum products (no BLAS) so the model rebuilds bit-exactly.
"""

from __future__ import annotations

import numpy as np

from ..builder import GraphBuilder
from .common import BundledModel
from .training import einsum_matmul, init_mlp, mlp_forward, train_mlp

GOLDEN_X = (0.5, 1.6, 3.3, 5.0)


def build(seed: int = 1) -> BundledModel:
    rng = np.random.default_rng(seed)
    x = rng.uniform(0.0, 2.0 * np.pi, size=(1000, 1))
    y = np.sin(x) + 0.1 * rng.normal(size=x.shape)
    x_train, y_train, x_test = x[:600], y[:600], x[800:]
    layers = init_mlp([1, 16, 16, 1], rng)
    history = train_mlp(layers, x_train, y_train, rng, epochs=500, batch_size=64, lr=0.005, matmul=einsum_matmul)
    test_rmse = float(np.sqrt(np.mean((mlp_forward(layers, x_test, einsum_matmul) - np.sin(x_test)) ** 2)))

    g = GraphBuilder("sine_model", "mcuorch bundled model sine_model")
    h = g.input("input_1", (1, 1))
    h = g.fully_connected(h, layers[0].weights, layers[0].bias, activation="RELU", name="dense_1")
    h = g.fully_connected(h, layers[1].weights, layers[1].bias, activation="RELU", name="dense_2")
    h = g.fully_connected(h, layers[2].weights, layers[2].bias, name="dense_3")
    g.output(h, name="Identity")
    graph = g.build()
    quantized = graph.convert([x_train])
    return BundledModel(
        name="sine_model", graph=graph, quantized=quantized,
        golden_inputs=[[np.array([[v]])] for v in GOLDEN_X],
        description="Smoke-test model in the shape of TFLite-Micro's hello_world: a 1-16-16-1 ReLU MLP "
                    "that approximates sin(x) for x in [0, 2 pi]. Full int8.",
        provenance=f"Trained by mcuorch-make-models with numpy (Adam, 500 epochs, 600 samples of "
                   f"sin(x) + N(0, 0.1) noise, seed {seed}); final training MSE {history[-1]:.4f}, RMSE against "
                   f"sin(x) on 200 held-out points {test_rmse:.3f}. Calibrated on the 600 training inputs.",
        input_descriptions=["x in [0, 2 pi]"],
        output_descriptions=["approximation of sin(x)"],
        golden_notes=[f"x = {v}, sin(x) = {np.sin(v):.3f}" for v in GOLDEN_X],
        extra={"float_test_rmse": round(test_rmse, 4)},
    )
