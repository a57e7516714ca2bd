"""Shared helpers of the tflite image tests (unique module name: test folders share sys.path): run a built model on both interpreters and a quantized-weight reference."""

from __future__ import annotations

import copy
from pathlib import Path

import numpy as np
from mcuorch_tflite.builder import FloatGraph, QuantizedModel
from mcuorch_tflite.quant import dequantize
from mcuorch_tflite.reference import run_litert, run_tflm

REPO = Path(__file__).resolve().parents[3]
IMAGE_CODE = REPO / "images" / "tflite"
MODELS_DIR = REPO / "models"
BUNDLED = ("sine_model", "aww", "vww", "resnet", "toycar")


def quantized_weight_graph(graph: FloatGraph, model: QuantizedModel) -> FloatGraph:
    """A copy of `graph` whose weights and biases are the int8/int32 values of `model`
    dequantized: its float outputs differ from the int8 model only by activation rounding."""
    fq = copy.deepcopy(graph)
    for op, qop in zip(fq.ops, model.operators):
        for attr, pos in (("filters", 1), ("weights", 1), ("bias", 2)):
            if getattr(op, attr, None) is None or pos >= len(qop.inputs) or qop.inputs[pos] < 0:
                continue
            t = model.tensors[qop.inputs[pos]]
            scale = t.quant.scale_array().astype(np.float64)
            if len(scale) > 1:
                shape = [1] * t.data.ndim
                shape[t.quant.quantized_dimension] = -1
                scale = scale.reshape(shape)
            setattr(op, attr, t.data.astype(np.float64) * scale)
    return fq


def run_both(model: QuantizedModel, float_inputs: list[np.ndarray]):
    """Quantize one batch-1 vector, run TFLM and LiteRT; returns (q_inputs, tflm_outs, litert_outs)."""
    q_inputs = [model.quantize_input(i, x) for i, x in enumerate(float_inputs)]
    data = model.to_bytes()
    return q_inputs, run_tflm(data, [q_inputs])[0], run_litert(data, [q_inputs])[0]


def lsb_error(model: QuantizedModel, index: int, q_out: np.ndarray, reference: np.ndarray) -> float:
    """Largest |dequantized output - reference| in units of the output scale."""
    params = model.output_params(index)
    return float(np.max(np.abs(dequantize(q_out, params) - reference)) / params.scale[0])
