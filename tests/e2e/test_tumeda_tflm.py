"""End to end: TFLite-Micro's interpreter (backend tflmi) and tflite_micro_compiler's
pre-interpreted code (tflmc) from the pinned sources, compiled for each run's own target with the
C++ toolchains, validated exactly against TFLite-Micro's reference kernels (the golden outputs),
beside our own tvmaot; tflmc also with CMSIS-NN on a Cortex-M4F and muRISCV-NN on Spike.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.e2e.test_default_environment import last_report, labelled_containers, mcuorch
from tests.e2e.test_tumeda_environment import home  # noqa: F401  (the source-cache home fixture)

pytestmark = [pytest.mark.e2e, pytest.mark.docker]


@pytest.fixture(scope="module")
def session(home: Path) -> tuple[dict, object]:
    """TFLite-Micro and tvmaot on Spike and the host (tflmi on ETISS does not pass yet)."""
    done = mcuorch(home, "run", "--env", "tumeda", "aww", "resnet", "-b", "tflmi", "-b", "tvmaot",
                   "-t", "spike", "-t", "host_x86", "--parallel", "2")
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return last_report(home)


def test_tflmi_and_tvmaot_validate_on_spike_and_host(session: tuple[dict, object]) -> None:
    record, report = session
    assert len(report) == 8 and not report["Failing"].any(), report[["Model", "Backend", "Target", "Reason"]]
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


# ---- tflmc: tflite_micro_compiler's pre-interpreted code, beside the interpreter ---------------

@pytest.fixture(scope="module")
def tflmc_session(home: Path) -> tuple[dict, object]:
    """tflmc and tflmi on Spike and the host (tflmi's jobs are the first session's, cached)."""
    done = mcuorch(home, "run", "--env", "tumeda", "aww", "resnet", "-b", "tflmc", "-b", "tflmi",
                   "-t", "spike", "-t", "host_x86", "--parallel", "2")
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return last_report(home)


def test_tflmc_validates_exactly_and_needs_less_rom_than_tflmi(tflmc_session: tuple[dict, object]) -> None:
    record, report = tflmc_session
    assert len(report) == 8 and not report["Failing"].any(), report[["Model", "Backend", "Target", "Reason"]]
    assert report["Validation"].all() and (report["Validation Mismatches"] == 0).all()
    tflmc = report[report["Backend"] == "tflmc"]
    assert (tflmc["Framework"] == "tflm").all() and (tflmc["COMPILE Image"].str.contains("-cxx:")).all()
    assert (tflmc["Arena Size"] > 1000).all()
    for (model, target), rows in report.groupby(["Model", "Target"]):
        rows = rows.set_index("Backend")
        # No interpreter, op resolver, allocator or planner on the target.
        assert rows.loc["tflmc", "Total ROM"] < rows.loc["tflmi", "Total ROM"], (model, target)
        if target == "spike":
            # Setup runs only the kernels' Init and Prepare; the same kernels run an inference.
            assert rows.loc["tflmc", "Setup Instructions"] < rows.loc["tflmi", "Setup Instructions"]
            tflmi_run = rows.loc["tflmi", "Run Instructions"]
            assert abs(rows.loc["tflmc", "Run Instructions"] - tflmi_run) < 0.01 * tflmi_run, (model, rows)
    assert labelled_containers(record["id"]) == []


def _build_summaries(home: Path) -> list[dict]:
    """tflmc.json of every tflmc BUILD job in the home's store."""
    return [json.loads(p.read_text()) for p in home.glob("jobs/*/*/outputs/codegen/tflmc.json")]


@pytest.mark.parametrize(("kernels", "target"), [("cmsisnn", "mps2_an386"), ("muriscvnn", "spike")])
def test_tflmc_with_optimised_kernels_validates_exactly(home: Path, kernels: str, target: str) -> None:
    done = mcuorch(home, "run", "--env", "tumeda", "aww", "-b", "tflmc", "-t", target, "-f", kernels)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    _, report = last_report(home)
    assert len(report) == 1 and not report["Failing"].any(), report[["Model", "Target", "Reason"]]
    row = report.iloc[0]
    assert row["Validation"] and row["Validation Mismatches"] == 0 and row["Kernels"] == kernels
    summary = next(s for s in _build_summaries(home) if s["kernels"] == kernels)
    if kernels == "cmsisnn":
        # The Cortex-M4F's DSP kernels ask for a scratch buffer the portable ones do not (aww's
        # average pool): the host ran the DSP flavour too, and the program was built with that
        # code (with the portable code the kernel's Prepare would fail at init).
        assert summary["files"] == {"cmsis_nn_mve": "model_mve.cc", "cmsis_nn_dsp": "model_dsp.cc",
                                    "cmsis_nn": "model.cc"}
        assert row["Arena Size"] == summary["arena_bytes"]["cmsis_nn_dsp"]
    else:
        assert row["Arena Size"] == summary["arena_bytes"]["muriscvnn"]
