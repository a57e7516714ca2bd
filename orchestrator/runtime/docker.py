"""The Docker runtime: every stage job inside its toolchain's image, as the invoking user.

Jobs run through `docker exec` in warm containers, one container per concurrently running
job of an (image, mounts, network, limits) combination, kept for reuse while the session
lasts (at most `max_idle` idle ones). A container per job costs ~0.5 s here, an exec into a
warm one ~0.09 s (benchmarks/containers.py), and a session runs hundreds of short jobs.
Correctness does not depend on the reuse:

- A container is leased to one job at a time, so its memory/CPU/pids limits are the job's.
- Its mounts are fixed at creation: requests whose mounts all lie inside one of the runtime's
  shared mount sets (by default one per stage: target software, models and the earlier
  stages' outputs read-only, the stage's own staging folder read-write) share containers;
  any other request gets a container with exactly its own mounts. A read-only request mount is never served by a read-write
  container mount, nor a read-write one by a read-only mount.
- The root filesystem is read-only; /tmp is a fresh tmpfs per container; every job gets its
  own HOME and TMPDIR below /tmp, removed when it ends.
- Every job process carries a marker variable; a timeout or cancel kills every process with
  that marker (from a second exec, as the job's uid, inside the container) and the container
  stays usable. If that fails the container is removed.
- Containers are labelled (session, environment, image, owner pid/host) and removed on
  `close()`; `collect_garbage()` (`mcuorch gc`) removes those whose owner process is gone.
- An engine that stops answering mid-session (a failed connection, then a failed ping) is an
  `EngineLostError` naming its address; an image removed mid-session is an `ImageMissingError`.
"""

from __future__ import annotations

import os
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from typing import Any, BinaryIO

import docker
import docker.errors
import docker.types
import requests.exceptions

from orchestrator.environment import Environment
from orchestrator.errors import JobError, McuorchError
from orchestrator.images.build import ImageBuilder
from orchestrator.images.engine import connect, image_exists, lost_engine
from orchestrator.images.progress import BuildProgress, make_progress
from orchestrator.images.tags import ImageSet, resolve_images
from orchestrator.runtime.base import ExecRequest, ExecResult, ImageRef, Mount
from orchestrator.runtime.exec_stream import (
    SHELL_END_MARKER,
    clear_outputs,
    exec_frames,
    take_end_marker,
    without_marker,
)
from orchestrator.runtime.interrupts import interruptible
from orchestrator.runtime.mounts import (
    check_mounts,
    default_mount_sets,
    plain_path,
)
from orchestrator.runtime.owners import (
    collect_garbage,
    owner_label,
)
from orchestrator.runtime.pool import (
    MAX_IDLE,
    POLL_SEC,
    ContainerPool,
    Lease,
    remove_container,
)

JOB_MARKER = "MCUORCH_JOB"
KILL_GRACE_SEC = 10.0
NOT_STARTED_CODES = frozenset({125, 126, 127})
"""Exit codes of an exec whose command never started (the engine's or the wrapper's)."""
OUTPUT_ATTEMPTS = 3
"""Executions of a job whose exec stream keeps arriving cut before it is a job error."""

_WRAPPER = r"""
d=/tmp/mcuorch-job-$MCUORCH_JOB
mkdir -p "$d/home" "$d/tmp" || exit 125
setsid "$@" </dev/null &
pid=$!
wait "$pid"
rc=$?
kill -KILL -- "-$pid" 2>/dev/null
rm -rf "$d"
%s; %s >&2
exit "$rc"
""" % (SHELL_END_MARKER, SHELL_END_MARKER)
"""Runs argv in its own session; afterwards kills what it left behind, drops its scratch and
ends both streams with the end marker (orchestrator.runtime.exec_stream)."""

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


