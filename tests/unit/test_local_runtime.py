"""The local runtime: real subprocesses, process-group kills, image folders on PATH."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import pytest

from orchestrator.paths import ProjectPaths
from orchestrator.runtime.base import ExecRequest, ImageRef, Mount
from orchestrator.runtime.local import LocalRuntime


def _request(tmp_path: Path, argv: list[str], timeout: float = 10, image: str = "img") -> ExecRequest:
    out = tmp_path / "out"
    out.mkdir(exist_ok=True)
    return ExecRequest(image=ImageRef(name=image, tag="local"), argv=argv, mounts=[Mount(path=out, read_only=False)],
                       workdir=out, timeout_sec=timeout, stdout_path=tmp_path / "stdout.log",
                       stderr_path=tmp_path / "stderr.log", env={"GREETING": "hi"})


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return not Path(f"/proc/{pid}/stat").read_text().split(")")[1].split()[0] == "Z"


@pytest.fixture
def project(tmp_path: Path) -> ProjectPaths:
    tool = tmp_path / "project" / "images" / "img" / "bin" / "img-tool"
    tool.parent.mkdir(parents=True)
    tool.write_text("#!/bin/sh\necho \"tool $GREETING $PYTHONPATH\"\n")
    tool.chmod(0o755)
    return ProjectPaths(root=tmp_path / "project")


def test_runs_image_commands_from_the_checkout(tmp_path: Path, project: ProjectPaths) -> None:
    result = LocalRuntime(project).run(_request(tmp_path, ["img-tool"]), threading.Event())
    assert result.exit_code == 0 and not result.timed_out
    out = (tmp_path / "stdout.log").read_text()
    assert out.startswith(f"tool hi {project.images / 'img'}")


def test_exit_code_and_missing_command(tmp_path: Path, project: ProjectPaths) -> None:
    runtime = LocalRuntime(project)
    assert runtime.run(_request(tmp_path, ["sh", "-c", "exit 3"]), threading.Event()).exit_code == 3
    missing = runtime.run(_request(tmp_path, ["no-such-tool-x"]), threading.Event())
    assert missing.exit_code == 127 and "cannot execute no-such-tool-x" in (tmp_path / "stderr.log").read_text()


def test_timeout_kills_the_whole_process_group(tmp_path: Path, project: ProjectPaths) -> None:
    script = "sleep 300 & echo $! > child.pid; sleep 300"
    start = time.monotonic()
    result = LocalRuntime(project).run(_request(tmp_path, ["sh", "-c", script], timeout=0.5), threading.Event())
    assert result.timed_out and result.exit_code is None and time.monotonic() - start < 5
    child = int((tmp_path / "out" / "child.pid").read_text())
    assert not _alive(child)


def test_cancel_kills_promptly(tmp_path: Path, project: ProjectPaths) -> None:
    cancel = threading.Event()
    threading.Timer(0.3, cancel.set).start()
    start = time.monotonic()
    result = LocalRuntime(project).run(_request(tmp_path, ["sleep", "300"]), cancel)
    assert result.cancelled and not result.timed_out and time.monotonic() - start < 5


def test_identity_is_local_and_follows_the_image_folder(project: ProjectPaths) -> None:
    ref = ImageRef(name="img", tag="local")
    first = LocalRuntime(project).image_identity(ref)
    assert first.startswith("local:img:")
    (project.images / "img" / "bin" / "img-tool").write_text("#!/bin/sh\necho changed\n")
    assert LocalRuntime(project).image_identity(ref) != first


def test_background_processes_do_not_outlive_the_job(tmp_path: Path, project: ProjectPaths) -> None:
    script = "sleep 300 & echo $! > child.pid; exit 0"
    result = LocalRuntime(project).run(_request(tmp_path, ["sh", "-c", script]), threading.Event())
    assert result.exit_code == 0
    child = int((tmp_path / "out" / "child.pid").read_text())
    deadline = time.monotonic() + 2
    while _alive(child) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _alive(child)
