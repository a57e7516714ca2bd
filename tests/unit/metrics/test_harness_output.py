from __future__ import annotations

import math

import pytest

from orchestrator.metrics.harness_output import parse_harness_output, parse_value

from .conftest import RUNS


@pytest.mark.parametrize("case", sorted(p.name for p in RUNS.iterdir()))
def test_recorded_outputs(case: str) -> None:
    run = RUNS / case
    out = parse_harness_output((run / "stdout.txt").read_text())
    exit_code = int((run / "exit_code").read_text())
    assert out.started
    if case.endswith("_trap"):
        assert not out.finished and out.harness_exit is None and out.metrics == {}
        return
    assert out.finished and out.harness_exit == exit_code
    assert out.metrics["Inferences"] == 3
    assert isinstance(out.metrics["Validation Mismatches"], int)
    assert out.validation_mode == ("argmax" if "argmax" in case else "exact")
    if case == "host_x86":
        assert out.metrics["Total Runtime [s]"] >= out.metrics["Run Runtime [s]"] > 0
        assert isinstance(out.metrics["Total Runtime [s]"], float)


def test_only_lines_between_the_markers_count() -> None:
    text = """# Early: 1
Program start.
# Total Instructions: 1234
# Max: 1.5e-3
# Broken: twelve
# Inf: inf
no metric: 5
error: something odd
Program finish.
# Late: 2
MLONMCU EXIT: 18
"""
    out = parse_harness_output(text)
    assert out.metrics == {"Total Instructions": 1234, "Max": 0.0015, "Inf": math.inf}
    assert out.harness_exit == 18 and out.errors == ["something odd"] and out.finished


def test_windows_line_endings_and_missing_finish() -> None:
    out = parse_harness_output("Program start.\r\n# RAM stack: 96\r\nMLONMCU EXIT: 0\r\n")
    assert out.metrics == {"RAM stack": 96} and out.harness_exit == 0 and not out.finished


def test_nothing_printed() -> None:
    out = parse_harness_output("")
    assert not out.started and out.metrics == {} and out.harness_exit is None


@pytest.mark.parametrize(("text", "value"), [
    ("12", 12), ("-3", -3), ("0.25", 0.25), ("1e3", 1000.0), ("2.5E-2", 0.025), ("nan", None),
    ("inf", math.inf), ("12a", None), ("1,000", None), ("", None),
])
def test_values(text: str, value: float | None) -> None:
    parsed = parse_value(text)
    if text == "nan":
        assert parsed is not None and math.isnan(parsed)
    else:
        assert parsed == value and type(parsed) is type(value)
