"""`toycar`: MLPerf Tiny anomaly detection (fully connected autoencoder) in shape.

640 -> 128 x 4 -> 8 -> 128 x 4 -> 640, ReLU on every hidden layer, linear output, no softmax.
"""

from __future__ import annotations

import numpy as np

from ..builder import GraphBuilder
from .common import BundledModel
from .datasets import machine_spectra
from .training import init_mlp, mlp_forward, train_mlp

SIZES = [640, 128, 128, 128, 128, 8, 128, 128, 128, 128, 640]


def _auc(normal: np.ndarray, anomalous: np.ndarray) -> float:
    return float(np.mean(anomalous[:, None] > normal[None, :]) + 0.5 * np.mean(anomalous[:, None] == normal[None, :]))


def build(seed: int = 5) -> BundledModel:
    rng = np.random.default_rng(seed)
    x_train = machine_spectra(4000, rng)
    x_test = machine_spectra(200, rng)
    x_anom = machine_spectra(200, rng, anomalous=True)
    layers = init_mlp(SIZES, rng)
    history = train_mlp(layers, x_train, x_train, rng, epochs=30, batch_size=64, lr=1e-3)
    err_n = np.mean((mlp_forward(layers, x_test) - x_test) ** 2, axis=1)
    err_a = np.mean((mlp_forward(layers, x_anom) - x_anom) ** 2, axis=1)
    auc = _auc(err_n, err_a)

    g = GraphBuilder("toycar", "mcuorch bundled model toycar")
    h = g.input("input_1", (1, 640))
    for k, layer in enumerate(layers):
        act = "RELU" if k < len(layers) - 1 else "NONE"
        h = g.fully_connected(h, layer.weights, layer.bias, activation=act, name=f"dense_{k + 1}")
    g.output(h, name="Identity")
    graph = g.build()
    quantized = graph.convert([x_train[:500]])
    return BundledModel(
        name="toycar", graph=graph, quantized=quantized,
        golden_inputs=[[x_test[0:1]], [x_test[1:2]], [x_anom[0:1]], [x_anom[1:2]]],
        description="Anomaly-detection autoencoder with the layer shapes of MLPerf Tiny's ToyCar model: "
                    "5 frames x 128 log-mel-like bins in, their reconstruction out. Full int8, no softmax.",
        provenance=(f"Trained by mcuorch-make-models with numpy (Adam, 30 epochs, MSE reconstruction, seed {seed}) "
                    f"on 4000 synthetic 'machine' spectra (a drifting harmonic series over a noise floor, "
                    f"log-scaled and standardised), not on ToyADMOS. Final training MSE {history[-1]:.4f}; "
                    f"reconstruction error separates 200 synthetic anomalies (extra inharmonic partial and a "
                    f"click) from 200 normal samples with AUC {auc:.3f} in float. Calibrated on 500 training samples."),
        input_descriptions=["5 x 128 log-mel-like frames, flattened (synthetic)"],
        output_descriptions=["reconstruction of the input"],
        golden_notes=["normal sample", "normal sample", "anomalous sample", "anomalous sample"],
        extra={"float_auc_synthetic": round(auc, 4)},
    )
