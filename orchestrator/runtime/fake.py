"""The fake runtime for unit tests: scripted results, every request recorded.

A script maps each request to a `FakeOutcome`: an exit code, files to write into the job's
output directory, stdout/stderr text, a delay, `hang` (wait until the timeout or cancel), or
an exception to raise (`raises`: e.g. a lost engine).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from orchestrator.runtime.base import ExecRequest, ExecResult, ImageRef


@dataclass
class FakeOutcome:
    exit_code: int = 0
    files: dict[str, str] = field(default_factory=dict)
    stdout: str = ""
    stderr: str = ""
    delay_sec: float = 0.0
    hang: bool = False
    raises: Exception | None = None


Script = Callable[[ExecRequest], FakeOutcome]


def output_dir(request: ExecRequest) -> Path:
    """The one read-write mount: the job's OUT directory."""
    writable = [m.path for m in request.mounts if not m.read_only]
    if len(writable) != 1:
        raise ValueError(f"expected exactly one writable mount, got {writable}")
    return writable[0]


class FakeRuntime:
    """Records requests, plays a script; thread-safe."""

    name = "fake"

    def __init__(self, script: Script | None = None, identity_suffix: str = "1") -> None:
        self.script: Script = script or (lambda request: FakeOutcome())
        self.identity_suffix = identity_suffix
        self.requests: list[ExecRequest] = []
        self.prepared: list[ImageRef] = []
        self.closed = False
        self.active = 0
        self.max_active = 0
        self._lock = threading.Lock()

    def prepare(self, images: list[ImageRef]) -> None:
        self.prepared.extend(images)

    def image_identity(self, image: ImageRef) -> str:
        return f"fake:{image.name}:{self.identity_suffix}"

    def run(self, request: ExecRequest, cancel: threading.Event) -> ExecResult:
        start = time.monotonic()
        with self._lock:
            self.requests.append(request)
            self.active += 1
            self.max_active = max(self.max_active, self.active)
        try:
            outcome = self.script(request)
            if outcome.raises is not None:
                raise outcome.raises
            request.stdout_path.write_text(outcome.stdout)
            request.stderr_path.write_text(outcome.stderr)
            wait = request.timeout_sec if outcome.hang else outcome.delay_sec
            if cancel.wait(min(wait, request.timeout_sec)):
                return ExecResult(exit_code=None, cancelled=True, duration_sec=time.monotonic() - start)
            if outcome.hang or outcome.delay_sec >= request.timeout_sec:
                return ExecResult(exit_code=None, timed_out=True, duration_sec=time.monotonic() - start)
            out = output_dir(request)
            for rel, text in outcome.files.items():
                (out / rel).parent.mkdir(parents=True, exist_ok=True)
                (out / rel).write_text(text)
            return ExecResult(exit_code=outcome.exit_code, duration_sec=time.monotonic() - start)
        finally:
            with self._lock:
                self.active -= 1

    def close(self) -> None:
        self.closed = True
