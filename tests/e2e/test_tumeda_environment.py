"""End to end on the tumeda environment: its simulators built from the pinned sources, real
models, validated outputs, and the instruction counts cross-checked between simulators.

The images come from `mcuorch images build --env tumeda` (make test builds them first); the
source cache is filled from the offline mirror the CI points MCUORCH_SOURCES_FROM at.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

from orchestrator.environment import load_environment
from orchestrator.images.tags import resolve_images
from orchestrator.metrics.counts import instret_counts
from tests.e2e.test_default_environment import labelled_containers, last_report, mcuorch

pytestmark = [pytest.mark.e2e, pytest.mark.docker]
MODELS = ["sine_model", "aww"]
PK_DELTA = 8
"""Instructions by which a region's count under pk may differ from bare metal."""


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    home = tmp_path_factory.mktemp("home")
    mirror = os.environ.get("MCUORCH_SOURCES_FROM")
    fetched = mcuorch(home, "sources", "fetch", "--env", "tumeda", *(["--from", mirror] if mirror else []))
    assert fetched.returncode == 0, fetched.stderr
    return home


@pytest.fixture(scope="module")
def spike_session(home: Path) -> tuple[dict, object]:
    done = mcuorch(home, "run", "--env", "tumeda", *MODELS, "-b", "relaxaot", "-t", "spike", "-t", "riscv_qemu",
                   "-t", "etiss_pulpino", "--parallel", "2")
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return last_report(home)


def test_relaxaot_runs_validated_on_spike_and_etiss(spike_session: tuple[dict, object]) -> None:
    record, report = spike_session
    assert len(report) == 3 * len(MODELS) and not report["Failing"].any()
    assert report["Validation"].all(), report[["Model", "Target", "Validation Mismatches"]]
    for target in ("spike", "etiss_pulpino"):
        rows = report[report["Target"] == target]
        assert (rows["Run Instructions"] > 0).all() and (rows["Setup Instructions"] > 0).all(), target
        assert (rows["Total Instructions"] > rows["Run Instructions"]).all(), target
        assert (rows["Total ROM"] > 0).all(), target
    assert (report[report["Target"] == "spike"]["RAM stack"] > 0).all()
    assert (report[report["Target"] == "etiss_pulpino"]["Total Cycles"] > 0).all()
    # The same kernels on three simulators: per-inference counts within a few marker instructions.
    for model in MODELS:
        runs = report[report["Model"] == model].set_index("Target")["Run Instructions"]
        assert abs(runs["spike"] - runs["riscv_qemu"]) <= 0.01 * runs["riscv_qemu"] + 8, runs
        assert abs(runs["etiss_pulpino"] - runs["riscv_qemu"]) <= 0.01 * runs["riscv_qemu"] + 8, runs
    assert labelled_containers(record["id"]) == []


def test_spike_runs_the_software_under_pk_as_well_as_bare_metal(home: Path) -> None:
    """spike.pk=1: the same models as user-mode programs under pk. The markers read instret in
    user mode (pk sets mcounteren/scounteren) and pk maps every page at load (`pk -p`), so no
    kernel code falls into a region: Setup and Run counts match bare metal (equal in practice;
    PK_DELTA allows for code placement changing a relaxed call or gp-relative access). The
    painted stack lacks picolibc's _cstart frame (16 bytes) under pk; Total Instructions include
    pk's boot."""
    done = mcuorch(home, "run", "--env", "tumeda", *MODELS, "-b", "relaxaot", "-t", "spike",
                   "--config-gen", "spike.pk=0", "--config-gen", "spike.pk=1")
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    record, report = last_report(home)
    assert len(report) == 2 * len(MODELS) and not report["Failing"].any()
    assert report["Validation"].all(), report[["Model", "Validation Mismatches"]]
    rows: dict[tuple[str, bool], Any] = {}
    for run in record["runs"]:
        identity = run["identity"]
        under_pk = identity["config"].get("spike.pk") == "1"
        rows[identity["model"], under_pk] = report[report["Run"] == run["index"]].iloc[0]
        ran = home / "jobs" / "RUN" / run["jobs"]["RUN"] / "outputs"
        argv = json.loads((ran / "run.json").read_text())["argv"]
        assert (argv[-3].endswith("/pk") and argv[-2] == "-p") == under_pk, argv
    for model in MODELS:
        bare, pk = rows[model, False], rows[model, True]
        assert abs(pk["Run Instructions"] - bare["Run Instructions"]) <= PK_DELTA, (model, bare, pk)
        assert abs(pk["Setup Instructions"] - bare["Setup Instructions"]) <= PK_DELTA, model
        assert pk["Total Instructions"] > bare["Total Instructions"], model
        assert pk["RAM stack"] > 0 and 0 <= bare["RAM stack"] - pk["RAM stack"] <= 16, model


def test_trace_on_etiss_gives_stack_and_heap(home: Path) -> None:
    done = mcuorch(home, "run", "--env", "tumeda", "sine_model", "-b", "relaxaot", "-t", "etiss_pulpino", "-f", "trace")
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    record, report = last_report(home)
    row = report.iloc[0]
    assert row["Validation"] and 64 < row["RAM stack"] < 0x4000 and row["RAM heap"] >= 0
    assert row["Trace Size"] > 1000
    ran = home / "jobs" / "RUN" / record["runs"][0]["jobs"]["RUN"] / "outputs"
    assert (ran / "dBusAccess.csv").stat().st_size == min(row["Trace Size"], 64_000_000)


def test_the_same_elf_counts_the_same_on_spike_and_on_qemu(home: Path, spike_session: tuple[dict, object]) -> None:
    """Spike counts with minstret markers, QEMU (its `spike` board) with the TCG plugin at the
    same markers: for the same rv32gc ELF the Setup and per-inference Run counts are equal."""
    record, report = spike_session
    env = load_environment("tumeda")
    qemu = resolve_images(env).get("qemu").tag
    for run in record["runs"]:
        if report.loc[report["Run"] == run["index"], "Target"].item() != "spike":
            continue
        compiled = home / "jobs" / "COMPILE" / run["jobs"]["COMPILE"] / "outputs"
        ran = home / "jobs" / "RUN" / run["jobs"]["RUN"] / "outputs"
        spike_counts = instret_counts((ran / "stdout.txt").read_text(), "spike").model_dump()
        out = home / f"qemu-spike-{run['index']}"
        out.mkdir()
        done = subprocess.run(
            ["docker", "run", "--rm", "--network", "none", "--user", f"{os.getuid()}:{os.getgid()}",
             "-v", f"{compiled}:{compiled}:ro", "-v", f"{out}:{out}", qemu,
             "mcuorch-qemu-run", "--board", "spike", "--elf", str(compiled / "app.elf"), "--out", str(out)],
            capture_output=True, text=True, timeout=600)
        assert done.returncode == 0, done.stderr
        qemu_counts = json.loads((out / "counts.json").read_text())
        for region in ("setup", "run"):
            assert spike_counts["regions"][region]["per_entry"] == qemu_counts["regions"][region]["per_entry"], \
                (run["identity"], region)
