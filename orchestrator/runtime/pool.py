"""Warm job containers: created on demand, leased to one job at a time, reused while the
session lasts, removed on close (see docker.py for why reuse is worth it).

A container's mounts, network and limits are fixed when it is created, so the pool key
holds all of them: a job only ever runs in a container made for exactly its settings (its
own mounts, or the runtime's shared set when every one of its mounts lies inside it).
"""

from __future__ import annotations

import os
import threading
import time
import weakref
from collections import OrderedDict
from collections.abc import Sequence
from typing import Any

import docker
import docker.errors
import docker.types
import requests.exceptions
from pydantic import BaseModel, ConfigDict

from orchestrator.errors import ImageMissingError, JobError
from orchestrator.runtime.base import ExecRequest, ImageRef, Limits, Mount
from orchestrator.runtime.mounts import shared_set_for
from orchestrator.runtime.owners import (
    LABEL_ENV,
    LABEL_IMAGE,
    LABEL_OWNER,
    LABEL_SESSION,
    force_remove,
    labelled_containers,
)

POLL_SEC = 0.05
STATE_SETTLE_SEC = 0.5
REMOVAL_WAIT_SEC = 30.0
MAX_IDLE = 6
"""Warm containers kept in all; beyond that the least recently used one is removed."""
DEFAULT_LIMITS = Limits(memory_bytes=8 << 30, cpus=float(os.cpu_count() or 1), pids=4096)
"""What a job gets when its request names no limit: enough for the largest toolchain step
(compiling TVM kernels, ETISS's JIT), never the whole machine's memory or an unbounded fork."""


class PoolKey(BaseModel):
    model_config = ConfigDict(frozen=True)

    tag: str
    network: bool
    limits: Limits
    mounts: tuple[tuple[str, bool], ...]
    labels: tuple[tuple[str, str], ...]


class Lease:
    """A container leased to one job, and whether it may be handed to the next one."""

    def __init__(self, container: Any, key: PoolKey) -> None:
        self.container = container
        self.key = key
        self.healthy = True
        self.reused = False

    def running(self) -> bool:
        """Whether the container still runs (a failed exec may mean it was killed).

        The engine updates the state a moment after an exec's stream ends, so a container
        that looks alive is asked again for up to STATE_SETTLE_SEC."""
        deadline = time.monotonic() + STATE_SETTLE_SEC
        while True:
            try:
                self.container.reload()
            except docker.errors.NotFound:
                return False
            if not self.container.attrs.get("State", {}).get("Running"):
                return False
            if time.monotonic() >= deadline:
                return True
            time.sleep(POLL_SEC)

    def death(self, exit_code: int | None) -> str:
        """What killed the container, in words (after `running()` said False)."""
        state = self.container.attrs.get("State", {}) if self.container.attrs else {}
        cause = "by the OOM killer (raise the job's memory limit)" if state.get("OOMKilled") else \
            "from outside (docker kill/stop, or the engine)"
        return f"container {self.container.short_id} was killed {cause}; the job's exit code was {exit_code}"


def remove_container(container: Any) -> None:
    """Force-remove; a container already gone (or going) is fine."""
    try:
        container.remove(force=True)
    except (docker.errors.NotFound, requests.exceptions.RequestException):
        pass
    except docker.errors.APIError as exc:
        if "already in progress" not in str(exc):
            raise


def _remove_all(client: docker.DockerClient, session_id: str, owner: str) -> None:
    """Last-resort cleanup (garbage-collected pool, interpreter exit)."""
    try:
        for container in labelled_containers(client, [f"{LABEL_SESSION}={session_id}", f"{LABEL_OWNER}={owner}"]):
            force_remove(client, container.id)
    except (docker.errors.DockerException, requests.exceptions.RequestException):
        pass


