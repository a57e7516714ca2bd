"""Small numpy training utilities for the bundled models.

* `train_mlp`: a dense ReLU network trained with Adam on mean squared error (sine model,
  ToyCar autoencoder). Weights are OI like TFLite's FULLY_CONNECTED.
* `fit_linear_head`: ridge regression of one-hot labels on features plus a softmax
  temperature fitted on held-out data, for the classifiers' last layer.

`matmul` is injectable: the sine model passes an einsum-based product so its training does
not depend on the BLAS library's kernel choice (its bytes are checked in tests).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from itertools import pairwise

import numpy as np

MatMul = Callable[[np.ndarray, np.ndarray], np.ndarray]


def einsum_matmul(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Matrix product without BLAS (fixed summation order on every machine)."""
    return np.einsum("ij,jk->ik", a, b, optimize=False)


@dataclass
class DenseLayer:
    weights: np.ndarray  # (out, in)
    bias: np.ndarray  # (out,)


def init_mlp(sizes: list[int], rng: np.random.Generator) -> list[DenseLayer]:
    """He-initialised dense layers for `sizes` = [in, hidden..., out]."""
    return [DenseLayer(rng.normal(0.0, np.sqrt(2.0 / n_in), size=(n_out, n_in)), np.zeros(n_out))
            for n_in, n_out in pairwise(sizes)]


def mlp_forward(layers: list[DenseLayer], x: np.ndarray, matmul: MatMul = np.matmul) -> np.ndarray:
    """ReLU on every layer but the last."""
    h = x
    for k, layer in enumerate(layers):
        h = matmul(h, layer.weights.T) + layer.bias
        if k < len(layers) - 1:
            h = np.maximum(h, 0.0)
    return h


def train_mlp(layers: list[DenseLayer], x: np.ndarray, y: np.ndarray, rng: np.random.Generator, *,
              epochs: int, batch_size: int, lr: float, matmul: MatMul = np.matmul) -> list[float]:
    """Adam on MSE, in place; returns the mean loss of each epoch."""
    params = [p for layer in layers for p in (layer.weights, layer.bias)]
    m = [np.zeros_like(p) for p in params]
    v = [np.zeros_like(p) for p in params]
    beta1, beta2, eps = 0.9, 0.999, 1e-8
    step = 0
    history = []
    n = x.shape[0]
    for _ in range(epochs):
        order = rng.permutation(n)
        losses = []
        for start in range(0, n, batch_size):
            idx = order[start:start + batch_size]
            xb, yb = x[idx], y[idx]
            acts = [xb]
            h = xb
            for k, layer in enumerate(layers):
                h = matmul(h, layer.weights.T) + layer.bias
                if k < len(layers) - 1:
                    h = np.maximum(h, 0.0)
                acts.append(h)
            err = acts[-1] - yb
            losses.append(float(np.mean(err * err)))
            grad = 2.0 * err / err.size
            grads: list[np.ndarray] = []
            for k in range(len(layers) - 1, -1, -1):
                if k < len(layers) - 1:
                    grad = grad * (acts[k + 1] > 0)
                grads = [matmul(grad.T, acts[k]), grad.sum(axis=0)] + grads
                grad = matmul(grad, layers[k].weights)
            step += 1
            for p, g, mp, vp in zip(params, grads, m, v):
                mp *= beta1
                mp += (1 - beta1) * g
                vp *= beta2
                vp += (1 - beta2) * g * g
                m_hat = mp / (1 - beta1**step)
                v_hat = vp / (1 - beta2**step)
                p -= lr * m_hat / (np.sqrt(v_hat) + eps)
        history.append(float(np.mean(losses)))
    return history


@dataclass
class LinearHead:
    weights: np.ndarray  # (classes, features)
    bias: np.ndarray  # (classes,)
    train_accuracy: float
    test_accuracy: float


def fit_linear_head(f_train: np.ndarray, y_train: np.ndarray, f_test: np.ndarray, y_test: np.ndarray,
                    num_classes: int, ridge: float = 1e-2) -> LinearHead:
    """Ridge-regress one-hot targets on standardised features, then scale the logits by
    the temperature that minimises held-out cross-entropy (so softmax outputs are calibrated,
    neither flat nor saturated)."""
    mu = f_train.mean(axis=0)
    sd = f_train.std(axis=0) + 1e-6
    z = (f_train - mu) / sd
    targets = np.eye(num_classes)[y_train] - 1.0 / num_classes
    gram = z.T @ z + ridge * z.shape[0] * np.eye(z.shape[1])
    w = np.linalg.solve(gram, z.T @ targets)  # (features, classes)
    # fold standardisation: logits = ((f - mu) / sd) @ w
    w_f = w / sd[:, None]
    b_f = -(mu / sd) @ w

    def logits(f: np.ndarray) -> np.ndarray:
        return f @ w_f + b_f

    def nll(t: float, f: np.ndarray, y: np.ndarray) -> float:
        s = t * logits(f)
        s = s - s.max(axis=1, keepdims=True)
        logp = s - np.log(np.exp(s).sum(axis=1, keepdims=True))
        return float(-logp[np.arange(len(y)), y].mean())

    temps = np.geomspace(0.5, 200.0, 60)
    t = float(temps[int(np.argmin([nll(t, f_test, y_test) for t in temps]))])
    acc = lambda f, y: float(np.mean(np.argmax(logits(f), axis=1) == y))
    return LinearHead((t * w_f).T.copy(), t * b_f, acc(f_train, y_train), acc(f_test, y_test))
