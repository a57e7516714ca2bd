"""The Docker runtime: every stage job inside its toolchain's image, as the invoking user.

Jobs run through `docker exec` in warm containers, one container per concurrently running
job of an (image, mounts, network, limits) combination, kept for reuse while the session
lasts (at most `max_idle` idle ones). A container per job costs ~0.5 s here, an exec into a
warm one ~0.09 s (benchmarks/containers.py), and a session runs hundreds of short jobs.
Correctness does not depend on the reuse:

- A container is leased to one job at a time, so its memory/CPU/pids limits are the job's.
- Its mounts are fixed at creation: requests whose mounts all lie inside the runtime's
  `shared_mounts` (by default the project checkout and the job store read-only, each
  stage's staging folder read-write) share containers; any other request gets a container
  with exactly its own mounts. A read-only request mount is never served by a read-write
  container mount, nor a read-write one by a read-only mount.
- The root filesystem is read-only; /tmp is a fresh tmpfs per container; every job gets its
  own HOME and TMPDIR below /tmp, removed when it ends.
- Every job process carries a marker variable; a timeout or cancel kills every process with
  that marker (from a second exec, as the job's uid, inside the container) and the container
  stays usable. If that fails the container is removed.
- Containers are labelled (session, environment, image, owner pid/host) and removed on
  `close()`; `collect_garbage()` (`mcuorch gc`) removes those whose owner process is gone.
"""

from __future__ import annotations

import os
import signal
import socket
import threading
import time
import uuid
import weakref
from collections import OrderedDict
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from types import FrameType
from typing import Any, BinaryIO

import docker
import docker.errors
import docker.types
import requests.exceptions
from pydantic import BaseModel, ConfigDict

from orchestrator.components.base import Stage
from orchestrator.environment import Environment
from orchestrator.errors import JobError, McuorchError
from orchestrator.images.build import ImageBuilder
from orchestrator.images.engine import connect, image_exists
from orchestrator.images.progress import BuildProgress, make_progress
from orchestrator.images.tags import ImageSet, resolve_images
from orchestrator.paths import home_paths, project_paths
from orchestrator.processes import pid_alive
from orchestrator.runtime.base import ExecRequest, ExecResult, ImageRef, Limits, Mount
from orchestrator.store import JobStore

LABEL_SESSION = "mcuorch.session"
LABEL_ENV = "mcuorch.env"
LABEL_IMAGE = "mcuorch.image"
LABEL_OWNER = "mcuorch.owner"
JOB_MARKER = "MCUORCH_JOB"
POLL_SEC = 0.05
KILL_GRACE_SEC = 10.0
STATE_SETTLE_SEC = 0.5
REMOVAL_WAIT_SEC = 30.0
NOT_STARTED_CODES = frozenset({125, 126, 127})
"""Exit codes of an exec whose command never started (the engine's or the wrapper's)."""
MAX_IDLE = 6
"""Warm containers kept in all; beyond that the least recently used one is removed."""
DEFAULT_LIMITS = Limits(memory_bytes=8 << 30, cpus=float(os.cpu_count() or 1), pids=4096)
"""What a job gets when its request names no limit: enough for the largest toolchain step
(compiling TVM kernels, ETISS's JIT), never the whole machine's memory or an unbounded fork."""

_WRAPPER = r"""
d=/tmp/mcuorch-job-$MCUORCH_JOB
mkdir -p "$d/home" "$d/tmp" || exit 125
setsid "$@" </dev/null &
pid=$!
wait "$pid"
rc=$?
kill -KILL -- "-$pid" 2>/dev/null
rm -rf "$d"
exit "$rc"
"""
"""Runs argv in its own session; afterwards kills what it left behind and drops its scratch."""

_KILLER = r"""
i=0
while [ "$i" -lt 20 ]; do
  found=
  for p in /proc/[0-9]*; do
    if grep -qsxz "MCUORCH_JOB=$1" "$p/environ"; then kill -KILL "${p#/proc/}" 2>/dev/null; found=1; fi
  done
  [ -n "$found" ] || break
  i=$((i+1))
done
rm -rf "/tmp/mcuorch-job-$1"
"""
"""Kills every process carrying the job's marker, whatever session or group it moved to.

Runs as the job's own uid: reading another uid's /proc/PID/environ needs CAP_SYS_PTRACE,
which containers do not have, even as root."""


