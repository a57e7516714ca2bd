"""`vww`: MLPerf Tiny visual wake words (MobileNetV1, alpha 0.25, 96 x 96 RGB) in shape.

CONV_2D 3x3 stride 2 (8) -> 13 depthwise-separable blocks (16, 32, 32, 64, 64, 128 x 6, 256,
256; stride 2 at blocks 2, 4, 6, 12) -> AVERAGE_POOL 3x3 -> RESHAPE -> FULLY_CONNECTED 2 ->
SOFTMAX, ReLU6 activations.
"""

from __future__ import annotations

import numpy as np

from ..builder import GraphBuilder
from .common import BundledModel, NormalizedNetwork, bundled_classifier, finish_classifier
from .datasets import person_images

LABELS = ("no_person", "person")
TRAIN_SAMPLES, EPOCHS, LEARNING_RATE = 1500, 8, 3e-3
BLOCKS = ((16, 1), (32, 2), (32, 1), (64, 2), (64, 1), (128, 2), (128, 1), (128, 1), (128, 1), (128, 1),
          (128, 1), (256, 2), (256, 1))


def build(seed: int = 3) -> BundledModel:
    rng = np.random.default_rng(seed)
    x_cal, _ = person_images(96, rng)
    x_train, y_train = person_images(TRAIN_SAMPLES, rng)
    x_test, y_test = person_images(300, rng)

    g = GraphBuilder("vww", "mcuorch bundled model vww")
    net = NormalizedNetwork(g, rng, [x_cal])
    h = net.input("input_1", (1, 96, 96, 3))
    h = net.conv(h, 8, (3, 3), stride=2, activation="RELU6")
    for channels, stride in BLOCKS:
        h = net.depthwise(h, (3, 3), stride=stride, activation="RELU6")
        h = net.conv(h, channels, (1, 1), activation="RELU6")
    h = net.average_pool(h, (3, 3))
    h = net.reshape(h, (1, 256))
    graph, stats = finish_classifier(g, h, (x_train, y_train, x_test, y_test), len(LABELS), rng,
                                     epochs=EPOCHS, lr=LEARNING_RATE)
    return bundled_classifier(
        "vww", graph, stats, x_cal, (x_test, y_test), LABELS,
        description="Visual wake words network with the layer shapes of MLPerf Tiny's MobileNetV1 "
                    "(alpha 0.25): 96x96 RGB input in [-1, 1], 2 classes. Full int8.",
        provenance=(f"Not trained on images of people (no dataset is reachable where models are built). "
                    f"Initialised with seeded He-normal filters (seed {seed}), each layer rescaled on 96 "
                    f"synthetic scenes so every channel's pre-activation has zero mean and unit variance "
                    f"(batch norm folded on that data), classifier initialised by ridge regression; then "
                    f"all layers trained with numpy backprop (Adam, lr {LEARNING_RATE}, {EPOCHS} epochs, "
                    f"weight decay 5e-4, cross-entropy with label smoothing 0.1) on {TRAIN_SAMPLES} synthetic "
                    f"scenes (random backgrounds with or without a drawn head/torso/legs figure; final loss {stats.losses[-1]:.3f}). Float accuracy: train "
                    f"{stats.train_accuracy:.1%}, 300 held-out scenes {stats.test_accuracy:.1%}. Calibrated on "
                    f"96 synthetic scenes."),
        input_description="96x96 RGB image scaled to [-1, 1] (synthetic)",
        output_description="probabilities of no_person, person",
        golden_note="synthetic scene, label {label}",
    )
