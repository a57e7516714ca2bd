"""How a planned job ended, as the scheduler, progress display and report see it."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from pathlib import Path

from orchestrator.plan import PlannedJob
from orchestrator.runtime.base import ImageRef
from orchestrator.store import PublishedJob


class JobStatus(str, Enum):
    DONE = "done"
    CACHED = "cached"
    DOWNLOADED = "downloaded"
    """Found in the remote tier of the job store and downloaded (orchestrator.remote_cache)."""
    FAILED = "failed"
    SKIPPED = "skipped"
    CANCELLED = "cancelled"

    @property
    def ok(self) -> bool:
        return self in (JobStatus.DONE, JobStatus.CACHED, JobStatus.DOWNLOADED)


@dataclass(frozen=True)
class JobOutcome:
    """The end of one planned job. `reason` is MLonMCU-style, e.g. 'timeout @ RUN'."""

    job: PlannedJob
    status: JobStatus
    image: ImageRef
    key: str | None = None
    published: PublishedJob | None = None
    reason: str | None = None
    log_dir: Path | None = None
    duration_sec: float = 0.0
