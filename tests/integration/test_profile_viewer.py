"""The trace viewer check of `-f profile` (tests/profile_viewer) in headless chromium: a trace
the writer makes passes, broken ones are caught, so the e2e tests can rely on it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from orchestrator.profile.summary import summarize
from orchestrator.profile.trace import chrome_trace
from tests.profile_viewer.viewer import require_browser, view_trace
from tests.unit.profile.test_profile import ENTRY, counts_profile, listing


@pytest.fixture(scope="module")
def chrome() -> str:
    return require_browser()


def test_written_trace_loads_in_chromium(chrome: str, tmp_path: Path) -> None:
    trace = chrome_trace(summarize(counts_profile(ENTRY), [1869], listing()), "toy")
    (tmp_path / "profile.json").write_text(json.dumps(trace))
    seen = view_trace(tmp_path / "profile.json", tmp_path, chrome)
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
def test_chromium_check_catches_broken_traces(chrome: str, tmp_path: Path, text: str, problem: str) -> None:
    (tmp_path / "profile.json").write_text(text)
    assert any(problem in p for p in view_trace(tmp_path / "profile.json", tmp_path, chrome)["problems"])
