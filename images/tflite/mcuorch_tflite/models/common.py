"""Shared pieces of the bundled-model recipes.

No dataset is reachable where models are generated, so the CNN feature layers are not
trained: `NormalizedNetwork` draws seeded He-normal filters and rescales every layer on a
batch of representative inputs so that each channel's pre-activation has zero mean and
unit variance, exactly what a trained batch-normalisation layer folded into the
convolution does. Activations are then neither dead nor saturated, and quantization sees
realistic ranges. The classifier's last layer is fitted afterwards (ridge regression on a
synthetic labelled task, see `training.fit_linear_head`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .. import nn
from ..builder import FloatGraph, GraphBuilder, QuantizedModel, Tensor


@dataclass
class BundledModel:
    """Everything needed to write a `models/<name>/` folder."""

    name: str
    graph: FloatGraph
    quantized: QuantizedModel
    golden_inputs: list[list[np.ndarray]]  # float values, per vector one array per input
    description: str
    provenance: str
    input_descriptions: list[str]
    output_descriptions: list[str]
    golden_notes: list[str] = field(default_factory=list)  # one short note per vector
    extra: dict[str, Any] = field(default_factory=dict)  # figures for definition.yml
    test_set: tuple[np.ndarray, np.ndarray] | None = None  # float inputs, labels (classifiers)


class NormalizedNetwork:
    """A `GraphBuilder` front end that draws and normalises weights layer by layer.

    `batch` holds one array per input (N representative samples); the value of every tensor
    on that batch is tracked so each new layer can be normalised on its real input.
    """

    def __init__(self, builder: GraphBuilder, rng: np.random.Generator, batch: Sequence[np.ndarray]) -> None:
        self.g = builder
        self.rng = rng
        self._batch = list(batch)
        self._values: dict[int, np.ndarray] = {}
        self._num_inputs = 0

    def value(self, t: Tensor) -> np.ndarray:
        return self._values[t.index]

    def input(self, name: str, shape: Sequence[int]) -> Tensor:
        t = self.g.input(name, shape)
        self._values[t.index] = np.asarray(self._batch[self._num_inputs], dtype=np.float64)
        self._num_inputs += 1
        return t

    @staticmethod
    def _normalise(z: np.ndarray, axes: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray]:
        mu = z.mean(axis=axes)
        sd = z.std(axis=axes) + 1e-8
        return mu, sd

    def conv(self, x: Tensor, out_channels: int, kernel: tuple[int, int], *, stride: int = 1,
             padding: str = "SAME", activation: str = "RELU", name: str | None = None) -> Tensor:
        xv = self.value(x)
        fan_in = kernel[0] * kernel[1] * x.shape[3]
        w = self.rng.normal(0.0, np.sqrt(2.0 / fan_in), size=(out_channels, *kernel, x.shape[3]))
        z = nn.conv2d(xv, w, None, (stride, stride), padding)
        mu, sd = self._normalise(z, (0, 1, 2))
        w = w / sd[:, None, None, None]
        b = -mu / sd
        out = self.g.conv2d(x, w, b, stride=stride, padding=padding, activation=activation, name=name)
        self._values[out.index] = nn.ACTIVATIONS[activation]((z - mu) / sd)
        return out

    def depthwise(self, x: Tensor, kernel: tuple[int, int], *, stride: int = 1, padding: str = "SAME",
                  activation: str = "RELU", name: str | None = None) -> Tensor:
        xv = self.value(x)
        w = self.rng.normal(0.0, np.sqrt(2.0 / (kernel[0] * kernel[1])), size=(1, *kernel, x.shape[3]))
        z = nn.depthwise_conv2d(xv, w, None, (stride, stride), padding)
        mu, sd = self._normalise(z, (0, 1, 2))
        w = w / sd[None, None, None, :]
        b = -mu / sd
        out = self.g.depthwise_conv2d(x, w, b, stride=stride, padding=padding, activation=activation, name=name)
        self._values[out.index] = nn.ACTIVATIONS[activation]((z - mu) / sd)
        return out

    def dense(self, x: Tensor, units: int, *, activation: str = "RELU", name: str | None = None) -> Tensor:
        xv = self.value(x).reshape(self.value(x).shape[0], -1)
        w = self.rng.normal(0.0, np.sqrt(2.0 / xv.shape[1]), size=(units, xv.shape[1]))
        z = xv @ w.T
        mu, sd = self._normalise(z, (0,))
        w = w / sd[:, None]
        b = -mu / sd
        out = self.g.fully_connected(x, w, b, activation=activation, name=name)
        self._values[out.index] = nn.ACTIVATIONS[activation]((z - mu) / sd)
        return out

    def add(self, a: Tensor, b: Tensor, *, activation: str = "RELU", name: str | None = None) -> Tensor:
        out = self.g.add(a, b, activation=activation, name=name)
        self._values[out.index] = nn.add(self.value(a), self.value(b), activation)
        return out

    def average_pool(self, x: Tensor, pool: tuple[int, int], *, name: str | None = None) -> Tensor:
        out = self.g.average_pool2d(x, pool, name=name)
        self._values[out.index] = nn.average_pool2d(self.value(x), pool, pool, "VALID")
        return out

    def reshape(self, x: Tensor, shape: Sequence[int], *, name: str | None = None) -> Tensor:
        out = self.g.reshape(x, shape, name=name)
        self._values[out.index] = self.value(x).reshape((self.value(x).shape[0],) + out.shape[1:])
        return out


def pick_golden(labels: np.ndarray, predictions: np.ndarray, count: int) -> list[int]:
    """Indices of `count` test samples taking classes in turn (first-seen order) and preferring
    correctly classified ones, so the golden vectors exercise different outputs."""
    order = list(dict.fromkeys(int(y) for y in labels))
    correct = {c: [i for i, (y, p) in enumerate(zip(labels, predictions)) if y == c and p == c] for c in order}
    wrong = {c: [i for i, (y, p) in enumerate(zip(labels, predictions)) if y == c and p != c] for c in order}
    queues = {c: correct[c] + wrong[c] for c in order}
    chosen: list[int] = []
    while len(chosen) < min(count, len(labels)):
        for c in order:
            if queues[c] and len(chosen) < count:
                chosen.append(queues[c].pop(0))
    return chosen


@dataclass
class ClassifierStats:
    """How the classifier head and the network were fitted (for definition.yml)."""

    epochs: int
    losses: list[float]
    train_accuracy: float
    test_accuracy: float


def finish_classifier(g: GraphBuilder, features: Tensor, data: tuple[np.ndarray, ...], num_classes: int,
                      rng: np.random.Generator, *, epochs: int, lr: float = 1e-3,
                      batch_size: int = 32) -> tuple[FloatGraph, ClassifierStats]:
    """Add FULLY_CONNECTED + SOFTMAX ("Identity") on `features` and train the whole network.

    The head starts from a ridge-regression fit on the initial features, then every weight is
    trained with Adam on cross-entropy (`backprop.train_classifier`). `data` is
    (x_train, y_train, x_test, y_test).
    """
    from .backprop import train_classifier
    from .training import fit_linear_head

    x_train, y_train, x_test, y_test = data
    f_train, = g.evaluate([features], [x_train])
    f_test, = g.evaluate([features], [x_test])
    head = fit_linear_head(f_train, y_train, f_test, y_test, num_classes)
    logits = g.fully_connected(features, head.weights, head.bias, name="logits")
    g.output(g.softmax(logits), name="Identity")
    graph = g.build()
    losses = train_classifier(graph, logits.index, x_train, y_train, rng, epochs=epochs,
                              batch_size=batch_size, lr=lr) if epochs else []

    def accuracy(x: np.ndarray, y: np.ndarray) -> float:
        probs = np.concatenate([graph.run([x[s:s + 64]])[0] for s in range(0, len(x), 64)])
        return float(np.mean(np.argmax(probs, axis=1) == y))

    return graph, ClassifierStats(epochs, losses, accuracy(x_train, y_train), accuracy(x_test, y_test))


def bundled_classifier(name: str, graph: FloatGraph, stats: ClassifierStats, x_cal: np.ndarray,
                       test_set: tuple[np.ndarray, np.ndarray], labels: Sequence[str], *, description: str,
                       provenance: str, input_description: str, output_description: str,
                       golden_note: str) -> BundledModel:
    """Quantize a trained classifier (calibrated on `x_cal`) and pick 4 golden test samples
    with `pick_golden`; `golden_note` is formatted with each sample's `label`."""
    x_test, y_test = test_set
    quantized = graph.convert([x_cal])
    pred = np.argmax(graph.run([x_test])[0], axis=1)
    chosen = pick_golden(y_test, pred, 4)
    return BundledModel(
        name=name, graph=graph, quantized=quantized,
        golden_inputs=[[x_test[i:i + 1]] for i in chosen],
        description=description,
        provenance=provenance,
        input_descriptions=[input_description],
        output_descriptions=[output_description],
        golden_notes=[golden_note.format(label=labels[y_test[i]]) for i in chosen],
        extra={"labels": list(labels), "float_accuracy_synthetic": round(stats.test_accuracy, 4)},
        test_set=(x_test, y_test),
    )
