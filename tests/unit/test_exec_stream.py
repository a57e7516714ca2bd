from __future__ import annotations

from pathlib import Path

import pytest

from orchestrator.runtime.base import Mount
from orchestrator.runtime.exec_stream import END_MARKER, clear_outputs, take_end_marker, without_marker


@pytest.mark.parametrize(("content", "complete", "left"), [
    (b"job output\n" + END_MARKER, True, b"job output\n"),
    (b"no newline" + END_MARKER, True, b"no newline"),
    (END_MARKER, True, b""),
    (b"", False, b""),
    (b"job output\n", False, b"job output\n"),
    (b"job output\n" + END_MARKER[:-3], False, b"job output\n" + END_MARKER[:-3]),
])
def test_the_marker_is_taken_only_when_the_stream_ended_with_it(tmp_path: Path, content: bytes, complete: bool,
                                                                 left: bytes) -> None:
    log = tmp_path / "stdout.log"
    log.write_bytes(content)
    assert take_end_marker(log) is complete
    assert log.read_bytes() == left


def test_echo_hides_the_marker() -> None:
    assert without_marker(b"tail\n" + END_MARKER) == b"tail\n"
    assert without_marker(END_MARKER) == b""


def test_clear_outputs_empties_writable_folders_only(tmp_path: Path) -> None:
    (tmp_path / "out" / "sub").mkdir(parents=True)
    (tmp_path / "out" / "sub" / "f").write_text("x")
    (tmp_path / "out" / "g").write_text("y")
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "h").write_text("z")
    clear_outputs([Mount(path=tmp_path / "in"), Mount(path=tmp_path / "out", read_only=False)])
    assert list((tmp_path / "out").iterdir()) == [] and (tmp_path / "in" / "h").is_file()
