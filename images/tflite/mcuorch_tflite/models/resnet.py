"""`resnet`: MLPerf Tiny image classification (ResNet-8, CIFAR-10 shapes) in shape.

CONV_2D 3x3 (16) -> 3 residual stacks (16, 32 stride 2, 64 stride 2; two 3x3 convs each, a
1x1 stride-2 shortcut conv in stacks 2 and 3, ADD with fused ReLU) -> AVERAGE_POOL 8x8 ->
RESHAPE -> FULLY_CONNECTED 10 -> SOFTMAX: 9 CONV_2D, 3 ADD.
"""

from __future__ import annotations

import numpy as np

from ..builder import GraphBuilder
from .common import BundledModel, NormalizedNetwork, bundled_classifier, finish_classifier
from .datasets import SHAPE_CLASSES, shape_images

TRAIN_SAMPLES, EPOCHS, LEARNING_RATE = 3000, 6, 2e-3


def build(seed: int = 4) -> BundledModel:
    rng = np.random.default_rng(seed)
    x_cal, _ = shape_images(256, rng)
    x_train, y_train = shape_images(TRAIN_SAMPLES, rng)
    x_test, y_test = shape_images(600, rng)

    g = GraphBuilder("resnet", "mcuorch bundled model resnet")
    net = NormalizedNetwork(g, rng, [x_cal])
    x = net.input("input_1", (1, 32, 32, 3))
    x = net.conv(x, 16, (3, 3))
    for channels, stride in ((16, 1), (32, 2), (64, 2)):
        y = net.conv(x, channels, (3, 3), stride=stride)
        y = net.conv(y, channels, (3, 3), activation="NONE")
        shortcut = x if stride == 1 else net.conv(x, channels, (1, 1), stride=stride, activation="NONE")
        x = net.add(shortcut, y, activation="RELU")
    x = net.average_pool(x, (8, 8))
    x = net.reshape(x, (1, 64))
    graph, stats = finish_classifier(g, x, (x_train, y_train, x_test, y_test), len(SHAPE_CLASSES), rng,
                                     epochs=EPOCHS, lr=LEARNING_RATE)
    return bundled_classifier(
        "resnet", graph, stats, x_cal, (x_test, y_test), SHAPE_CLASSES,
        description="Image classifier with the layer shapes of MLPerf Tiny's ResNet-8: 32x32 RGB input "
                    "in [0, 1], 10 classes. Full int8.",
        provenance=(f"Not trained on CIFAR-10 (no dataset is reachable where models are built). "
                    f"Initialised with seeded He-normal filters (seed {seed}), each layer rescaled on 256 "
                    f"synthetic images so every channel's pre-activation has zero mean and unit variance "
                    f"(batch norm folded on that data), classifier initialised by ridge regression; then all "
                    f"layers trained with numpy backprop (Adam, lr {LEARNING_RATE}, {EPOCHS} epochs, weight "
                    f"decay 5e-4, cross-entropy with label smoothing 0.1) on {TRAIN_SAMPLES} synthetic images "
                    f"of 10 shape/texture classes ({', '.join(SHAPE_CLASSES)}; final loss {stats.losses[-1]:.3f}). Float accuracy: train "
                    f"{stats.train_accuracy:.1%}, 600 held-out images {stats.test_accuracy:.1%}. Calibrated on "
                    f"256 synthetic images."),
        input_description="32x32 RGB image in [0, 1] (synthetic)",
        output_description=f"probabilities of {', '.join(SHAPE_CLASSES)}",
        golden_note="synthetic image of class {label}",
    )
