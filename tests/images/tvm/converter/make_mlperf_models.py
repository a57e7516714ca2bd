"""The MLPerf Tiny reference architectures, converted by the real TFLite converter.

    python make_mlperf_models.py [--out DIR] [--only NAME ...] [--io int8|float ...]

Needs TensorFlow (``pip install -r requirements.txt`` beside this file, in a throw-away venv);
nothing is downloaded at run time. For each architecture it builds the Keras model, gives it
deterministic weights and batch-norm statistics (seeded; no training: the statistics are set from
the model's own activations on the representative data, so every layer sees well-spread values
as in a trained network) and converts it twice with the same representative data set:

* ``<name>_int8.tflite``  -- full integer, int8 graph input and output;
* ``<name>_float.tflite`` -- the converter's default interface: float32 input and output, with
  QUANTIZE first and DEQUANTIZE last.

Architectures (MLPerf Tiny's published reference models, re-described here in Keras):

* ``kws``    -- DS-CNN, MFCC 49x10x1 -> 12 classes (softmax);
* ``resnet`` -- ResNet-8 (image classification), 32x32x3 -> 10 (softmax);
* ``vww``    -- MobileNetV1 alpha 0.25 (visual wake words), 96x96x3 -> 2 (softmax);
* ``toycar`` -- dense autoencoder (anomaly detection), 640 -> 640;
* ``sww``    -- the streaming wake word DS-TCN, one window of 30 feature frames 30x1x40 -> 3
  logits. Stateless: the host slides the window, so the graph has no VAR_HANDLE/READ_VARIABLE
  state ops (the reference model is stateless in the same way: its time-valid depthwise
  convolutions shrink the 30 frames to one).

Same TensorFlow version and arguments -> the same bytes (``--check`` converts twice and compares).
"""

from __future__ import annotations

import argparse
import hashlib
import os
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

keras = tf.keras
layers = keras.layers

SEED = 1414
CALIBRATION_SAMPLES = 64


# ----------------------------------------------------------------------------- architectures


def _bn_relu(x: tf.Tensor) -> tf.Tensor:
    return layers.ReLU()(layers.BatchNormalization()(x))


def kws() -> keras.Model:
    """DS-CNN: a strided 10x4 convolution, four depthwise-separable blocks, average pool, dense."""
    inp = keras.Input((49, 10, 1))
    x = layers.Conv2D(64, (10, 4), strides=(2, 2), padding="same")(inp)
    x = _bn_relu(x)
    for _ in range(4):
        x = layers.DepthwiseConv2D((3, 3), padding="same")(x)
        x = _bn_relu(x)
        x = layers.Conv2D(64, (1, 1), padding="same")(x)
        x = _bn_relu(x)
    x = layers.AveragePooling2D(pool_size=(25, 5))(x)
    x = layers.Flatten()(x)
    out = layers.Dense(12, activation="softmax")(x)
    return keras.Model(inp, out, name="kws")


def resnet() -> keras.Model:
    """ResNet-8: a 3x3 stem and three residual stacks (16, 32, 64 filters; 1x1 strided shortcuts)."""
    inp = keras.Input((32, 32, 3))
    x = layers.Conv2D(16, 3, padding="same", kernel_initializer="he_normal")(inp)
    x = _bn_relu(x)
    for filters, stride in ((16, 1), (32, 2), (64, 2)):
        y = layers.Conv2D(filters, 3, strides=stride, padding="same", kernel_initializer="he_normal")(x)
        y = _bn_relu(y)
        y = layers.Conv2D(filters, 3, padding="same", kernel_initializer="he_normal")(y)
        y = layers.BatchNormalization()(y)
        if stride != 1:
            x = layers.Conv2D(filters, 1, strides=stride, padding="same", kernel_initializer="he_normal")(x)
        x = layers.ReLU()(layers.Add()([x, y]))
    x = layers.AveragePooling2D(pool_size=8)(x)
    x = layers.Flatten()(x)
    out = layers.Dense(10, activation="softmax", kernel_initializer="he_normal")(x)
    return keras.Model(inp, out, name="resnet")


def vww() -> keras.Model:
    """MobileNetV1, width 0.25: a strided 3x3 stem, 13 depthwise-separable blocks, pool, dense."""
    inp = keras.Input((96, 96, 3))
    x = layers.Conv2D(8, 3, strides=2, padding="same", use_bias=False)(inp)
    x = _bn_relu(x)
    for filters, stride in ((16, 1), (32, 2), (32, 1), (64, 2), (64, 1), (128, 2), (128, 1), (128, 1),
                            (128, 1), (128, 1), (128, 1), (256, 2), (256, 1)):
        x = layers.DepthwiseConv2D(3, strides=stride, padding="same", use_bias=False)(x)
        x = _bn_relu(x)
        x = layers.Conv2D(filters, 1, padding="same", use_bias=False)(x)
        x = _bn_relu(x)
    x = layers.AveragePooling2D(pool_size=3)(x)
    x = layers.Flatten()(x)
    out = layers.Dense(2, activation="softmax")(x)
    return keras.Model(inp, out, name="vww")


