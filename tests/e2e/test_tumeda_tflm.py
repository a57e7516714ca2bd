"""End to end: TFLite-Micro's interpreter (backend tflmi) and tflite_micro_compiler's
pre-interpreted code (tflmc) from the pinned sources, compiled for each run's own target with the
C++ toolchains, validated exactly against TFLite-Micro's reference kernels (the golden outputs),
beside our own Relax C backend (relaxaot in tumeda), on Spike, ETISS and the host; tflmc also with CMSIS-NN on a Cortex-M4F and
muRISCV-NN on Spike.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.e2e.test_default_environment import last_report, labelled_containers, mcuorch
from tests.e2e.test_tumeda_environment import home  # noqa: F401  (the source-cache home fixture)

# The module's session is an 18-run matrix built with cold compile caches (a test home is
# empty); beside a CPU-bound job the tflm one outlasted pytest's 900 s (killed at 900 s).
SESSION_TIMEOUT = 2700
pytestmark = [pytest.mark.e2e, pytest.mark.docker, pytest.mark.timeout(SESSION_TIMEOUT)]


MODELS = ("aww", "resnet")
BACKENDS = ("tflmi", "tflmc", "relaxaot")
TARGETS = ("spike", "etiss_pulpino", "host_x86")


@pytest.fixture(scope="module")
def session(home: Path) -> tuple[dict, object]:
    """The issue's matrix: TFLite-Micro's interpreter, tflite_micro_compiler and our relaxaot on
    Spike, ETISS and the host, in one session."""
    args = [*MODELS, *(a for b in BACKENDS for a in ("-b", b)), *(a for t in TARGETS for a in ("-t", t))]
    done = mcuorch(home, "run", "--env", "tumeda", *args, "--parallel", "2", timeout=SESSION_TIMEOUT)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return last_report(home)


def test_every_run_validates_exactly(session: tuple[dict, object]) -> None:
    record, report = session
    assert len(report) == len(MODELS) * len(BACKENDS) * len(TARGETS)
    assert not report["Failing"].any(), report[["Model", "Backend", "Target", "Reason"]]
    assert report["Validation"].all() and (report["Validation Mismatches"] == 0).all()
    tflm = report[report["Backend"] != "relaxaot"]
    assert (tflm["Framework"] == "tflm").all() and (tflm["COMPILE Image"].str.contains("-cxx:")).all()
    assert not report[report["Backend"] == "relaxaot"]["COMPILE Image"].str.contains("-cxx:").any()
    assert (tflm["Arena Size"] > 1000).all()
    simulated = report[report["Target"] != "host_x86"]
    assert (simulated["Run Instructions"] > 1e6).all()
    assert labelled_containers(record["id"]) == []


def test_tflmi_uses_its_arena_and_pays_for_the_interpreter(session: tuple[dict, object]) -> None:
    _, report = session
    tflmi = report[report["Backend"] == "tflmi"]
    assert (tflmi["Arena Used"] <= tflmi["Arena Size"]).all() and (tflmi["Arena Used"] > 1000).all()
    # The interpreter's own work (op dispatch, arena planning at Setup) costs instructions.
    for model in MODELS:
        rows = report[(report["Model"] == model) & (report["Target"] == "spike")].set_index("Backend")
        assert rows.loc["tflmi", "Setup Instructions"] > rows.loc["relaxaot", "Setup Instructions"]


def test_tflmc_needs_less_rom_and_setup_than_tflmi(session: tuple[dict, object]) -> None:
    _, report = session
    for (model, target), rows in report.groupby(["Model", "Target"]):
        rows = rows.set_index("Backend")
        # No interpreter, op resolver, allocator or planner on the target.
        assert rows.loc["tflmc", "Total ROM"] < rows.loc["tflmi", "Total ROM"], (model, target)
        if target != "host_x86":
            # Setup runs only the kernels' Init and Prepare; the same kernels run an inference.
            assert rows.loc["tflmc", "Setup Instructions"] < rows.loc["tflmi", "Setup Instructions"]
            tflmi_run = rows.loc["tflmi", "Run Instructions"]
            assert abs(rows.loc["tflmc", "Run Instructions"] - tflmi_run) < 0.01 * tflmi_run, (model, rows)


def test_spike_and_etiss_retire_the_same_instructions_per_inference(session: tuple[dict, object]) -> None:
    """Both simulate rv32gc exactly, so the same program differs at most by its start address
    (ETISS's PULPino map links at 0): an inference's count agrees to a few instructions."""
    _, report = session
    for (model, backend), rows in report[report["Target"] != "host_x86"].groupby(["Model", "Backend"]):
        runs = rows.set_index("Target")["Run Instructions"]
        assert abs(runs["spike"] - runs["etiss_pulpino"]) <= 1e-5 * runs["spike"] + 8, (model, backend, runs)


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