# -- owners and garbage collection -------------------------------------------------------------

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


@contextmanager
def _interruptible() -> Iterator[None]:
    """Ctrl+C / SIGTERM abort an image build inside `prepare` (as KeyboardInterrupt).

    A session's handlers only set its cancel event, which a build cannot see (the protocol's
    `prepare` takes none), so without this a Ctrl+C would wait for minutes of building.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def interrupt(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    previous = {signum: signal.signal(signum, interrupt) for signum in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


# -- containers --------------------------------------------------------------------------------

class _PoolKey(BaseModel):
    model_config = ConfigDict(frozen=True)

    tag: str
    network: bool
    limits: Limits
    mounts: tuple[tuple[str, bool], ...]
    labels: tuple[tuple[str, str], ...]


class _Leased:
    """A container and whether it may be handed to the next job."""

    def __init__(self, container: Any, key: _PoolKey) -> None:
        self.container = container
        self.key = key
        self.healthy = True
        self.reused = False


def _maybe_killed(result: ExecResult) -> bool:
    """Exit codes a dead container leaves (signals, or an exec that could not start); a
    program's own error codes (1, 2, 0x10-0x12 ...) say nothing about its container."""
    return result.exit_code is not None and result.exit_code >= 125


def _plain(path: Path) -> Path:
    """Absolute and normalised but with symlinks kept: a job names the paths it was given,
    and the container must show them at exactly those paths."""
    return Path(os.path.abspath(path))


def _covered(request_mounts: Sequence[Mount], shared: Sequence[Mount]) -> bool:
    """Every request mount lies inside a shared mount of exactly the same mode."""
    for mount in request_mounts:
        path = _plain(mount.path)
        holders = [s for s in shared if path == s.path or s.path in path.parents]
        if not holders:
            return False
        deepest = max(holders, key=lambda s: len(s.path.parts))
        if mount.read_only and not deepest.read_only:
            return False
        if not mount.read_only and deepest.read_only:
            return False
    return True


def _check_mounts(mounts: Sequence[Mount]) -> None:
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


