"""End to end: TFLite-Micro's interpreter (backend tflmi) from the pinned sources, compiled for
each run's own target with the C++ toolchains, validated exactly against TFLite-Micro's
reference kernels (the golden outputs), beside our own tvmaot in the same session.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.e2e.test_default_environment import last_report, labelled_containers, mcuorch

pytestmark = [pytest.mark.e2e, pytest.mark.docker]


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    home = tmp_path_factory.mktemp("home")
    mirror = os.environ.get("MCUORCH_SOURCES_FROM")
    fetched = mcuorch(home, "sources", "fetch", "--env", "tumeda", *(["--from", mirror] if mirror else []))
    assert fetched.returncode == 0, fetched.stderr
    return home


@pytest.fixture(scope="module")
def session(home: Path) -> tuple[dict, object]:
    """The issue's matrix: TFLite-Micro and tvmaot on Spike, ETISS and the host."""
    done = mcuorch(home, "run", "--env", "tumeda", "aww", "resnet", "-b", "tflmi", "-b", "tvmaot",
                   "-t", "spike", "-t", "etiss_pulpino", "-t", "host_x86", "--parallel", "2")
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return last_report(home)


def test_tflmi_and_tvmaot_validate_on_spike_etiss_and_host(session: tuple[dict, object]) -> None:
    record, report = session
    assert len(report) == 12 and not report["Failing"].any(), report[["Model", "Backend", "Target", "Reason"]]
    assert report["Validation"].all()
    assert (report["Validation Mismatches"] == 0).all()
    tflm = report[report["Backend"] == "tflmi"]
    assert (tflm["Framework"] == "tflm").all()
    assert (tflm["Arena Used"] <= tflm["Arena Size"]).all() and (tflm["Arena Used"] > 1000).all()
    simulated = tflm[tflm["Target"] != "host_x86"]
    assert (simulated["Run Instructions"] > 1e6).all()
    assert (tflm["COMPILE Image"].str.contains("-cxx:")).all()
    assert not report[report["Backend"] == "tvmaot"]["COMPILE Image"].str.contains("-cxx:").any()
    # The interpreter's own work (op dispatch, arena planning at Setup) costs instructions.
    for model in ("aww", "resnet"):
        rows = report[(report["Model"] == model) & (report["Target"] == "spike")].set_index("Backend")
        assert rows.loc["tflmi", "Setup Instructions"] > rows.loc["tvmaot", "Setup Instructions"]
    assert labelled_containers(record["id"]) == []


def test_kernel_libraries_follow_each_runs_target(home: Path, session: tuple[dict, object]) -> None:
    """CMSIS-NN with the Cortex-M4's DSP instructions, and muRISCV-NN on RISC-V: each run builds
    its own library, and both beat the reference kernels with the same (exact) outputs."""
    refused = mcuorch(home, "run", "--env", "tumeda", "aww", "-b", "tflmi", "-t", "mps2_an386", "-f", "muriscvnn")
    assert refused.returncode == 2 and "needs a RISC-V target, not mps2_an386" in refused.stderr
    assert len(refused.stderr.strip().splitlines()) == 1
    done = mcuorch(home, "run", "--env", "tumeda", "aww", "-b", "tflmi", "-t", "mps2_an386",
                   "--feature-gen", "_", "--feature-gen", "cmsisnn", "--parallel", "2")
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    _, arm = last_report(home)
    done = mcuorch(home, "run", "--env", "tumeda", "aww", "-b", "tflmi", "-t", "spike", "-f", "muriscvnn")
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    _, riscv = last_report(home)
    assert arm["Validation"].all() and riscv["Validation"].all()
    by_features = {tuple(row["Features"]): row["Run Instructions"] for _, row in arm.iterrows()}
    assert by_features[("cmsisnn",)] < 0.6 * by_features[()]
    _, report = session
    reference = report[(report["Model"] == "aww") & (report["Backend"] == "tflmi") & (report["Target"] == "spike")]
    assert riscv.iloc[0]["Run Instructions"] < reference.iloc[0]["Run Instructions"]


def test_a_too_small_arena_is_one_clear_reason(home: Path) -> None:
    done = mcuorch(home, "run", "--env", "tumeda", "sine_model", "-b", "tflmi", "-t", "host_x86",
                   "-c", "tflmi.arena_size=64")
    assert done.returncode == 1
    _, report = last_report(home)
    row = report.iloc[0]
    assert row["Failing"] and "arena of 64 bytes" in row["Reason"] and "tflmi.arena_size" in row["Reason"]
