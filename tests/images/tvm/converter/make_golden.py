#!/usr/bin/env python3
"""TFLite-Micro reference outputs for the converter-made models in ``models/``.

    PYTHONPATH=images/tflite python tests/images/tvm/converter/make_golden.py [NAME ...]

For each ``models/<name>.tflite`` (made by ``make_mlperf_models.py``) writes ``models/<name>.npz``:
inputs ``in_<v>_<i>`` and the tflite-micro wheel's outputs ``tflm_<v>_<o>`` (the layout of
``integer/data/more``). Needs ``images/tflite`` and the ``tflite-micro`` wheel (a venv with
``images/tvm/requirements.txt``, or the ``tvm``/``tflite`` image). Seeded: reruns give the same
arrays. Inputs: int8 over the whole range; float32 standard normal times 2 (some values beyond
the input's calibrated range, so QUANTIZE saturates) with exact zeros and quantizer ties in vector 0.
"""

from __future__ import annotations

import sys
import zlib
from pathlib import Path

import numpy as np
from mcuorch_tflite.reader import parse_model
from mcuorch_tflite.reference import run_tflm

MODELS = Path(__file__).resolve().parent / "models"
VECTORS = 4


def _quantizer_scale(info, index: int) -> float | None:
    """Scale of the QUANTIZE that reads graph input ``index`` (the float-I/O wrapper)."""
    for op in info.operators:
        if op.opcode == "QUANTIZE" and op.inputs[0] == index:
            return info.tensors[op.outputs[0]].scale[0]
    return None


def _input(rng: np.random.Generator, shape: tuple[int, ...], dtype: str, scale: float | None, v: int) -> np.ndarray:
    if dtype == "float32":
        x = (rng.standard_normal(shape) * 2.0).astype(np.float32)
        if v == 0 and scale:
            flat = x.reshape(-1)
            k = np.arange(min(flat.size, 64))
            flat[: k.size] = ((k - 32 + 0.5) * np.float32(scale)).astype(np.float32)  # round-half ties
            flat[k.size: k.size + 4] = 0.0
        return x
    return rng.integers(-128, 128, size=shape).astype(np.int8)


def make(path: Path) -> None:
    data = path.read_bytes()
    info = parse_model(data)
    rng = np.random.default_rng(zlib.crc32(path.stem.encode()))
    vectors = [[_input(rng, tuple(t.shape), t.dtype, _quantizer_scale(info, t.index), v) for t in info.input_tensors()]
               for v in range(VECTORS)]
    outputs = run_tflm(data, vectors)
    arrays = {}
    for v, (ins, outs) in enumerate(zip(vectors, outputs)):
        arrays.update({f"in_{v}_{i}": a for i, a in enumerate(ins)})
        arrays.update({f"tflm_{v}_{o}": np.asarray(a) for o, a in enumerate(outs)})
    np.savez_compressed(path.with_suffix(".npz"), **arrays)
    print(f"{path.with_suffix('.npz').name}: {len(vectors)} vectors")


def main(names: list[str]) -> int:
    paths = [MODELS / f"{n}.tflite" for n in names] if names else sorted(MODELS.glob("*.tflite"))
    for path in paths:
        make(path)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