class ContainerPool:
    """The containers of one runtime. Thread-safe."""

    def __init__(self, client: docker.DockerClient, *, session_id: str, env_name: str, owner: str,
                 user: tuple[int, int] | None, reuse: bool, shared_sets: Sequence[Sequence[Mount]],
                 max_idle: int = MAX_IDLE) -> None:
        self.client = client
        self.session_id = session_id
        self.env_name = env_name
        self.owner = owner
        self.user = user
        self.reuse = reuse
        self.shared_sets = tuple(tuple(s) for s in shared_sets)
        self.max_idle = max_idle
        self._lock = threading.Lock()
        self._idle: OrderedDict[Lease, None] = OrderedDict()
        """Warm containers waiting for a job, least recently used first."""
        self._busy: set[Lease] = set()
        self.closed = False
        self.lost = False
        """Set when the engine stopped answering: `close` then removes nothing and waits for nothing."""
        self._finalizer = weakref.finalize(self, _remove_all, client, session_id, owner)

    def key(self, request: ExecRequest) -> PoolKey:
        shared = shared_set_for(request.mounts, self.shared_sets) if self.reuse else None
        mounts: Sequence[Mount] = shared if shared is not None else request.mounts
        # A reused container serves many jobs, so per-job labels (stage, key) cannot describe
        # it: only containers made for a single job carry the request's labels.
        labels = () if self.reuse else tuple(sorted(request.labels.items()))
        return PoolKey(tag=request.image.tag, network=request.network, limits=request.limits,
                       mounts=tuple(sorted((str(m.path), m.read_only) for m in mounts)), labels=labels)

    def acquire(self, request: ExecRequest, fresh: bool = False) -> Lease:
        """A warm container for the request's settings, or a new one (`fresh`: always new)."""
        key = self.key(request)
        with self._lock:
            if self.closed:
                raise JobError("the Docker runtime is closed")
            match = None if fresh else next((c for c in reversed(self._idle) if c.key == key), None)
            if match is not None:
                del self._idle[match]
                match.reused = True
                self._busy.add(match)
                return match
        lease = Lease(self._create(key, request.image), key)
        with self._lock:
            self._busy.add(lease)
            closed = self.closed
        if closed:
            self.release(lease)
            raise JobError("the Docker runtime is closed")
        return lease

    def release(self, lease: Lease) -> None:
        """Back to the idle set when healthy (evicting the oldest beyond `max_idle`), else removed."""
        evicted: list[Lease] = [lease]
        with self._lock:
            self._busy.discard(lease)
            if self.reuse and lease.healthy and not self.closed:
                self._idle[lease] = None
                evicted = []
                while len(self._idle) > self.max_idle:
                    oldest, _ = self._idle.popitem(last=False)
                    evicted.append(oldest)
        for old in evicted:
            remove_container(old.container)

    def close(self) -> None:
        """Remove every container (running jobs die with them); idempotent. Returns only when
        the engine lists none of them any more: a removal another thread started ("already in
        progress") may still run, and a process that exits before it ends would leave a
        container visible behind it."""
        with self._lock:
            self.closed = True
            leases = list(self._idle) + list(self._busy)
            self._idle.clear()
        if self.lost:  # every call would fail; the next session's gc removes what is left
            self._finalizer.detach()
            return
        for lease in leases:
            remove_container(lease.container)
        self._finalizer()
        labels = [f"{LABEL_SESSION}={self.session_id}", f"{LABEL_OWNER}={self.owner}"]
        deadline = time.monotonic() + REMOVAL_WAIT_SEC
        while time.monotonic() < deadline:
            try:
                left = labelled_containers(self.client, labels)
                if not left:
                    return
                for container in left:
                    force_remove(self.client, container.id)
            except (docker.errors.DockerException, requests.exceptions.RequestException):
                pass  # the engine is restarting or gone: ask again until the deadline
            time.sleep(POLL_SEC)

    def _create(self, key: PoolKey, image: ImageRef) -> Any:
        labels = {**dict(key.labels), LABEL_SESSION: self.session_id, LABEL_ENV: self.env_name,
                  LABEL_IMAGE: image.name, LABEL_OWNER: self.owner}
        limits = key.limits
        memory = limits.memory_bytes or DEFAULT_LIMITS.memory_bytes
        options: dict[str, Any] = {
            "mem_limit": memory, "memswap_limit": memory,
            "nano_cpus": int((limits.cpus or DEFAULT_LIMITS.cpus or 1.0) * 1e9),
            "pids_limit": limits.pids or DEFAULT_LIMITS.pids,
            # jobs are compilers and simulators: they need no capability and never gain one
            "cap_drop": ["ALL"], "security_opt": ["no-new-privileges"],
        }
        if self.user is not None:
            options["user"] = f"{self.user[0]}:{self.user[1]}"
        mounts = [docker.types.Mount(target=path, source=path, type="bind", read_only=ro)
                  for path, ro in key.mounts]
        try:
            container = self.client.containers.create(
                key.tag, command=["sleep", "infinity"], detach=True, init=True,
                labels=labels, mounts=mounts, network_mode="bridge" if key.network else "none",
                read_only=True, tmpfs={"/tmp": "rw,exec,nosuid,nodev,mode=1777"},
                stdin_open=False, tty=False, **options,
            )
        except docker.errors.ImageNotFound:
            # prepare() saw every image of the session: this one went away since
            raise ImageMissingError(key.tag) from None
        try:
            container.start()
        except docker.errors.APIError:
            remove_container(container)
            raise
        return container
