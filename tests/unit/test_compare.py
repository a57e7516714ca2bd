"""`mcuorch compare`: runs matched by identity, thresholds, lost validation, outputs, errors."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest
from rich.console import Console

from orchestrator.compare import CompareError, Threshold, compare, load_side, markdown
from orchestrator.matrix import MatrixRequest
from orchestrator.runner import SessionOptions, SessionResult, SessionRunner, prepare
from orchestrator.runtime.base import ExecRequest
from orchestrator.runtime.fake import FakeOutcome, FakeRuntime
from orchestrator.session import SessionStore
from tests.conftest import TOY_ENV
from tests.unit.conftest import toy_registry
from tests.unit.cli_run import cli_main as _main

INSTRUCTIONS = {"-O0": 1500, "-O1": 1100, "-O2": 1000, "-O3": 1004}
"""Run Instructions the fake toolchain reports per optimisation level (-O3 is 0.4% above -O2)."""


def toolchain(request: ExecRequest) -> FakeOutcome:
    """BUILD writes its -O level, COMPILE passes it on, RUN reports figures that depend on it;
    a model called toy_mul does not validate at -O0; `toycc.fail` fails BUILD."""
    stage, argv = request.labels["mcuorch.stage"], request.argv
    if "deliberate failure" in " ".join(argv):
        return FakeOutcome(exit_code=1)
    if stage == "LOAD":
        return FakeOutcome(files={"model.c": "mul" if "toy_mul" in " ".join(argv) else "sum"})
    if stage == "BUILD":
        opt = next(a for a in argv if a.startswith("-O"))
        model = Path(argv[3]).read_text()
        return FakeOutcome(files={"model.o": f"{model} {opt}"})
    if stage == "COMPILE":
        return FakeOutcome(files={"app": Path(argv[1]).read_text()})
    model, opt = Path(argv[4]).read_text().split()
    metrics = {"Run Instructions": INSTRUCTIONS[opt], "Total ROM": 4000 + INSTRUCTIONS[opt] // 10,
               "RAM stack": 256, "Validation": not (model == "mul" and opt == "-O0")}
    return FakeOutcome(files={"stdout.txt": "", "metrics.json": json.dumps(metrics)})


def session(home: Path, monkeypatch: pytest.MonkeyPatch, *config: str, models: tuple[str, ...] = ("toy_sum", "toy_mul"),
            ) -> SessionResult:
    monkeypatch.setenv("MCUORCH_HOME", str(home))
    request = MatrixRequest(models=list(models), config=list(config))
    options = SessionOptions(env=str(TOY_ENV), request=request, runtime="local", quiet=True)
    runner = SessionRunner(Console(file=open("/dev/null", "w")), runtime_factory=lambda *a: FakeRuntime(toolchain))
    return runner.run(options, threading.Event(), prepared=prepare(str(TOY_ENV), request, registry=toy_registry()))


def folder(home: Path, result: SessionResult) -> str:
    return str(home / "sessions" / result.record.id)


@pytest.mark.parametrize(("text", "relative", "value"), [("1%", True, 1.0), (" 0.5 %", True, 0.5), (".5%", True, 0.5),
                                                        ("2048", False, 2048.0), ("0", False, 0.0)])
def test_threshold_parsing(text: str, relative: bool, value: float) -> None:
    threshold = Threshold.parse(text)
    assert (threshold.relative, threshold.value) == (relative, value)


@pytest.mark.parametrize("text", ["abc", "-1%", "1%%", "", "1e3", "%"])
def test_bad_thresholds(text: str) -> None:
    with pytest.raises(CompareError, match="must be a non-negative number"):
        Threshold.parse(text)


def test_threshold_semantics() -> None:
    one = Threshold.parse("1%")
    assert one.exceeded(1000, 1011) and not one.exceeded(1000, 1010) and not one.exceeded(1000, 900)
    assert one.exceeded(0, 1) and not one.exceeded(0, 0)
    absolute = Threshold.parse("16")
    assert absolute.exceeded(256, 273) and not absolute.exceeded(256, 272)


def test_optimize_0_against_2_is_flagged_and_exits_1(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    base = session(tmp_path / "h", monkeypatch, "toycc.opt=2")
    new = session(tmp_path / "h", monkeypatch, "toycc.opt=0")
    code, out, err = _main(["compare", folder(tmp_path / "h", base), folder(tmp_path / "h", new),
                            "--metric", "Run Instructions", "--threshold", "1%", "--ignore-config", "toycc.opt",
                            "--markdown", str(tmp_path / "diff.md"), "--json", str(tmp_path / "diff.json")], capsys)
    assert code == 1, err
    assert "regression: toy_sum toycc toyhost: Run Instructions 1000 → 1500 exceeds 1%" in err
    assert "stopped validating (Validation False)" in err  # toy_mul no longer validates at -O0
    assert err.strip().splitlines()[-1] == "2 runs compared: 2 regressed, 0 improved; 0 only in base, 0 only in new"
    assert "+500" in out and "+50.00%" in out and "REGRESSION" in out
    diff = json.loads((tmp_path / "diff.json").read_text())
    assert [r["status"] for r in diff["runs"]] == ["matched", "matched"]
    sum_run = diff["runs"][0]
    assert sum_run["deltas"] == [{"metric": "Run Instructions", "base": 1000.0, "new": 1500.0, "delta": 500.0,
                                  "relative": 0.5, "threshold": "1%", "regressed": True}]
    text = (tmp_path / "diff.md").read_text()
    assert text.startswith("### mcuorch compare: 2 runs compared: 2 regressed")
    assert "| toy_sum toycc toyhost | Run Instructions | 1000 | 1500 | +500 | +50.00% | REGRESSION |" in text


def test_the_same_result_passes_and_an_improvement_is_no_regression(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                                    capsys: pytest.CaptureFixture[str]) -> None:
    home = tmp_path / "h"
    slow = session(home, monkeypatch, "toycc.opt=1")
    fast = session(home, monkeypatch, "toycc.opt=2")
    again = session(home, monkeypatch, "toycc.opt=1")
    code, out, err = _main(["compare", slow.record.id, again.record.id], capsys)
    assert code == 0 and "2 runs compared: 0 regressed, 0 improved" in err and out == ""
    code, out, err = _main(["compare", slow.record.id, fast.record.id, "--ignore-config", "toycc.opt"], capsys)
    assert code == 0, err
    assert "0 regressed, 2 improved" in err and "improved" in out and "-100" in out


def test_thresholds_per_metric(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """In the fake toolchain -O3 takes 0.4% more Run Instructions than -O2, in the same ROM."""
    home = tmp_path / "h"
    sessions = SessionStore(home / "sessions")
    base = session(home, monkeypatch, "toycc.opt=2", models=("toy_sum",))
    new = session(home, monkeypatch, "toycc.opt=3", models=("toy_sum",))
    sides = (load_side(base.record.id, sessions), load_side(new.record.id, sessions))
    loose = compare(*sides, ["Run Instructions", "Total ROM"], ["1%"], ["toycc.opt"])
    assert not loose.regressions and loose.thresholds == {"Run Instructions": "1%", "Total ROM": "1%"}
    strict = compare(*sides, ["Run Instructions", "Total ROM"], ["0.1%", "1%"], ["toycc.opt"])
    assert [r.problems for r in strict.regressions] == [["Run Instructions 1000 → 1004 exceeds 0.1%"]]
    absolute = compare(*sides, ["Run Instructions"], ["3"], ["toycc.opt"])
    assert absolute.regressions and not compare(*sides, ["Run Instructions"], ["4"], ["toycc.opt"]).regressions
    default = compare(*sides, ignore_config=["toycc.opt"])
    assert default.metrics == ["Run Instructions", "Total ROM", "RAM stack"] and not default.regressions


def test_a_failing_run_stops_validating(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    home = tmp_path / "h"
    sessions = SessionStore(home / "sessions")
    base = session(home, monkeypatch, "toycc.fail=0", models=("toy_sum",))
    new = session(home, monkeypatch, "toycc.fail=1", models=("toy_sum",))
    result = compare(load_side(base.record.id, sessions), load_side(new.record.id, sessions),
                     ignore_config=["toycc.fail"])
    (run,) = result.regressions
    assert run.problems == ["stopped validating (fails: exit code 1 @ BUILD)"]
    assert "REGRESSION: stopped validating" in markdown(result)


def test_unmatched_runs_are_listed_not_judged(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    home = tmp_path / "h"
    sessions = SessionStore(home / "sessions")
    base = session(home, monkeypatch, "toycc.opt=2")
    new = session(home, monkeypatch, "toycc.opt=0", models=("toy_sum",))
    result = compare(load_side(base.record.id, sessions), load_side(new.record.id, sessions))
    assert sorted(r.status for r in result.runs) == ["missing", "missing", "new"] and not result.regressions
    assert "0 runs compared: 0 regressed, 0 improved; 2 only in base, 1 only in new" == result.summary()


def test_bare_report_files_match_by_their_columns(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A report.json copied away from its session (a CI artifact) still compares: runs are
    matched by the Model/Backend/Target/Features/Config columns."""
    home = tmp_path / "h"
    base = session(home, monkeypatch, "toycc.opt=2")
    new = session(home, monkeypatch, "toycc.opt=0")
    for name, result in (("base.json", base), ("new.json", new)):
        (tmp_path / name).write_bytes((home / "sessions" / result.record.id / "report.json").read_bytes())
    sessions = SessionStore(home / "sessions")
    plain = compare(load_side(str(tmp_path / "base.json"), sessions), load_side(str(tmp_path / "new.json"), sessions))
    assert not any(r.status == "matched" for r in plain.runs)  # Config differs: toycc.opt
    matched = compare(load_side(str(tmp_path / "base.json"), sessions), load_side(str(tmp_path / "new.json"), sessions),
                      ["Run Instructions"], ["1%"], ["toycc.opt"])
    assert len(matched.regressions) == 2 and matched.runs[0].identity["model"] == "toy_sum"