def toycar() -> keras.Model:
    """The anomaly-detection autoencoder: 4 x 128, an 8-wide bottleneck, 4 x 128, 640 out."""
    inp = keras.Input((640,))
    x = inp
    for units in (128, 128, 128, 128, 8, 128, 128, 128, 128):
        x = layers.Dense(units)(x)
        x = _bn_relu(x)
    out = layers.Dense(640)(x)
    return keras.Model(inp, out, name="toycar")


def sww() -> keras.Model:
    """Streaming wake word DS-TCN: four blocks of a time-only depthwise convolution (valid) and a
    1x1 convolution without bias + batch norm + ReLU; the frames shrink 30 -> 1; dense to 3 logits."""
    inp = keras.Input((30, 1, 40))
    x = inp
    for filters, kernel in ((128, 3), (64, 5), (64, 10), (32, 15)):
        x = layers.DepthwiseConv2D((kernel, 1), padding="valid", use_bias=False)(x)
        x = layers.Conv2D(filters, 1, padding="valid", use_bias=False)(x)
        x = _bn_relu(x)
    x = layers.Flatten()(x)
    out = layers.Dense(3)(x)
    return keras.Model(inp, out, name="sww")


ARCHITECTURES: dict[str, Callable[[], keras.Model]] = {
    "kws": kws, "resnet": resnet, "vww": vww, "toycar": toycar, "sww": sww,
}


# ----------------------------------------------------------------------------- weights and data


def representative(model: keras.Model, seed: int) -> np.ndarray:
    """Seeded calibration inputs: standard normal features (MFCC-, pixel- or spectrum-like after
    the usual normalisation)."""
    rng = np.random.default_rng(seed)
    shape = (CALIBRATION_SAMPLES, *model.input_shape[1:])
    return rng.standard_normal(shape).astype(np.float32)


def set_batchnorm_statistics(model: keras.Model, data: np.ndarray, seed: int) -> None:
    """Each BatchNormalization gets moving statistics near those of its input on `data` (layer by
    layer, so each normalises what the earlier ones produce) and a seeded scale and offset."""
    rng = np.random.default_rng(seed + 1)
    for bn in [layer for layer in model.layers if isinstance(layer, layers.BatchNormalization)]:
        probe = keras.Model(model.input, bn.input)
        act = probe.predict(data, verbose=0)
        axes = tuple(range(act.ndim - 1))
        mean = act.mean(axis=axes)
        var = act.var(axis=axes)
        channels = mean.shape[0]
        gamma = rng.uniform(0.5, 1.5, channels).astype(np.float32)
        beta = rng.normal(0.2, 0.3, channels).astype(np.float32)
        mean = (mean + rng.normal(0, 0.1, channels) * np.sqrt(var)).astype(np.float32)
        var = (var * rng.uniform(0.7, 1.4, channels) + 1e-6).astype(np.float32)
        bn.set_weights([gamma, beta, mean, var])


def build(name: str) -> tuple[keras.Model, np.ndarray]:
    keras.backend.clear_session()  # layer names (and so tensor names) count from zero again
    keras.utils.set_random_seed(SEED)
    model = ARCHITECTURES[name]()
    data = representative(model, SEED)
    set_batchnorm_statistics(model, data, SEED)
    return model, data


# ----------------------------------------------------------------------------- conversion


def convert(model: keras.Model, data: np.ndarray, io: str) -> bytes:
    converter = tf.lite.TFLiteConverter.from_keras_model(model)

    def samples() -> Iterator[list[np.ndarray]]:
        for sample in data:
            yield [sample[None]]

    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    converter.representative_dataset = samples
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    if io == "int8":
        converter.inference_input_type = tf.int8
        converter.inference_output_type = tf.int8
    elif io != "float":
        raise ValueError(io)
    return converter.convert()


def op_names(flatbuffer: bytes) -> list[str]:
    """The model's operators, in graph order (TensorFlow's analyzer output, first subgraph)."""
    interpreter = tf.lite.Interpreter(model_content=flatbuffer)
    return [detail["op_name"] for detail in interpreter._get_ops_details()]  # noqa: SLF001


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--out", type=Path, default=Path(__file__).resolve().parent / "models")
    p.add_argument("--only", nargs="+", choices=sorted(ARCHITECTURES), default=list(ARCHITECTURES))
    p.add_argument("--io", nargs="+", choices=["int8", "float"], default=["int8", "float"])
    p.add_argument("--check", action="store_true", help="convert twice and require the same bytes")
    args = p.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    print(f"tensorflow {tf.__version__}")
    for name in args.only:
        model, data = build(name)
        for io in args.io:
            flatbuffer = convert(model, data, io)
            if args.check:
                again, _ = build(name)
                if convert(again, data, io) != flatbuffer:
                    print(f"error: {name}_{io}: two conversions differ", file=sys.stderr)
                    return 1
            path = args.out / f"{name}_{io}.tflite"
            path.write_bytes(flatbuffer)
            ops = op_names(flatbuffer)
            histogram = ", ".join(f"{op} x{ops.count(op)}" for op in dict.fromkeys(ops))
            print(f"{path.name}: {len(flatbuffer)} bytes, sha256 {hashlib.sha256(flatbuffer).hexdigest()[:16]}, "
                  f"{model.count_params()} parameters; {histogram}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