class DockerRuntime:
    """Runs stage jobs in containers of the environment's images. Thread-safe.

    `echo(stream, data)` receives every output chunk as it arrives (stream is "stdout" or
    "stderr"); `verbose` is accepted for the runtime factory's signature.
    """

    name = "docker"

    def __init__(
        self,
        env: Environment,
        session_id: str | None = None,
        *,
        verbose: bool = False,
        client: docker.DockerClient | None = None,
        reuse: bool = True,
        shared_mounts: Sequence[Mount] | None = None,
        user: tuple[int, int] | None = None,
        namespace: str | None = None,
        build_missing: bool = True,
        progress: BuildProgress | None = None,
        echo: Callable[[str, bytes], None] | None = None,
        max_idle: int = MAX_IDLE,
    ) -> None:
        self.env = env
        self.session_id = session_id or uuid.uuid4().hex[:12]
        self.client = client or connect()
        self.reuse = reuse
        if shared_mounts is None:
            shared_mounts = default_shared_mounts() if reuse else []
        self.shared_mounts = tuple(Mount(path=_plain(m.path), read_only=m.read_only)
                                   for m in shared_mounts)
        if user is None and hasattr(os, "getuid"):
            user = (os.getuid(), os.getgid())
        self.user = user
        self.namespace = namespace
        self.build_missing = build_missing
        self.max_idle = max_idle
        self._progress = progress
        # `verbose` sessions follow the log files themselves (they are flushed per chunk), so
        # echoing here too would print everything twice; `echo` is for callers that do not.
        self._echo = echo
        self._owner = owner_label()
        self._lock = threading.Lock()
        self._idle: OrderedDict[_Leased, None] = OrderedDict()
        """Warm containers waiting for a job, least recently used first."""
        self._busy: set[_Leased] = set()
        self._closed = False
        self._images: ImageSet | None = None
        self._finalizer = weakref.finalize(self, DockerRuntime._remove_all, self.client,
                                           self.session_id, self._owner)

    # -- protocol -----------------------------------------------------------------------------

    def image_set(self) -> ImageSet:
        """The environment's images resolved against this engine (cached)."""
        with self._lock:
            if self._images is None:
                self._images = resolve_images(self.env, client=self.client, namespace=self.namespace)
            return self._images

    def prepare(self, images: list[ImageRef]) -> None:
        """Build missing images (parents first) or fail with one line; reap dead sessions."""
        collect_garbage(self.client)
        resolved = self.image_set()
        for image in images:
            expected = resolved.get(image.name).tag
            if image.tag != expected:
                raise McuorchError(f"image {image.name}: asked for {image.tag} but environment "
                                   f"{self.env.name!r} gives {expected} on this engine")
        missing = [i.name for i in images if not image_exists(self.client, i.tag)]
        if not missing:
            return
        if not self.build_missing:
            raise McuorchError(f"image(s) {', '.join(missing)} not built; run "
                               f"`mcuorch images build --env {self.env.name}`")
        progress = self._progress or make_progress()
        try:
            with _interruptible():
                ImageBuilder(self.client, progress=progress, namespace=self.namespace).build(self.env, missing)
        finally:
            if self._progress is None:
                progress.close()
        with self._lock:
            self._images = None
        for image in images:
            if not image_exists(self.client, image.tag):
                raise McuorchError(f"image {image.name}: {image.tag} still missing after the build "
                                   "(the root image changed?); run `mcuorch images build`")

    def image_identity(self, image: ImageRef) -> str:
        """The content tag: it already names every input of the image."""
        return image.tag

    def image_id(self, image: ImageRef) -> str:
        """The engine's image ID behind a tag (for reports: which bytes actually ran)."""
        try:
            return str(self.client.images.get(image.tag).id)
        except docker.errors.ImageNotFound:
            raise McuorchError(f"image {image.tag} is not built; run `mcuorch images build`") from None

    def run(self, request: ExecRequest, cancel: threading.Event) -> ExecResult:
        """Execute argv in a leased container until exit, timeout or cancel."""
        start = time.monotonic()
        _check_mounts(request.mounts)
        if cancel.is_set():
            return ExecResult(exit_code=None, cancelled=True, duration_sec=0.0)
        lease = self._acquire(request)
        try:
            try:
                exec_id, job = self._create_exec(lease, request)
            except docker.errors.APIError:
                if not lease.reused:
                    raise
                # a warm container that died meanwhile (OOM, removed by hand): use a fresh one
                lease.healthy = False
                self._release(lease)
                lease = self._acquire(request, fresh=True)
                exec_id, job = self._create_exec(lease, request)
            result = self._execute(lease, exec_id, job, request, cancel, start)
            if not _maybe_killed(result) or self._running(lease):
                return result
            lease.healthy = False
            if result.exit_code in NOT_STARTED_CODES and lease.reused and not cancel.is_set():
                # the warm container died before this job's command started: a fresh one runs it
                self._release(lease)
                lease = self._acquire(request, fresh=True)
                exec_id, job = self._create_exec(lease, request)
                result = self._execute(lease, exec_id, job, request, cancel, start)
                if not _maybe_killed(result) or self._running(lease):
                    return result
                lease.healthy = False
            return result.model_copy(update={"killed": self._death(lease, result.exit_code)})
        except (docker.errors.APIError, requests.exceptions.RequestException) as exc:
            lease.healthy = False
            if cancel.is_set() or self._closed:
                return ExecResult(exit_code=None, cancelled=True,
                                  duration_sec=time.monotonic() - start)
            raise JobError(f"docker exec in {request.image.tag} failed: {exc}") from None
        finally:
            self._release(lease)

    def _running(self, lease: _Leased) -> bool:
        """Whether the job's container still runs (a failed exec may mean it was killed).

        The engine updates the state a moment after the exec's stream ends, so a container
        that looks alive is asked again for up to STATE_SETTLE_SEC."""
        deadline = time.monotonic() + STATE_SETTLE_SEC
        while True:
            try:
                lease.container.reload()
            except docker.errors.NotFound:
                return False
            if not lease.container.attrs.get("State", {}).get("Running"):
                return False
            if time.monotonic() >= deadline:
                return True
            time.sleep(POLL_SEC)

    @staticmethod
    def _death(lease: _Leased, exit_code: int | None) -> str:
        state = lease.container.attrs.get("State", {}) if lease.container.attrs else {}
        cause = "by the OOM killer (raise the job's memory limit)" if state.get("OOMKilled") else \
            "from outside (docker kill/stop, or the engine)"
        return f"container {lease.container.short_id} was killed {cause}; the job's exit code was {exit_code}"

    def close(self) -> None:
        """Remove every container of this runtime (running jobs are killed); idempotent."""
        with self._lock:
            self._closed = True
            leases = list(self._idle) + list(self._busy)
            self._idle.clear()
        for lease in leases:
            self._remove(lease.container)
        self._finalizer()
        self._wait_removed()

    def _wait_removed(self) -> None:
        """Return only when the engine lists none of this runtime's containers any more: a
        removal another thread started ("already in progress") may still be running, and a
        process that exits before it ends would leave a container visible behind it."""
        filters = {"label": [f"{LABEL_SESSION}={self.session_id}", f"{LABEL_OWNER}={self._owner}"]}
        deadline = time.monotonic() + REMOVAL_WAIT_SEC
        while time.monotonic() < deadline:
            try:
                left = self.client.containers.list(all=True, filters=filters)
            except (docker.errors.DockerException, requests.exceptions.RequestException):
                return
            if not left:
                return
            for container in left:
                self._remove(container)
            time.sleep(POLL_SEC)

    # -- containers ---------------------------------------------------------------------------

    def _key(self, request: ExecRequest) -> _PoolKey:
        mounts: Sequence[Mount]
        if self.reuse and self.shared_mounts and _covered(request.mounts, self.shared_mounts):
            mounts = self.shared_mounts
        else:
            mounts = request.mounts
        # A reused container serves many jobs, so per-job labels (stage, key) cannot describe
        # it: only containers made for a single job carry the request's labels.
        labels = () if self.reuse else tuple(sorted(request.labels.items()))
        return _PoolKey(tag=request.image.tag, network=request.network, limits=request.limits,
                        mounts=tuple(sorted((str(m.path), m.read_only) for m in mounts)),
                        labels=labels)

    def _acquire(self, request: ExecRequest, fresh: bool = False) -> _Leased:
        key = self._key(request)
        with self._lock:
            if self._closed:
                raise JobError("the Docker runtime is closed")
            match = None if fresh else next((c for c in reversed(self._idle) if c.key == key), None)
            if match is not None:
                del self._idle[match]
                match.reused = True
                self._busy.add(match)
                return match
        lease = _Leased(self._create(key, request.image), key)
        with self._lock:
            self._busy.add(lease)
            closed = self._closed
        if closed:
            self._release(lease)
            raise JobError("the Docker runtime is closed")
        return lease

    def _release(self, lease: _Leased) -> None:
        evicted: list[_Leased] = [lease]
        with self._lock:
            self._busy.discard(lease)
            if self.reuse and lease.healthy and not self._closed:
                self._idle[lease] = None
                evicted = []
                while len(self._idle) > self.max_idle:
                    oldest, _ = self._idle.popitem(last=False)
                    evicted.append(oldest)
        for old in evicted:
            self._remove(old.container)

    def _create(self, key: _PoolKey, image: ImageRef) -> Any:
        labels = {**dict(key.labels), LABEL_SESSION: self.session_id, LABEL_ENV: self.env.name,
                  LABEL_IMAGE: image.name, LABEL_OWNER: self._owner}
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
            raise JobError(f"image {key.tag} is not built; run `mcuorch images build`") from None
        try:
            container.start()
        except docker.errors.APIError:
            self._remove(container)
            raise
        return container

    def _remove(self, container: Any) -> None:
        try:
            container.remove(force=True)
        except (docker.errors.NotFound, requests.exceptions.RequestException):
            pass
        except docker.errors.APIError as exc:
            if "already in progress" not in str(exc):
                raise

    @staticmethod
    def _remove_all(client: docker.DockerClient, session_id: str, owner: str) -> None:
        """Last-resort cleanup (garbage-collected runtime, interpreter exit)."""
        try:
            for container in client.containers.list(
                    all=True, filters={"label": [f"{LABEL_SESSION}={session_id}",
                                                 f"{LABEL_OWNER}={owner}"]}):
                container.remove(force=True)
        except (docker.errors.DockerException, requests.exceptions.RequestException):
            pass

    # -- one job ------------------------------------------------------------------------------

    def _create_exec(self, lease: _Leased, request: ExecRequest) -> tuple[str, str]:
        """The exec that will run the job (not started yet) and the job's marker."""
        job = uuid.uuid4().hex[:16]
        scratch = f"/tmp/mcuorch-job-{job}"
        environment = {"HOME": f"{scratch}/home", "TMPDIR": f"{scratch}/tmp", "USER": "mcuorch",
                       "LOGNAME": "mcuorch", **request.env, JOB_MARKER: job}
        exec_id = self.client.api.exec_create(
            lease.container.id, ["/bin/sh", "-c", _WRAPPER, "mcuorch-job", *request.argv],
            stdout=True, stderr=True, stdin=False, tty=False, environment=environment,
            workdir=str(request.workdir), user=self._user_spec(),
        )["Id"]
        return str(exec_id), job

    def _execute(self, lease: _Leased, exec_id: str, job: str, request: ExecRequest,
                 cancel: threading.Event, start: float) -> ExecResult:
        api = self.client.api
        with open(request.stdout_path, "wb") as out, open(request.stderr_path, "wb") as err:
            stream = api.exec_start(exec_id, stream=True, demux=True)
            reader = threading.Thread(target=self._pump, args=(stream, out, err),
                                      name=f"exec-{job}", daemon=True)
            reader.start()
            deadline = start + request.timeout_sec
            timed_out = cancelled = False
            while reader.is_alive():
                if cancel.is_set():
                    cancelled = True
                elif time.monotonic() >= deadline:
                    timed_out = True
                if timed_out or cancelled:
                    self._kill(lease, job, reader)
                    break
                reader.join(POLL_SEC)
        duration = time.monotonic() - start
        if timed_out or cancelled:
            return ExecResult(exit_code=None, timed_out=timed_out, cancelled=cancelled,
                              duration_sec=duration)
        return ExecResult(exit_code=self._exit_code(exec_id), duration_sec=duration)

    def _pump(self, stream: Any, out: BinaryIO, err: BinaryIO) -> None:
        try:
            for stdout, stderr in stream:
                if stdout:
                    out.write(stdout)
                    out.flush()  # logs are readable (tail -f) while the job runs
                    if self._echo:
                        self._echo("stdout", stdout)
                if stderr:
                    err.write(stderr)
                    err.flush()
                    if self._echo:
                        self._echo("stderr", stderr)
        except (requests.exceptions.RequestException, OSError, ValueError):
            pass  # the connection dies when the container is removed under us

    def _user_spec(self) -> str:
        return f"{self.user[0]}:{self.user[1]}" if self.user is not None else ""

    def _kill(self, lease: _Leased, job: str, reader: threading.Thread) -> None:
        """Kill the job's processes from inside; remove the container if that does not work."""
        try:
            lease.container.exec_run(["/bin/sh", "-c", _KILLER, "mcuorch-kill", job],
                                     user=self._user_spec())
            reader.join(KILL_GRACE_SEC)
        except (docker.errors.APIError, requests.exceptions.RequestException):
            pass
        if reader.is_alive():
            lease.healthy = False
            self._remove(lease.container)
            reader.join(KILL_GRACE_SEC)

    def _exit_code(self, exec_id: str) -> int | None:
        """The exec's exit code; it can lag the end of the output stream by a few ms."""
        for _ in range(100):
            info = self.client.api.exec_inspect(exec_id)
            if not info.get("Running") and info.get("ExitCode") is not None:
                return int(info["ExitCode"])
            time.sleep(0.01)
        return None
