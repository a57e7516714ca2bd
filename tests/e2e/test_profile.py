"""End to end `-f profile` on the default environment: real BUILD, COMPILE and QEMU with the
plugin; the per-kernel counts must add up to the Run region exactly, one event per executed
kernel, and the trace must pass the Trace Event Format rules and load in Chrome's DevTools
Performance panel with every kernel drawn (tests/profile_viewer)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.e2e.test_default_environment import last_report, mcuorch
from tests.profile_viewer.devtools import show_in_devtools
from tests.profile_viewer.viewer import require_browser, view_trace

TARGETS = ["riscv_qemu", "mps3_an547"]
pytestmark = [pytest.mark.e2e, pytest.mark.docker]


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("home")


@pytest.fixture(scope="module")
def session(home: Path) -> tuple[dict, object]:
    targets = [arg for target in TARGETS for arg in ("-t", target)]
    done = mcuorch(home, "run", "sine_model", "aww", "-b", "tvmaot", *targets, "-f", "profile", "--parallel", "2")
    assert done.returncode == 0, done.stderr[-3000:]
    return last_report(home)


def _outputs(home: Path, stage: str, key: str) -> Path:
    return home / "jobs" / stage / key / "outputs"


def test_kernel_counts_add_up_to_the_run_region_exactly(home: Path, session: tuple[dict, object]) -> None:
    record, report = session
    assert len(report) == 4 and not report["Failing"].any() and report["Validation"].all()
    for run in record["runs"]:
        out = _outputs(home, "RUN", run["jobs"]["RUN"])
        steps = json.loads((_outputs(home, "BUILD", run["jobs"]["BUILD"]) / "memory_plan.json").read_text())["steps"]
        run_region = json.loads((out / "counts.json").read_text())["regions"]["run"]
        summary = json.loads((out / "profile_summary.json").read_text())
        layers = summary["layers"]
        assert sum(layer["instructions"] for layer in layers) + summary["glue"] == run_region["instructions"]
        row = report[report["Run"] == run["index"]].iloc[0]
        assert summary["run_instructions"] / summary["inferences"] == row["Run Instructions"]
        assert summary["inferences"] == run_region["entries"] > 0
        trace = json.loads((out / "profile.json").read_text())
        events = [e for e in trace["traceEvents"] if e["ph"] == "X"]
        assert len(events) == len(steps) == len(layers)  # one event per executed kernel
        assert [e["args"]["kernel"] for e in events] == [s["kernel"] for s in steps]  # in call order
        assert sum(e["dur"] for e in events) + summary["first_glue"] == run_region["per_entry"][0]
        assert all(a["ts"] + a["dur"] <= b["ts"] for a, b in zip(events, events[1:]))
        top = max(layers, key=lambda layer: layer["instructions"])
        assert row["Top Kernel"] == top["name"]
        assert row["Top Kernel Share [%]"] == round(100 * top["instructions"] / summary["run_instructions"], 2)


def test_aww_layers_carry_op_and_macs(home: Path, session: tuple[dict, object]) -> None:
    record, _ = session
    run = next(r for r in record["runs"] if r["identity"]["model"] == "aww")
    trace = json.loads((_outputs(home, "RUN", run["jobs"]["RUN"]) / "profile.json").read_text())
    conv = next(e for e in trace["traceEvents"] if e["ph"] == "X" and e["args"]["op"] == "CONV_2D")
    assert conv["args"]["MACs"] > 0 and 1 < conv["args"]["instructions/MAC"] < 20
    assert [e for e in trace["traceEvents"] if e["ph"] == "C"], "arena counter from the memory plan"


def test_traces_pass_the_browser_viewer_check(home: Path, session: tuple[dict, object], tmp_path: Path) -> None:
    chrome = require_browser()
    record, _ = session
    for run in record["runs"]:
        out = _outputs(home, "RUN", run["jobs"]["RUN"])
        seen = view_trace(out / "profile.json", tmp_path, chrome)
        layers = json.loads((out / "profile_summary.json").read_text())["layers"]
        assert seen["problems"] == [] and seen["complete"] == len(layers)
        assert seen["names"] == [layer["name"] for layer in layers]
        shown = show_in_devtools(out / "profile.json", chrome)
        assert shown["error"] is None and [e["name"] for e in shown["entries"]] == seen["names"]


def test_profile_command_prints_the_table_and_writes_charts(home: Path, session: tuple[dict, object],
                                                            tmp_path: Path) -> None:
    record, _ = session
    done = mcuorch(home, "profile", record["id"], "-o", str(tmp_path))
    assert done.returncode == 0, done.stderr
    assert done.stdout.count("Run Instructions") == 4 and "conv_2d_0" in done.stdout and "(glue)" in done.stdout
    assert len(list(tmp_path.glob("*.png"))) == len(list(tmp_path.glob("*.svg"))) == 4
    one = mcuorch(home, "profile", "1", "-s", record["id"], "--no-chart")
    assert one.returncode == 0 and one.stdout.count("Run Instructions") == 1


def test_runs_without_the_feature_have_no_profile(home: Path, session: tuple[dict, object]) -> None:
    done = mcuorch(home, "run", "sine_model", "-b", "tvmaot", "-t", "riscv_qemu")
    assert done.returncode == 0, done.stderr[-3000:]
    record, report = last_report(home)
    assert "Top Kernel" not in report.columns or report["Top Kernel"].isna().all()
    out = _outputs(home, "RUN", record["runs"][0]["jobs"]["RUN"])
    assert not (out / "profile.json").exists() and "profile" not in json.loads((out / "counts.json").read_text())
    refused = mcuorch(home, "profile", record["id"])
    assert refused.returncode == 2 and "no profiled run" in refused.stderr
