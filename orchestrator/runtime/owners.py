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
    for container in client.containers.list(all=True, filters={"label": LABEL_SESSION}):
        labels = container.labels or {}
        alive = owner_alive(labels.get(LABEL_OWNER))
        describe = f"{container.short_id} ({labels.get(LABEL_IMAGE, '?')}, session {labels.get(LABEL_SESSION)})"
        if alive is False or everything:
            if not dry_run:
                try:
                    container.remove(force=True)
                except docker.errors.NotFound:
                    pass
            removed.append(describe)
        else:
            kept.append(describe)
    return GarbageReport(removed=removed, kept=kept)
