"""The container runtime protocol: the only way the host executes a stage job.

Every runtime (local subprocess, Docker, the fake used by unit tests) takes the same
`ExecRequest` and returns an `ExecResult`, so the scheduler never knows where a job ran.
Paths are host paths; a container runtime mounts them at the same absolute paths.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Protocol, runtime_checkable

from pydantic import BaseModel, ConfigDict, Field


class Mount(BaseModel):
    """A host directory or file made visible to the job at the same absolute path."""

    model_config = ConfigDict(frozen=True)

    path: Path
    read_only: bool = True


class Limits(BaseModel):
    """Resource limits for one job; `None` means the runtime's default (unlimited)."""

    model_config = ConfigDict(frozen=True)

    memory_bytes: int | None = Field(default=None, gt=0)
    cpus: float | None = Field(default=None, gt=0)
    pids: int | None = Field(default=None, gt=0)


class ImageRef(BaseModel):
    """The image a job runs in: the environment's image name and its content tag."""

    model_config = ConfigDict(frozen=True)

    name: str
    tag: str


class ExecRequest(BaseModel):
    """Everything needed to execute one argv once."""

    image: ImageRef
    argv: list[str] = Field(min_length=1)
    mounts: list[Mount] = Field(default_factory=list)
    env: dict[str, str] = Field(default_factory=dict)
    workdir: Path
    network: bool = False
    timeout_sec: float = Field(gt=0)
    limits: Limits = Field(default_factory=Limits)
    stdout_path: Path
    stderr_path: Path
    labels: dict[str, str] = Field(default_factory=dict)
    """Identify the job's container/process (session, environment, image) for cleanup."""


class ExecResult(BaseModel):
    """How an execution ended. `exit_code` is None when the job was killed."""

    exit_code: int | None
    timed_out: bool = False
    cancelled: bool = False
    duration_sec: float = Field(ge=0)
    killed: str | None = None
    """Set when the job's container died under it (e.g. `docker kill`, the OOM killer): what
    happened, in words, because the exit code alone (137) cannot tell a crash from a kill."""


@runtime_checkable
class Runtime(Protocol):
    """Executes stage jobs. Implementations must be safe to call from several threads."""

    name: str

    def prepare(self, images: list[ImageRef]) -> None:
        """Make sure every image exists (build or fail with a clear error) before any job runs."""

    def image_identity(self, image: ImageRef) -> str:
        """A string that changes whenever the image's content changes (goes into job keys)."""

    def run(self, request: ExecRequest, cancel: threading.Event) -> ExecResult:
        """Run argv to completion, the timeout, or `cancel` being set; kill it in the latter two."""

    def close(self) -> None:
        """Release everything this runtime started (processes, containers); idempotent."""
