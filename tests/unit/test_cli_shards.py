"""CLI of shards and merge: `run --shard K/N --dry-run`, `merge` errors as one line."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import TOY_ENV
from tests.unit.cli_run import cli_main as _main


MATRIX = ["run", "--env", str(TOY_ENV), "toy_sum", "toy_mul", "--config-gen", "toycc.opt=0", "--config-gen",
          "toycc.opt=2", "--dry-run"]


def test_dry_run_of_each_shard_lists_its_share(mcuorch_home: Path, toy_plugin: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    code, whole, _ = _main(MATRIX, capsys)
    assert code == 0 and whole.splitlines()[0] == "4 runs"
    listed: list[str] = []
    for k in (1, 2):
        code, out, _ = _main([*MATRIX, "--shard", f"{k}/2"], capsys)
        assert code == 0 and out.splitlines()[0] == "2 runs"
        listed += [line.split()[0] for line in out.splitlines()[1:-1]]
    assert sorted(listed) == ["0", "1", "2", "3"]  # run numbers of the whole matrix, each once


@pytest.mark.parametrize("value", ["3/2", "0/1", "two/3", "1/"])
def test_bad_shard_is_one_line_exit_2(value: str, mcuorch_home: Path, toy_plugin: Path,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = _main([*MATRIX, "--shard", value], capsys)
    assert code == 2 and err == f"error: --shard {value!r} must be K/N with 1 <= K <= N, e.g. --shard 1/4\n"


def test_merge_of_nothing_useful_is_one_line_exit_2(mcuorch_home: Path, tmp_path: Path,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = _main(["merge", str(tmp_path / "nowhere")], capsys)
    assert code == 2 and err == f"error: {tmp_path / 'nowhere'} does not exist\n"
    (tmp_path / "empty").mkdir()
    code, _, err = _main(["merge", str(tmp_path / "empty")], capsys)
    assert code == 2 and err.startswith(f"error: {tmp_path / 'empty'} holds no shard session") and err.count("\n") == 1
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "session.json").write_text("{not json")
    code, _, err = _main(["merge", str(broken)], capsys)
    assert code == 2 and err.startswith(f"error: {broken / 'session.json'} is not a readable session record")
