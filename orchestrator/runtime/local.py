"""The local runtime: the job's argv as a subprocess on the host.

It runs the same image-side commands as the containers do, straight from the checkout:
`images/<name>/bin` goes first on PATH and `images/<name>` on PYTHONPATH. Each job gets its
own process group (session), which is killed as a whole at the timeout or on cancel, so no
grandchild survives. Its image identity hashes the image's folder and starts with `local:`,
so local results never pose as results of a container image.
"""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time

from orchestrator.digest import digest_dir
from orchestrator.paths import ProjectPaths
from orchestrator.runtime.base import ExecRequest, ExecResult, ImageRef

KILL_GRACE_SEC = 2.0
POLL_SEC = 0.05


class LocalRuntime:
    """Subprocess runtime; safe to use from several threads."""

    name = "local"

    def __init__(self, project: ProjectPaths) -> None:
        self.project = project
        self._lock = threading.Lock()
        self._live: set[subprocess.Popen[bytes]] = set()
        self._identities: dict[str, str] = {}

    def prepare(self, images: list[ImageRef]) -> None:
        """Nothing to build: commands come from the checkout and the host."""

    def image_identity(self, image: ImageRef) -> str:
        with self._lock:
            if image.name not in self._identities:
                folder = self.project.images / image.name
                self._identities[image.name] = f"local:{image.name}:{digest_dir(folder)[:16]}"
            return self._identities[image.name]

    def _environ(self, request: ExecRequest) -> dict[str, str]:
        folder = self.project.images / request.image.name
        env = dict(os.environ)
        env["PATH"] = os.pathsep.join([str(folder / "bin"), env.get("PATH", os.defpath)])
        env["PYTHONPATH"] = os.pathsep.join(p for p in [str(folder), env.get("PYTHONPATH", "")] if p)
        env.update(request.env)
        return env

    def run(self, request: ExecRequest, cancel: threading.Event) -> ExecResult:
        start = time.monotonic()
        with open(request.stdout_path, "wb") as out, open(request.stderr_path, "wb") as err:
            try:
                proc = subprocess.Popen(request.argv, cwd=request.workdir, env=self._environ(request),
                                        stdin=subprocess.DEVNULL, stdout=out, stderr=err,
                                        start_new_session=True)
            except OSError as exc:
                err.write(f"mcuorch: cannot execute {request.argv[0]}: {exc.strerror}\n".encode())
                return ExecResult(exit_code=127, duration_sec=time.monotonic() - start)
            with self._lock:
                self._live.add(proc)
            try:
                return self._wait(proc, request, cancel, start)
            finally:
                with self._lock:
                    self._live.discard(proc)

    def _wait(self, proc: subprocess.Popen[bytes], request: ExecRequest, cancel: threading.Event,
              start: float) -> ExecResult:
        """Block on the process (no polling delay); a watcher thread kills it at the deadline
        or on cancel."""
        done = threading.Event()
        ended: dict[str, bool] = {}

        def watch() -> None:
            deadline = start + request.timeout_sec
            while not done.wait(max(0.0, min(POLL_SEC, deadline - time.monotonic()))):
                if cancel.is_set():
                    ended["cancelled"] = True
                elif time.monotonic() >= deadline:
                    ended["timed_out"] = True
                else:
                    continue
                _kill_group(proc)
                return

        watcher = threading.Thread(target=watch, name="mcuorch-local-watch", daemon=True)
        watcher.start()
        code = proc.wait()
        done.set()
        watcher.join()
        _kill_leftovers(proc)
        duration = time.monotonic() - start
        if ended:
            return ExecResult(exit_code=None, timed_out=ended.get("timed_out", False),
                              cancelled=ended.get("cancelled", False), duration_sec=duration)
        return ExecResult(exit_code=code, duration_sec=duration)

    def close(self) -> None:
        with self._lock:
            live = list(self._live)
        for proc in live:
            _kill_group(proc)


def _kill_leftovers(proc: subprocess.Popen[bytes]) -> None:
    """A job must not leave background processes behind when its main process exits."""
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    """SIGTERM the job's process group, SIGKILL it after a grace period, reap the leader."""
    try:
        os.killpg(proc.pid, signal.SIGTERM)
    except ProcessLookupError:
        pass
    try:
        proc.wait(timeout=KILL_GRACE_SEC)
    except subprocess.TimeoutExpired:
        pass
    try:
        os.killpg(proc.pid, signal.SIGKILL)  # grandchildren may outlive a leader that exited on TERM
    except ProcessLookupError:
        pass
    proc.wait()

