"""`mcuorch gc`: containers of dead sessions go, those of live sessions stay."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import docker
import pytest
import typer
from docker_fixtures import leftover_containers
from typer.testing import CliRunner

from orchestrator.cli.gc import gc
from orchestrator.images.tags import ImageSet
from orchestrator.runtime.owners import LABEL_OWNER, LABEL_SESSION, collect_garbage, owner_alive, owner_label

pytestmark = pytest.mark.docker
PROJECT = Path(__file__).resolve().parents[2]


def _dead_pid() -> int:
    proc = subprocess.Popen(["true"])
    proc.wait()
    return proc.pid


def _labelled(client: docker.DockerClient, images: ImageSet, session_id: str, owner: str) -> str:
    container = client.containers.create(images.get("base").tag, ["sleep", "infinity"], init=True,
                                         network_mode="none",
                                         labels={LABEL_SESSION: session_id, LABEL_OWNER: owner})
    container.start()
    return str(container.short_id)


def test_owner_labels() -> None:
    assert owner_alive(owner_label()) is True
    assert owner_alive(owner_label(_dead_pid())) is False
    assert owner_alive("some-other-host:1:1") is None
    assert owner_alive(None) is None


def test_gc_removes_only_dead_owners(docker_client: docker.DockerClient, base_image: ImageSet,
                                     test_session_id: str) -> None:
    dead = _labelled(docker_client, base_image, test_session_id, owner_label(_dead_pid()))
    live = _labelled(docker_client, base_image, test_session_id, owner_label())
    remote = _labelled(docker_client, base_image, test_session_id, "elsewhere:123:456")
    report = collect_garbage(docker_client)
    left = leftover_containers(docker_client, test_session_id)
    assert dead not in left and live in left and remote in left
    assert any(dead in line for line in report.removed)
    collect_garbage(docker_client, everything=True)
    assert leftover_containers(docker_client, test_session_id) == []


def test_gc_command_dry_run_then_remove(docker_client: docker.DockerClient, base_image: ImageSet,
                                        test_session_id: str) -> None:
    app = typer.Typer()
    app.command()(gc)
    dead = _labelled(docker_client, base_image, test_session_id, owner_label(_dead_pid()))
    dry = CliRunner().invoke(app, ["--dry-run"])
    assert dry.exit_code == 0 and f"would remove {dead}" in dry.output
    assert dead in leftover_containers(docker_client, test_session_id)
    done = CliRunner().invoke(app, [])
    assert done.exit_code == 0 and f"removed {dead}" in done.output
    assert leftover_containers(docker_client, test_session_id) == []


def test_killed_session_is_collected(docker_client: docker.DockerClient, base_image: ImageSet,
                                     test_session_id: str, tmp_path: Path) -> None:
    """SIGKILL leaves no chance to clean up: the labels let gc find what was left."""
    out = tmp_path / "out"
    out.mkdir()
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(PROJECT), os.environ.get("PYTHONPATH", "")])}
    proc = subprocess.Popen([sys.executable, str(Path(__file__).with_name("session_driver.py")),
                             test_session_id, str(out), "reuse"], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while not leftover_containers(docker_client, test_session_id) and time.monotonic() < deadline:
        time.sleep(0.1)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=10)
    assert leftover_containers(docker_client, test_session_id) != []
    collect_garbage(docker_client)
    assert leftover_containers(docker_client, test_session_id) == []
