"""End to end `-f profile` of TFLite-Micro (tumeda): the interpreter (tflmi) and
tflite_micro_compiler's code (tflmc) on riscv_qemu. Every op call of the model is a layer named
like tvmaot's (`conv_2d_0` ...), attributed to the op's invoke function found per object in the
ELF; layers + glue must add up to the Run region exactly, inference by inference."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.e2e.test_default_environment import last_report, mcuorch
from tests.e2e.test_tumeda_environment import home  # noqa: F401  (the source-cache home fixture)
from orchestrator.profile.trace import trace_problems

pytestmark = [pytest.mark.e2e, pytest.mark.docker, pytest.mark.timeout(2700)]
BACKENDS = ("tflmi", "tflmc")


def _outputs(home: Path, stage: str, key: str) -> Path:
    return home / "jobs" / stage / key / "outputs"


@pytest.fixture(scope="module")
def session(home: Path) -> tuple[dict, object]:  # noqa: F811
    done = mcuorch(home, "run", "--env", "tumeda", "aww", *(a for b in BACKENDS for a in ("-b", b)),
                   "-t", "riscv_qemu", "-f", "profile", "--parallel", "2", timeout=2700)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return last_report(home)


def test_op_calls_add_up_to_the_run_region_exactly(home: Path, session: tuple[dict, object]) -> None:  # noqa: F811
    record, report = session
    assert len(report) == len(BACKENDS) and not report["Failing"].any() and report["Validation"].all()
    for run in record["runs"]:
        out = _outputs(home, "RUN", run["jobs"]["RUN"])
        build = _outputs(home, "BUILD", run["jobs"]["BUILD"])
        steps = json.loads((build / "kernels.json").read_text())["steps"]
        model = json.loads((_outputs(home, "LOAD", run["jobs"]["LOAD"]) / "model.json").read_text())
        assert [s["op"] for s in steps] == [layer["op"] for layer in model["layers"]]  # every op call, in order
        run_region = json.loads((out / "counts.json").read_text())["regions"]["run"]
        summary = json.loads((out / "profile_summary.json").read_text())
        layers = summary["layers"]
        assert [layer["name"] for layer in layers][:3] == ["conv_2d_0", "depthwise_conv_2d_0", "conv_2d_1"]
        assert layers[-1]["name"] == "softmax_0" and len(layers) == len(steps) == 13
        assert sum(layer["instructions"] for layer in layers) + summary["glue"] == run_region["instructions"]
        assert summary["inferences"] == run_region["entries"] > 0
        row = report[report["Run"] == run["index"]].iloc[0]
        assert summary["run_instructions"] / summary["inferences"] == row["Run Instructions"]
        # The kernels do the work: the convolutions dominate, dispatch is a sliver.
        assert row["Top Kernel"].startswith("conv_2d_") and row["Top Kernel Share [%]"] > 10
        assert summary["glue"] < 0.05 * summary["run_instructions"]
        conv = next(layer for layer in layers if layer["name"] == "conv_2d_1")
        assert conv["object"] == "conv.cc" and conv["macs"] == 512000 and conv["callees"] > 0
        trace = json.loads((out / "profile.json").read_text())
        assert trace_problems(trace) == []
        events = [e for e in trace["traceEvents"] if e["ph"] == "X"]
        assert sum(e["dur"] for e in events) + summary["first_glue"] == run_region["per_entry"][0]


def test_both_backends_run_the_same_kernels(home: Path, session: tuple[dict, object]) -> None:  # noqa: F811
    """tflmc pre-interprets, tflmi interprets: the per-layer kernel work is the same code on the
    same data, only the glue (dispatch) differs; a few instructions of a layer may too (reshape:
    measured: tflmc's layers take 6 to 12 instructions fewer per inference, reshape 508 of 514)."""
    record, _ = session
    by_backend = {}
    for run in record["runs"]:
        summary = json.loads((_outputs(home, "RUN", run["jobs"]["RUN"]) / "profile_summary.json").read_text())
        by_backend[run["identity"]["backend"]] = summary
    tflmi, tflmc = (by_backend[b] for b in BACKENDS)
    for a, b in zip(tflmi["layers"], tflmc["layers"], strict=True):
        assert a["name"] == b["name"] and a["kernel"] == b["kernel"]
        assert abs(a["instructions"] - b["instructions"]) <= max(0.01 * a["instructions"], 100), (a["name"], a, b)
