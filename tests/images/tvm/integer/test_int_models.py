"""Bundled models through ``--kernels int``: every golden vector bit-exact (host gcc).

The golden outputs in ``models/<name>/golden`` come from TFLite-Micro's reference kernels
(LOAD stage). The same code is exact on rv32gc/rv32imc and Cortex-M too: see measure.py.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from int_support import MODELS, build_int, compile_host, mismatches, run_host, write_codegen

NAMES = ["sine_model", "aww", "toycar", "resnet", "vww"]


def _golden(directory: Path, kind: str, v: int) -> list[np.ndarray]:
    out, i = [], 0
    while (directory / f"{kind}_{v}_{i}.bin").exists():
        out.append(np.fromfile(directory / f"{kind}_{v}_{i}.bin", dtype=np.int8))
        i += 1
    return out


@pytest.mark.parametrize("name", NAMES)
def test_golden_vectors_bit_exact(name: str, tmp_path: Path) -> None:
    model = MODELS / name / "model.tflite"
    golden = MODELS / name / "golden"
    result = build_int(model.read_bytes(), name)
    codegen = write_codegen(result, tmp_path / "codegen")
    exe = tmp_path / "app"
    compile_host(codegen, exe)
    v = checked = 0
    while (golden / f"input_{v}_0.bin").exists():
        inputs = [x.reshape(t.shape) for x, t in zip(_golden(golden, "input", v), result.info.inputs)]
        want = _golden(golden, "output", v)
        got = run_host(exe, inputs, len(want), tmp_path)
        assert mismatches(got, want) == (0, sum(w.size for w in want), 0), f"vector {v}"
        checked += 1
        v += 1
    assert checked >= 1
    # The integer program keeps weights int8 and adds only int32 bias/multiplier/shift data.
    weights = sum(t.nbytes for t in result.graph.tensors.values() if t.kind == "constant")
    assert result.metrics["Weights Size"] == weights