@pytest.mark.parametrize(("args", "expected"), [
    (["--threshold", "lots"], "error: threshold 'lots' must be a non-negative number"),
    (["--metric", "Run Instructions", "--threshold", "1%", "--threshold", "2%", "--threshold", "3%"],
     "error: 3 thresholds for 1 metrics"),
    (["--metric", "Bananas"], "error: neither report has a numeric column 'Bananas'; choose from:"),
])
def test_bad_options_are_one_line_exit_2(args: list[str], expected: str, tmp_path: Path,
                                         monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    result = session(tmp_path / "h", monkeypatch, "toycc.opt=2", models=("toy_sum",))
    code, _, err = _main(["compare", result.record.id, result.record.id, *args], capsys)
    assert code == 2 and err.startswith(expected) and err.count("\n") == 1, err


def test_bad_inputs_are_one_line_exit_2(tmp_path: Path, mcuorch_home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "rows.json").write_text('{"not": "a list"}')
    (tmp_path / "empty").mkdir()
    rows, empty = tmp_path / "rows.json", tmp_path / "empty"
    cases = [(tmp_path / "missing.json", f"error: {tmp_path / 'missing.json'} does not exist"),
             (rows, f"error: {rows}: {rows} is not a report (a JSON list of rows, as report.json is)"),
             (empty, f"error: {empty}: a folder without session.json or report.json"),
             ("20990101", "error: no sessions yet")]
    for ref, expected in cases:
        code, _, err = _main(["compare", str(ref), str(ref)], capsys)
        assert code == 2 and err == expected + "\n", err


def test_sides_without_identity_columns_are_refused(tmp_path: Path) -> None:
    (tmp_path / "r.json").write_text(json.dumps([{"Run": 0, "Total ROM": 1}]))
    with pytest.raises(CompareError, match="has no 'Model' column to match runs by"):
        load_side(str(tmp_path / "r.json"), SessionStore(tmp_path))
