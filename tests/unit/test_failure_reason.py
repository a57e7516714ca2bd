"""A failing tool's own `error:` line reaches the report's Reason."""

from __future__ import annotations

import errno
from pathlib import Path
from types import SimpleNamespace

import pytest

from orchestrator.cli import main as cli_main
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



def test_a_full_disk_is_one_actionable_line(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    def full(*_args: object, **_kwargs: object) -> None:
        raise OSError(errno.ENOSPC, "No space left on device", "/home/x/jobs/RUN/.staging/k")

    monkeypatch.setattr(cli_main.typer.main, "get_command", lambda _app: SimpleNamespace(main=full))
    with pytest.raises(SystemExit) as exit_info:
        cli_main.main(["sessions"])
    err = capsys.readouterr().err.strip()
    assert exit_info.value.code == 1
    assert err.startswith("error: no space left on device writing /home/x/jobs/RUN/.staging/k: free disk space")
    assert "internal error" not in err and "\n" not in err
