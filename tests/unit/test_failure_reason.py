"""A failing tool's own `error:` line reaches the report's Reason."""

from __future__ import annotations

from pathlib import Path

from orchestrator.executor import REASON_CHARS, tool_error


def test_last_error_line_is_the_reason(tmp_path: Path) -> None:
    log = tmp_path / "stderr.log"
    log.write_text("warning: something\nerror: first\nnoise\nerror: model.tflite: unsupported operator GELU\n")
    assert tool_error(log) == "model.tflite: unsupported operator GELU"


def test_no_error_line_or_no_log_gives_nothing(tmp_path: Path) -> None:
    log = tmp_path / "stderr.log"
    log.write_text("Traceback (most recent call last):\n  boom\n")
    assert tool_error(log) is None
    assert tool_error(tmp_path / "missing.log") is None


def test_long_messages_are_cut(tmp_path: Path) -> None:
    log = tmp_path / "stderr.log"
    log.write_text("error: " + "x" * 1000 + "\n")
    said = tool_error(log)
    assert said is not None and len(said) == REASON_CHARS and said.endswith("...")
