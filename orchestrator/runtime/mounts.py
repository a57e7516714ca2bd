"""Mounts of job containers: checks, and the shared set that lets warm containers serve
many jobs."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from orchestrator.components.base import Stage
from orchestrator.errors import JobError
from orchestrator.paths import home_paths, project_paths
from orchestrator.runtime.base import Mount
from orchestrator.store import JobStore


def plain_path(path: Path) -> Path:
    """Absolute and normalised but with symlinks kept: a job names the paths it was given,
    and the container must show them at exactly those paths."""
    return Path(os.path.abspath(path))


def covered(request_mounts: Sequence[Mount], shared: Sequence[Mount]) -> bool:
    """Every request mount lies inside a shared mount of exactly the same mode."""
    for mount in request_mounts:
        path = plain_path(mount.path)
        holders = [s for s in shared if path == s.path or s.path in path.parents]
        if not holders:
            return False
        deepest = max(holders, key=lambda s: len(s.path.parts))
        if mount.read_only and not deepest.read_only:
            return False
        if not mount.read_only and deepest.read_only:
            return False
    return True


def check_mounts(mounts: Sequence[Mount]) -> None:
    for mount in mounts:
        if not mount.path.is_absolute():
            raise JobError(f"mount {mount.path} is not an absolute path")
        if not mount.path.exists():
            raise JobError(f"mount {mount.path} does not exist")
        if mount.path.is_socket() or mount.path.name == "docker.sock":
            raise JobError(f"refusing to mount the socket {mount.path} into a job container")


def default_shared_mounts() -> list[Mount]:
    """What a session's jobs read and write, known before any job runs.

    The project checkout (sw/, models/) and the job store are mounted read-only, each stage's
    staging folder read-write; jobs whose mounts all fall inside these share warm containers.
    """
    store = JobStore(home_paths().jobs)
    mounts = [Mount(path=project_paths().root), Mount(path=store.root)]
    for stage in Stage.jobs():
        staging = store.staging_path(stage, "_").parent
        staging.mkdir(parents=True, exist_ok=True)
        mounts.append(Mount(path=staging, read_only=False))
    return mounts
