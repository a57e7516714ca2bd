"""Who owns a container, and removing those whose owner is gone (`mcuorch gc`).

Every container carries the session, environment, image and owner (`host:pid:start ticks`)
as labels. A container whose owner process no longer exists on this host is garbage: a
crashed or SIGKILLed session leaves such containers, and the next session (or `mcuorch gc`)
removes them. Owners on other hosts (a shared engine) are left alone.
"""

from __future__ import annotations

import os
import socket
from pathlib import Path

import docker
import docker.errors
from pydantic import BaseModel

from orchestrator.processes import pid_alive

LABEL_SESSION = "mcuorch.session"
LABEL_ENV = "mcuorch.env"
LABEL_IMAGE = "mcuorch.image"
LABEL_OWNER = "mcuorch.owner"


class ContainerSummary(BaseModel):
    """One row of the engine's container list: what gc and cleanup need, without an inspect."""

    id: str
    labels: dict[str, str]

    @property
    def short_id(self) -> str:
        return self.id[:12]


def labelled_containers(client: docker.DockerClient, labels: list[str]) -> list[ContainerSummary]:
    """Containers (running or not) carrying every one of `labels` (`key` or `key=value`).

    One list call and no inspect per container: the SDK's `containers.list` inspects each
    row, and a container removed between the two calls makes it raise NotFound, which turned
    "wait until every container is gone" into "give up early"."""
    rows = client.api.containers(all=True, filters={"label": labels})
    return [ContainerSummary(id=row["Id"], labels=row.get("Labels") or {}) for row in rows]


def force_remove(client: docker.DockerClient, container_id: str) -> None:
    """Force-remove by id; a container already gone, or being removed, is fine."""
    try:
        client.api.remove_container(container_id, force=True)
    except docker.errors.NotFound:
        pass
    except docker.errors.APIError as exc:
        if "already in progress" not in str(exc):
            raise


def _start_ticks(pid: int) -> str | None:
    """The process's start time (clock ticks since boot) so a reused PID is not mistaken."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat.rsplit(")", 1)[1].split()[19]


def owner_label(pid: int | None = None) -> str:
    """`host:pid:start` of the process that owns a container."""
    pid = os.getpid() if pid is None else pid
    return f"{socket.gethostname()}:{pid}:{_start_ticks(pid) or '-'}"


def owner_alive(label: str | None) -> bool | None:
    """True/False for owners on this host; None when the owner is elsewhere or unknown."""
    if not label or label.count(":") < 2:
        return None
    host, pid_text, start = label.rsplit(":", 2)
    if host != socket.gethostname() or not pid_text.isdigit():
        return None
    pid = int(pid_text)
    if Path("/proc").is_dir():
        ticks = _start_ticks(pid)
        return ticks is not None and (start == "-" or ticks == start)
    return pid_alive(pid)


class GarbageReport(BaseModel):
    removed: list[str]
    kept: list[str]
    """Containers left alone: their owner is alive or on another host."""


def collect_garbage(client: docker.DockerClient, *, everything: bool = False,
                    dry_run: bool = False) -> GarbageReport:
    """Remove mcuorch containers whose owning process is gone (all of them with `everything`)."""
    removed, kept = [], []
    for container in labelled_containers(client, [LABEL_SESSION]):
        labels = container.labels
        alive = owner_alive(labels.get(LABEL_OWNER))
        describe = f"{container.short_id} ({labels.get(LABEL_IMAGE, '?')}, session {labels.get(LABEL_SESSION)})"
        if alive is False or everything:
            if not dry_run:
                force_remove(client, container.id)
            removed.append(describe)
        else:
            kept.append(describe)
    return GarbageReport(removed=removed, kept=kept)
