"""End to end on the default environment: real images, real models, compilers and simulators.

Each test drives a real `mcuorch` process with the Docker runtime. Images are built on first
use (or reused by tag); the job store is fresh per module, so every stage really executes.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from tests.conftest import REPO

HERE = Path(__file__).resolve().parent / "default"
QEMU_TARGETS = ["riscv_qemu", "mps3_an547", "mps2_an386"]
DEMO_TARGETS = ["host_x86", *QEMU_TARGETS]
STATIC = ["Total ROM", "Total RAM", "ROM code", "ROM read-only", "RAM data", "RAM zero-init data"]
pytestmark = [pytest.mark.e2e, pytest.mark.docker]


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("home")


def mcuorch(home: Path, *args: str, extra_env: dict[str, str] | None = None,
            timeout: float = 1800) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MCUORCH_")}
    env.update(MCUORCH_HOME=str(home), PYTHONPATH=str(REPO), **(extra_env or {}))
    return subprocess.run([sys.executable, "-m", "orchestrator", *args], env=env, capture_output=True,
                          text=True, timeout=timeout, cwd=REPO)


def last_report(home: Path) -> tuple[dict, pd.DataFrame]:
    records = [json.loads(p.read_text()) for p in (home / "sessions").glob("*/session.json")]
    record = max(records, key=lambda r: r["created"])
    return record, pd.read_json(home / "sessions" / record["id"] / "report.json", orient="records")


def labelled_containers(session: str) -> list[str]:
    out = subprocess.run(["docker", "ps", "-aq", "--filter", f"label=mcuorch.session={session}"],
                         capture_output=True, text=True, check=True).stdout
    return out.split()


def _demo_args(*extra: str) -> list[str]:
    targets = [arg for target in DEMO_TARGETS for arg in ("-t", target)]
    return ["run", "sine_model", "aww", "-b", "tvmaot", *targets, "--parallel", "2", *extra]


def test_demo_matrix_validates_and_measures(home: Path) -> None:
    first = mcuorch(home, *_demo_args())
    assert first.returncode == 0, first.stderr[-3000:]
    record, report = last_report(home)
    assert len(report) == 8 and not report["Failing"].any()
    assert report["Validation"].all(), report[["Model", "Target", "Validation Mismatches"]]
    assert (report["Validation Mismatches"] == 0).all()
    qemu = report[report["Target"].isin(QEMU_TARGETS)]
    assert (qemu["Run Instructions"] > 0).all() and (qemu["Total Instructions"] > qemu["Run Instructions"]).all()
    assert (qemu["Setup Instructions"] > 0).all()
    host = report[report["Target"] == "host_x86"]
    assert host["Run Instructions"].isna().all(), "the host measures time, not instructions"
    assert (host["Run Runtime [s]"] > 0).all()
    assert (report["RAM stack"] > 0).all()
    for column in STATIC:
        assert report[column].notna().all(), column
    assert ((report["Total ROM"] >= report["ROM code"] + report["ROM read-only"])).all()
    aww = report[report["Model"] == "aww"]
    assert (aww["Total ROM"] > aww["Weights Size"]).all(), "the weights live in ROM"
    assert (aww["Total RAM"] >= aww["Arena Size"]).all(), "the arena lives in RAM"
    assert labelled_containers(record["id"]) == []
    page = (home / "sessions" / record["id"] / "report.html").read_text()
    assert page.count("<figure") >= 3 and "mps2_an386" in page
    chart = home / "instructions.svg"
    plotted = mcuorch(home, "plot", record["id"], "--metric", "Run Instructions", "--by", "Target", "-o", str(chart))
    assert plotted.returncode == 0 and chart.read_text().count("<g id=\"patch_") >= 6, plotted.stderr

    second = mcuorch(home, *_demo_args())  # nothing changed: every job is a cache hit
    assert second.returncode == 0, second.stderr[-3000:]
    record2, report2 = last_report(home)
    assert record2["counts"].get("done", 0) == 0 and record2["counts"]["cached"] == record["counts"]["done"]

    bypass = mcuorch(home, *_demo_args("--rerun"))  # cache bypassed: bit-identical figures
    assert bypass.returncode == 0, bypass.stderr[-3000:]
    record3, report3 = last_report(home)
    assert record3["counts"]["done"] == record["counts"]["done"]
    exact = ["Total Instructions", "Setup Instructions", "Run Instructions", *STATIC, "RAM stack"]
    for column in exact:
        for a, b, target in zip(report[column], report3[column], report["Target"]):
            if column == "RAM stack" and target == "host_x86":
                continue  # a host thread's stack depth may vary with the C library's scheduling
            assert (a == b) or (math.isnan(a) and math.isnan(b)), (column, target, a, b)


def test_a_never_ending_program_is_killed_at_its_timeout(home: Path) -> None:
    result = mcuorch(home, "run", "--env", str(HERE / "hang.yml.j2"), "sine_model", "-b", "hangaot",
                     "-b", "tvmaot", "-t", "riscv_qemu", "-c", "riscv_qemu.timeout_sec=5",
                     extra_env={"MCUORCH_PLUGINS": str(HERE / "hang_plugin.py")}, timeout=600)
    assert result.returncode == 1, result.stderr[-3000:]  # 1: some run is failing
    record, report = last_report(home)
    rows = report.set_index("Backend")
    assert bool(rows.loc["hangaot", "Failing"]) and rows.loc["hangaot", "Reason"] == "timeout @ RUN"
    assert not bool(rows.loc["tvmaot", "Failing"]) and bool(rows.loc["tvmaot", "Validation"])
    assert labelled_containers(record["id"]) == []


def test_a_wrong_expected_output_fails_validation(home: Path, tmp_path: Path) -> None:
    models = tmp_path / "models"
    shutil.copytree(REPO / "models" / "sine_model", models / "sine_wrong")
    golden = models / "sine_wrong" / "golden" / "output_1_0.bin"
    value = golden.read_bytes()
    golden.write_bytes(bytes([(value[0] + 64) % 256]) + value[1:])
    result = mcuorch(home, "run", "sine_wrong", "-t", "riscv_qemu", "-t", "host_x86",
                     extra_env={"MCUORCH_MODELS": str(models)}, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]  # a validation failure is a result, not an error
    _, report = last_report(home)
    assert not report["Failing"].any()
    assert (~report["Validation"].astype(bool)).all()
    assert (report["Validation Mismatches"] >= 1).all()
    assert (report["Validation Max Diff"] >= 1).all()
