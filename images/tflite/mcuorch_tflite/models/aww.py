"""`aww`: MLPerf Tiny keyword spotting (DS-CNN small) in shape, on a synthetic keyword task.

49 x 10 x 1 MFCC-like input -> CONV_2D 10x4 stride 2 (64) -> 4 x (DEPTHWISE 3x3 + CONV_2D 1x1,
64) -> AVERAGE_POOL 25x5 -> RESHAPE -> FULLY_CONNECTED 12 -> SOFTMAX, ReLU everywhere.
"""

from __future__ import annotations

import numpy as np

from ..builder import GraphBuilder
from .common import BundledModel, NormalizedNetwork, bundled_classifier, finish_classifier
from .datasets import KeywordTask

EPOCHS = 0  # the normalised random features already separate the synthetic keywords
LABELS = ("silence", "unknown") + tuple(f"keyword{k}" for k in range(10))


def build(seed: int = 2) -> BundledModel:
    rng = np.random.default_rng(seed)
    task = KeywordTask(seed + 1000)
    x_cal, _ = task.sample(256, rng)
    x_train, y_train = task.sample(3000, rng)
    x_test, y_test = task.sample(600, rng)

    g = GraphBuilder("aww", "mcuorch bundled model aww")
    net = NormalizedNetwork(g, rng, [x_cal])
    h = net.input("input_1", (1, 49, 10, 1))
    h = net.conv(h, 64, (10, 4), stride=2)
    for _ in range(4):
        h = net.depthwise(h, (3, 3))
        h = net.conv(h, 64, (1, 1))
    h = net.average_pool(h, (25, 5))
    h = net.reshape(h, (1, 64))
    graph, stats = finish_classifier(g, h, (x_train, y_train, x_test, y_test), len(LABELS), rng, epochs=EPOCHS)
    return bundled_classifier(
        "aww", graph, stats, x_cal, (x_test, y_test), LABELS,
        description="Keyword spotting network with the layer shapes of the MLPerf Tiny DS-CNN (small): "
                    "49x10 MFCC-like input, 12 classes. Full int8.",
        provenance=(f"Not trained on speech (no dataset is reachable where models are built). Conv/depthwise "
                    f"filters are seeded He-normal draws (seed {seed}), each layer rescaled on 256 synthetic "
                    f"inputs so every channel's pre-activation has zero mean and unit variance (batch norm "
                    f"folded on that data). The final FULLY_CONNECTED layer is fitted by ridge regression on "
                    f"3000 samples of a synthetic 12-class keyword task (seeded phone templates painted on "
                    f"MFCC-like frames), softmax temperature fitted on 600 held-out samples. Float accuracy on "
                    f"those: train {stats.train_accuracy:.1%}, held-out {stats.test_accuracy:.1%}. Calibrated on "
                    f"256 synthetic inputs."),
        input_description="49 frames x 10 MFCC-like coefficients (synthetic)",
        output_description="probabilities of silence, unknown, keyword0..keyword9",
        golden_note="synthetic sample of class {label}",
    )
