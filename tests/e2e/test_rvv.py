"""End to end: the RISC-V vector variant `riscv_qemu.arch=rv32gcv` (clang 16 compiles the model
code, GCC the harness; QEMU runs it with `v=true`). tvmaot's RVV kernels validate exactly on
bundled and converter models and need far fewer instructions than rv32gc; TFLite-Micro over
muRISCV-NN's vector build validates on the same core and needs more than tvmaot."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from tests.conftest import REPO

CONVERTER = REPO / "tests" / "images" / "tvm" / "converter" / "models"
MODELS = ["aww", "toycar", str(CONVERTER / "kws_float.tflite")]  # convolutions, FC only, float I/O
pytestmark = [pytest.mark.e2e, pytest.mark.docker]


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One store for the module: the second test reuses the first one's tvmaot jobs."""
    return tmp_path_factory.mktemp("rvv") / "home"


def mcuorch_run(home: Path, *argv: str) -> pd.DataFrame:
    """`mcuorch run ARGV` (exit 0 asserted) and its session's report, every run passing."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MCUORCH_")}
    env.update(MCUORCH_HOME=str(home), PYTHONPATH=str(REPO))
    before = set((home / "sessions").glob("*")) if (home / "sessions").is_dir() else set()
    result = subprocess.run([sys.executable, "-m", "orchestrator", "run", *argv, "-f", "validate", "--parallel", "1"],
                            env=env, capture_output=True, text=True, timeout=3600, cwd=REPO)
    assert result.returncode == 0, result.stderr[-3000:]
    (session,) = set((home / "sessions").glob("*")) - before
    report = pd.read_json(session / "report.json", orient="records")
    assert not report["Failing"].any(), report.get("Reason")
    assert report["Validation"].astype(bool).all() and (report["Validation Mismatches"] == 0).all()
    return report


def test_vector_kernels_validate_exactly_and_beat_scalar(home: Path) -> None:
    vector = mcuorch_run(home, *MODELS, "-b", "tvmaot", "-t", "riscv_qemu", "-c", "riscv_qemu.arch=rv32gcv")
    assert len(vector) == len(MODELS) and (vector["Validation Mode"] == "exact").all()
    # the program really holds vector code: the kernels name RVV intrinsics, clang built them
    # (every model's kernels; convolutions widen-multiply-accumulate, FC-only toycar reduces dots)
    codegens = [p.read_text() for p in (home / "jobs" / "BUILD").glob("*/outputs/codegen/mcuorch_kernels.c")]
    assert len(codegens) == len(MODELS)
    assert all("#include <riscv_vector.h>" in c and "__riscv_vsetvl" in c for c in codegens)
    assert sum("__riscv_vwmacc" in c for c in codegens) >= len(MODELS) - 1  # toycar has no convolution
    compiled = [json.loads(p.read_text()) for p in (home / "jobs" / "COMPILE").glob("*/outputs/target.json")]
    assert compiled and {c["arch"] for c in compiled} == {"rv32gcv"}
    logs = [p.read_text() for p in (home / "jobs" / "COMPILE").glob("*/outputs/compile.log")]
    assert logs and all("mcuorch_kernels.c.obj with clang-16" in log for log in logs)
    scalar = mcuorch_run(home, "aww", "-b", "tvmaot", "-t", "riscv_qemu", "-c", "riscv_qemu.arch=rv32gc")
    aww = vector.set_index("Model").loc["aww", "Run Instructions"]
    # measured: 0.72M against 9.14M instructions per inference
    assert aww < 0.25 * scalar.iloc[0]["Run Instructions"], (aww, scalar.iloc[0]["Run Instructions"])


def test_muriscvnn_vector_build_validates_and_tvmaot_needs_fewer(home: Path) -> None:
    """TFLite-Micro over muRISCV-NN's vector build (its C kernels through clang with USE_VEXT,
    the arena sized for their buffers, tflmc's vector flavour) on the same core, in tumeda."""
    vector = mcuorch_run(home, "--env", "tumeda", "aww", "-b", "tflmi", "-b", "tflmc", "-f", "muriscvnn",
                         "-t", "riscv_qemu", "-c", "riscv_qemu.arch=rv32gcv")
    by = vector.set_index("Backend")["Run Instructions"]
    # the vector build is what ran: clang compiled muRISCV-NN's kernels with USE_VEXT (measured:
    # 4.25M instructions against 15.13M for its scalar build), tflmc included its vext flavour
    logs = [p.read_text() for p in (home / "jobs" / "COMPILE").glob("*/outputs/compile.log")]
    vext = [log for log in logs if "muriscv_nn_vext/third_party/muriscv_nn/Source" in log]
    assert len(vext) == 2 and all("with clang-16" in log for log in vext), len(vext)
    summary = json.loads(next((home / "jobs" / "BUILD").glob("*/outputs/codegen/tflmc.json")).read_text())
    assert summary["files"]["muriscvnn_vext"] == "model_vext.cc", summary["files"]
    assert abs(by["tflmc"] - by["tflmi"]) < 0.05 * by["tflmi"], by  # the same kernels
    tvmaot = mcuorch_run(home, "aww", "-b", "tvmaot", "-t", "riscv_qemu", "-c", "riscv_qemu.arch=rv32gcv")
    assert tvmaot.iloc[0]["Run Instructions"] < by["tflmi"], (tvmaot, by)  # measured: 0.72M against 4.25M
