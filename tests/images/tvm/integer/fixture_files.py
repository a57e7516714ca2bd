"""The files of one fixture case, shared by ``make_fixtures.py`` and ``make_more_fixtures.py``."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from mcuorch_tflite.reference import run_tflm


def record_case(directory: Path, name: str, data: bytes, vectors: list[list[np.ndarray]]) -> None:
    """Run ``vectors`` through TFLite-Micro and write ``<name>.tflite`` (the model ``data``) and
    ``<name>.npz`` (inputs ``in_<v>_<i>``, TFLite-Micro outputs ``tflm_<v>_<o>``) in ``directory``."""
    outputs = run_tflm(data, vectors)
    arrays = {}
    for v, (ins, outs) in enumerate(zip(vectors, outputs)):
        arrays.update({f"in_{v}_{i}": a for i, a in enumerate(ins)})
        arrays.update({f"tflm_{v}_{o}": np.asarray(a) for o, a in enumerate(outs)})
    (directory / f"{name}.tflite").write_bytes(data)
    np.savez_compressed(directory / f"{name}.npz", **arrays)