def _maybe_killed(result: ExecResult) -> bool:
    """Exit codes a dead container leaves (signals, or an exec that could not start); a
    program's own error codes (1, 2, 0x10-0x12 ...) say nothing about its container."""
    return result.exit_code is not None and result.exit_code >= 125


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
        shared_mount_sets: Sequence[Sequence[Mount]] | None = None,
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
        # `shared_mounts`: one set for every job (tests); `shared_mount_sets`: several.
        if shared_mount_sets is None:
            shared_mount_sets = [shared_mounts] if shared_mounts is not None else (
                default_mount_sets() if reuse else [])
        self.shared_mount_sets = tuple(
            tuple(Mount(path=plain_path(m.path), read_only=m.read_only) for m in mounts)
            for mounts in shared_mount_sets)
        if user is None and hasattr(os, "getuid"):
            user = (os.getuid(), os.getgid())
        self.user = user
        self.namespace = namespace
        self.build_missing = build_missing
        self._progress = progress
        # `verbose` sessions follow the log files themselves (they are flushed per chunk), so
        # echoing here too would print everything twice; `echo` is for callers that do not.
        self._echo = echo
        self._lock = threading.Lock()
        self._images: ImageSet | None = None
        self._pool = ContainerPool(self.client, session_id=self.session_id, env_name=env.name,
                                   owner=owner_label(), user=user, reuse=reuse,
                                   shared_sets=self.shared_mount_sets, max_idle=max_idle)

    # -- protocol -----------------------------------------------------------------------------

    def image_set(self) -> ImageSet:
        """The environment's images resolved against this engine (cached)."""
        with self._lock:
            if self._images is None:
                self._images = resolve_images(self.env, client=self.client, namespace=self.namespace)
            return self._images

    def prepare(self, images: list[ImageRef]) -> None:
        """Build missing images (parents first) or fail with one line; reap dead sessions."""
        try:
            self._prepare(images)
        except requests.exceptions.ConnectionError as exc:
            raise self._engine_failure(exc, "preparing the images") from None

    def _prepare(self, images: list[ImageRef]) -> None:
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
            with interruptible():
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
        """Execute argv in a leased container until exit, timeout or cancel.

        A warm container that died meanwhile (OOM, removed by hand) before the job's command
        started is replaced by a fresh one; a container killed under a running job is named in
        the result (`killed`) and never handed out again."""
        start = time.monotonic()
        check_mounts(request.mounts)
        if cancel.is_set():
            return ExecResult(exit_code=None, cancelled=True, duration_sec=0.0)
        try:
            lease = self._pool.acquire(request)
        except (docker.errors.APIError, requests.exceptions.RequestException) as exc:
            raise self._engine_failure(exc, f"starting a container of {request.image.tag}") from None
        try:
            while True:
                try:
                    result = self._execute_whole(lease, request, cancel, start)
                except docker.errors.APIError:
                    if not lease.reused:
                        raise
                    result = None  # the exec could not even be created: the container is gone
                if result is not None and (not _maybe_killed(result) or lease.running()):
                    return result
                lease.healthy = False
                retry = lease.reused and not cancel.is_set() and (
                    result is None or result.exit_code in NOT_STARTED_CODES)
                if not retry:
                    if result is None:  # cancelled while replacing a dead warm container
                        return ExecResult(exit_code=None, cancelled=True, duration_sec=time.monotonic() - start)
                    return result.model_copy(update={"killed": lease.death(result.exit_code)})
                self._pool.release(lease)
                lease = self._pool.acquire(request, fresh=True)
        except (docker.errors.APIError, requests.exceptions.RequestException) as exc:
            lease.healthy = False
            if cancel.is_set() or self._pool.closed:
                return ExecResult(exit_code=None, cancelled=True, duration_sec=time.monotonic() - start)
            raise self._engine_failure(exc, f"docker exec in {request.image.tag}") from None
        finally:
            self._pool.release(lease)

    def close(self) -> None:
        """Remove every container of this runtime (running jobs are killed); idempotent."""
        self._pool.close()

    def _engine_failure(self, exc: Exception, doing: str) -> McuorchError:
        """`EngineLostError` when the engine is gone (the pool then stops talking to it), else a
        JobError for this job alone."""
        lost = lost_engine(self.client, exc)
        if lost is not None:
            self._pool.lost = True
            return lost
        return JobError(f"{doing} failed: {exc}")

    # -- one job ------------------------------------------------------------------------------

    def _create_exec(self, lease: Lease, request: ExecRequest) -> tuple[str, str]:
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

    def _execute_whole(self, lease: Lease, request: ExecRequest, cancel: threading.Event,
                       start: float) -> ExecResult:
        """The job executed in `lease`, again from empty output folders while its output stream
        arrives cut (the logs would be partial); the last cut is a JobError."""
        for attempt in range(1, OUTPUT_ATTEMPTS + 1):
            exec_id, job = self._create_exec(lease, request)
            result = self._execute(lease, exec_id, job, request, cancel, start)
            if self._output_complete(request, result):
                return result
            if attempt == OUTPUT_ATTEMPTS:
                break
            clear_outputs(request.mounts)
        raise JobError(f"the engine cut the output stream of docker exec in {request.image.tag} "
                       f"{OUTPUT_ATTEMPTS} times")

    def _execute(self, lease: Lease, exec_id: str, job: str, request: ExecRequest,
                 cancel: threading.Event, start: float) -> ExecResult:
        api = self.client.api
        with open(request.stdout_path, "wb") as out, open(request.stderr_path, "wb") as err:
            stream = exec_frames(api, exec_id)
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

    @staticmethod
    def _output_complete(request: ExecRequest, result: ExecResult) -> bool:
        """Both logs ended with the wrapper's marker (cut off here). Judged only for a program
        that exited by itself with a code below 125: a killed job or container, or a command
        that never started, may leave no marker and is handled as such."""
        if result.exit_code is None:
            return True
        complete = take_end_marker(request.stdout_path)
        complete = take_end_marker(request.stderr_path) and complete
        return complete or _maybe_killed(result)

    def _pump(self, stream: Any, out: BinaryIO, err: BinaryIO) -> None:
        try:
            for stdout, stderr in stream:
                for name, chunk, log in (("stdout", stdout, out), ("stderr", stderr, err)):
                    if not chunk:
                        continue
                    log.write(chunk)
                    log.flush()  # logs are readable (tail -f) while the job runs
                    if self._echo and (shown := without_marker(chunk)):
                        self._echo(name, shown)
        except (requests.exceptions.RequestException, OSError, ValueError):
            pass  # the connection dies when the container is removed under us

    def _user_spec(self) -> str:
        return f"{self.user[0]}:{self.user[1]}" if self.user is not None else ""

    def _kill(self, lease: Lease, job: str, reader: threading.Thread) -> None:
        """Kill the job's processes from inside; remove the container if that does not work."""
        try:
            lease.container.exec_run(["/bin/sh", "-c", _KILLER, "mcuorch-kill", job],
                                     user=self._user_spec())
            reader.join(KILL_GRACE_SEC)
        except (docker.errors.APIError, requests.exceptions.RequestException):
            pass
        if reader.is_alive():
            lease.healthy = False
            remove_container(lease.container)
            reader.join(KILL_GRACE_SEC)

    def _exit_code(self, exec_id: str) -> int | None:
        """The exec's exit code; it can lag the end of the output stream by a few ms."""
        for _ in range(100):
            info = self.client.api.exec_inspect(exec_id)
            if not info.get("Running") and info.get("ExitCode") is not None:
                return int(info["ExitCode"])
            time.sleep(0.01)
        return None
