"""End to end: models made by the real TFLite converter from MLPerf Tiny's reference
architectures validate exactly with tvmaot on every default-environment target.

The models come from ``tests/images/tvm/converter/make_mlperf_models.py``. When TensorFlow is
importable here (``pip install -r tests/images/tvm/converter/requirements.txt``), the test makes
all ten (kws, resnet, vww, toycar, sww; full int8 and float I/O) and runs them; otherwise it runs
the committed small ones (kws and sww, both I/O kinds; the others are 96-310 kB each and are not
committed). Each row must pass `exact` validation with zero mismatches and, on the simulators,
report instructions.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from tests.conftest import REPO

CONVERTER = REPO / "tests" / "images" / "tvm" / "converter"
COMMITTED = ["kws_int8", "kws_float", "sww_int8", "sww_float"]
TARGETS = ["host_x86", "riscv_qemu", "mps3_an547", "mps2_an386", "mps2_an385"]
SIMULATORS = [t for t in TARGETS if t != "host_x86"]
pytestmark = [pytest.mark.e2e, pytest.mark.docker]


def _models(tmp_path: Path) -> tuple[list[Path], list[str]]:
    """The models and extra `mcuorch run` arguments."""
    if importlib.util.find_spec("tensorflow") is None:
        return [CONVERTER / "models" / f"{name}.tflite" for name in COMMITTED], []
    out = tmp_path / "converted"
    subprocess.run([sys.executable, str(CONVERTER / "make_mlperf_models.py"), "--out", str(out)],
                   check=True, capture_output=True, timeout=3600)
    # Two golden vectors: mps3_an547's 512 kB flash (ITCM) holds vww_float's 233 kB of weights
    # and code but not four float32 96x96x3 input vectors (442 kB) besides.
    return sorted(out.glob("*.tflite")), ["-c", "tflite.num_vectors=2"]


def test_converter_models_validate_exactly_everywhere(tmp_path: Path) -> None:
    models, extra = _models(tmp_path)
    assert models and all(m.is_file() for m in models)
    home = tmp_path / "home"
    env = {k: v for k, v in os.environ.items() if not k.startswith("MCUORCH_")}
    env.update(MCUORCH_HOME=str(home), PYTHONPATH=str(REPO))
    targets = [arg for target in TARGETS for arg in ("-t", target)]
    result = subprocess.run([sys.executable, "-m", "orchestrator", "run", *map(str, models), "-b", "tvmaot",
                             *targets, *extra, "--parallel", "1"], env=env, capture_output=True, text=True,
                            timeout=3600, cwd=REPO)
    assert result.returncode == 0, result.stderr[-3000:]
    (session,) = [json.loads(p.read_text()) for p in (home / "sessions").glob("*/session.json")]
    report = pd.read_json(home / "sessions" / session["id"] / "report.json", orient="records")
    assert len(report) == len(models) * len(TARGETS)
    assert not report["Failing"].any(), report[report["Failing"]][["Model", "Target", "Reason"]]
    assert (report["Validation Mode"] == "exact").all()
    bad = report[~report["Validation"].astype(bool) | (report["Validation Mismatches"] != 0)]
    assert bad.empty, bad[["Model", "Target", "Validation Mismatches", "Validation Max Diff"]]
    simulated = report[report["Target"].isin(SIMULATORS)]
    assert (simulated["Run Instructions"] > 0).all()
    # The target picks the kernels: Helium on the M55 and DSP on the M4 need far fewer
    # instructions than rv32gc's scalar C (kws: 1.58M and 6.40M against 9.16M).
    kws = report[report["Model"] == "kws_int8"].set_index("Target")["Run Instructions"]
    assert kws["mps3_an547"] < 0.3 * kws["riscv_qemu"] and kws["mps2_an386"] < 0.8 * kws["riscv_qemu"], kws
