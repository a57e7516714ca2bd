"""`mcuorch ...` in-process for CLI tests: exit code, stdout and stderr of one command."""

from __future__ import annotations

import pytest

from orchestrator.cli.main import main


def cli_main(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exit_info:
        main(args)
    captured = capsys.readouterr()
    return int(exit_info.value.code or 0), captured.out, captured.err
