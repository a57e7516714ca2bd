"""`-f profile`'s profile.json in headless chromium: Chrome's own trace viewer (the DevTools
Performance panel, tests/profile_viewer/devtools.py) loads a trace the writer makes and shows
every kernel where the trace puts it, and reports broken files; the Trace Event Format rules
check (tests/profile_viewer/viewer.py) passes the written trace and catches broken ones, so the
e2e tests can rely on it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from orchestrator.profile.summary import summarize
from orchestrator.profile.trace import chrome_trace
from tests.profile_viewer.devtools import show_in_devtools
from tests.profile_viewer.viewer import require_browser, view_trace
from tests.unit.profile.test_profile import ENTRY, counts_profile, listing


@pytest.fixture(scope="module")
def chrome() -> str:
    return require_browser()


@pytest.fixture
def written(tmp_path: Path) -> Path:
    """A profile.json as `-f profile` writes it (the product's summary and trace code)."""
    trace = chrome_trace(summarize(counts_profile(ENTRY), [1869], listing()), "toy")
    (tmp_path / "profile.json").write_text(json.dumps(trace))
    return tmp_path / "profile.json"


def test_written_trace_loads_in_the_devtools_performance_panel(chrome: str, written: Path) -> None:
    kernels = [e for e in json.loads(written.read_text())["traceEvents"] if e["ph"] == "X"]
    seen = show_in_devtools(written, chrome)
    assert seen["error"] is None, seen["error"]
    shown = seen["entries"]
    # One flame chart entry per kernel, in call order on one level, at the trace's times: the
    # panel reads ts/dur as microseconds and shows milliseconds (1 ms = 1000 instructions).
    assert [e["name"] for e in shown] == [k["name"] for k in kernels]
    assert {e["level"] for e in shown} == {0}
    start = shown[0]["start"] - kernels[0]["ts"] / 1000
    for entry, kernel in zip(shown, kernels):
        assert entry["start"] - start == pytest.approx(kernel["ts"] / 1000)
        assert entry["dur"] == pytest.approx(kernel["dur"] / 1000)
    # The process and thread names of the metadata events name the tracks.
    assert [t.split(" (")[0] for t in seen["tracks"]] == ["toy", "inference 0"]


@pytest.mark.parametrize(("text", "error"), [
    ('{"traceEvents": [{"ph": "X", "name": "a", "ts": 0, "pid": 1, "tid": 1}', "SyntaxError"),
    ('{"events": []}', "Malformed timeline data"),
    ('{"traceEvents": 5}', ""),  # the trace engine's own exception, worded by chromium
    ('{"traceEvents": []}', "no trace events loaded"),
])
def test_devtools_performance_panel_reports_broken_traces(chrome: str, tmp_path: Path, text: str,
                                                          error: str) -> None:
    (tmp_path / "profile.json").write_text(text)
    reported = show_in_devtools(tmp_path / "profile.json", chrome)["error"]
    assert reported and error in reported


def test_devtools_performance_panel_drops_crossing_events(chrome: str, tmp_path: Path) -> None:
    """Complete events on one thread that cross are not an error to the panel, but it draws only
    the first: comparing the drawn entries with the trace's X events (as above) catches it."""
    (tmp_path / "profile.json").write_text(
        '{"traceEvents": [{"ph": "X", "name": "a", "ts": 0, "dur": 9, "pid": 1, "tid": 1},'
        ' {"ph": "X", "name": "b", "ts": 4, "dur": 9, "pid": 1, "tid": 1}]}')
    seen = show_in_devtools(tmp_path / "profile.json", chrome)
    assert seen["error"] is None and [e["name"] for e in seen["entries"]] == ["a"]


def test_written_trace_passes_the_trace_event_rules(chrome: str, written: Path, tmp_path: Path) -> None:
    seen = view_trace(written, tmp_path, chrome)
    assert seen["problems"] == [] and seen["complete"] == 3 and seen["counters"] == 3
    assert seen["durations"] == 1250 + 300 + 280 and seen["unit"] == "ms"
    assert seen["names"] == ["conv_2d_0", "depthwise_conv_2d_0", "depthwise_conv_2d_1"]


@pytest.mark.parametrize(("text", "problem"), [
    ('{"traceEvents": [{"ph": "X", "name": "a", "ts": 0, "pid": 1, "tid": 1}', "JSON.parse"),
    ('{"traceEvents": [{"ph": "X", "name": "a", "ts": 0, "dur": 9, "pid": 1, "tid": 1},'
     ' {"ph": "X", "name": "b", "ts": 4, "dur": 9, "pid": 1, "tid": 1}]}', "cross"),
    ('{"traceEvents": [{"ph": "C", "name": "arena", "ts": 0, "pid": 1, "args": {"live": "9"}}]}', "counter"),
    ('{"traceEvents": [{"ph": "B", "name": "a", "ts": 0, "pid": 1, "tid": 1}]}', "unbalanced"),
])
def test_trace_event_rules_catch_broken_traces(chrome: str, tmp_path: Path, text: str, problem: str) -> None:
    (tmp_path / "profile.json").write_text(text)
    assert any(problem in p for p in view_trace(tmp_path / "profile.json", tmp_path, chrome)["problems"])
