"""Mounts of job containers: checks, and the shared set that lets warm containers serve
many jobs."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path

from orchestrator.components.base import Stage
from orchestrator.errors import JobError
from orchestrator.paths import home_paths, project_paths
from orchestrator.runtime.base import Mount


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


def stage_mount_sets(jobs: Path, readable: Sequence[Path],
                     caches: Mapping[Stage, Sequence[Path]] | None = None) -> list[tuple[Mount, ...]]:
    """One shared mount set per job stage, so warm containers serve many jobs of that stage.

    A stage's containers see the `readable` folders (target software, models) and the
    published outputs of the stages before it read-only, and only their own stage's staging
    folder read-write: a RUN container cannot touch BUILD's staging or read RUN's other jobs.
    A stage's `caches` (e.g. COMPILE's compiler cache) are read-write in its set too.
    """
    sets: list[tuple[Mount, ...]] = []
    plain = [Mount(path=plain_path(p.resolve()), read_only=True) for p in readable if p.is_dir()]
    stages = Stage.jobs()
    for index, stage in enumerate(stages):
        staging = jobs / stage.value / ".staging"
        staging.mkdir(parents=True, exist_ok=True)
        earlier = [Mount(path=plain_path(jobs / s.value), read_only=True) for s in stages[:index]]
        for mount in earlier:
            mount.path.mkdir(parents=True, exist_ok=True)
        own = [Mount(path=plain_path(staging), read_only=False)]
        for cache in (caches or {}).get(stage, ()):
            cache.mkdir(parents=True, exist_ok=True)
            own.append(Mount(path=plain_path(cache), read_only=False))
        sets.append((*plain, *earlier, *own))
    return sets


def shared_set_for(request_mounts: Sequence[Mount], sets: Sequence[Sequence[Mount]]) -> tuple[Mount, ...] | None:
    """The first shared set that holds every mount of a request, or None (own container)."""
    return next((tuple(s) for s in sets if covered(request_mounts, s)), None)


def default_mount_sets() -> list[tuple[Mount, ...]]:
    """The shared sets of the state home's job store with the project's target software and models."""
    project = project_paths()
    home = home_paths()
    return stage_mount_sets(home.jobs, [project.sw, project.models], {Stage.COMPILE: [home.compile_cache]})
