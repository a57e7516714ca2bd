"""The job store: `<home>/jobs/<stage>/<key>/`, published atomically.

A job is executed in `<stage>/.staging/<key>/` while holding `<stage>/.locks/<key>.lock`
(an exclusive `flock`), and becomes visible as `<stage>/<key>/` by one `rename` only after it
succeeded and its record was written. An interrupted job therefore never looks like a cache
hit, and two sessions computing the same key serialise on the lock: the second one finds the
published directory and uses it. The staging path is fixed per key (not random) so absolute
paths that tools write into outputs are the same every time the job runs.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from orchestrator.components.base import Metric, Stage
from orchestrator.digest import canonical_json, digest_dir, sha256_text
from orchestrator.plan import KeyInputs

JOB_RECORD = "job.json"
METRICS = "metrics.json"
OUTPUTS = "outputs"
STDOUT = "stdout.log"
STDERR = "stderr.log"
EXIT_CODE = "exit_code"


class ImageRecord(BaseModel):
    name: str
    tag: str
    identity: str


class MountRecord(BaseModel):
    path: str
    read_only: bool


class JobRecord(BaseModel):
    """`job.json`: how a published job was produced."""

    key: str
    stage: str
    argv: list[str]
    image: ImageRecord
    runtime: str
    env: dict[str, str] = Field(default_factory=dict)
    mounts: list[MountRecord] = Field(default_factory=list)
    key_inputs: KeyInputs
    started: float
    finished: float
    duration_sec: float
    exit_code: int
    outputs_digest: str
    session: str
    metrics_digest: str | None = None
    """sha256 of the published metrics (canonical JSON), so an edited metrics.json is noticed."""


class PublishedJob(BaseModel):
    """A published job as read back from the store."""

    path: Path
    record: JobRecord
    metrics: dict[str, Metric]

    @property
    def outputs(self) -> Path:
        return self.path / OUTPUTS


class JobStore:
    """Job directories under one root (`<home>/jobs`)."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def stage_dir(self, stage: Stage) -> Path:
        return self.root / stage.value

    def path(self, stage: Stage, key: str) -> Path:
        return self.stage_dir(stage) / key

    def staging_path(self, stage: Stage, key: str) -> Path:
        return self.stage_dir(stage) / ".staging" / key

    def lookup(self, stage: Stage, key: str) -> PublishedJob | None:
        """The published job, or None (a directory without a readable record does not count)."""
        return self._read(self.path(stage, key))

    @staticmethod
    def _read(path: Path) -> PublishedJob | None:
        record_file = path / JOB_RECORD
        if not record_file.is_file():
            return None
        try:
            record = JobRecord.model_validate_json(record_file.read_text())
            metrics_file = path / METRICS
            metrics = json.loads(metrics_file.read_text()) if metrics_file.is_file() else {}
        except (OSError, ValueError):
            return None
        return PublishedJob(path=path, record=record, metrics=metrics)

    def intact(self, job: PublishedJob) -> bool:
        """Whether a published job still holds exactly what was published: its metrics and its
        outputs hash to the digests in its record (an edited or damaged entry is no cache hit)."""
        if job.record.metrics_digest is not None and job.record.metrics_digest != metrics_digest(job.metrics):
            return False
        return digest_dir(job.outputs) == job.record.outputs_digest

    def verified(self, stage: Stage, key: str, *, discard: bool = False) -> PublishedJob | None:
        """`lookup` for reuse: a job that is not `intact` is a miss (and removed with `discard`,
        which callers pass only while holding the key's lock)."""
        job = self.lookup(stage, key)
        if job is None or self.intact(job):
            return job
        if discard:
            self.remove(stage, key)
        return None

    def lookup_any(self, stage: str, key: str | None) -> PublishedJob | None:
        """`lookup` by stage name, tolerating a missing key."""
        return self.lookup(Stage(stage), key) if key else None

    def find(self, key_prefix: str) -> list[PublishedJob]:
        """Published jobs whose key starts with `key_prefix` (any stage)."""
        found = []
        for stage in Stage.jobs():
            folder = self.stage_dir(stage)
            if folder.is_dir():
                for path in folder.glob(key_prefix + "*"):
                    job = self.lookup(stage, path.name)
                    if job is not None:
                        found.append(job)
        return found

    @contextmanager
    def lock(self, stage: Stage, key: str) -> Iterator[None]:
        """Exclusive lock for computing one key (blocks until other holders finish)."""
        lock_dir = self.stage_dir(stage) / ".locks"
        lock_dir.mkdir(parents=True, exist_ok=True)
        with open(lock_dir / f"{key}.lock", "w") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def prepare_staging(self, stage: Stage, key: str) -> Path:
        """A fresh staging directory with an empty `outputs/` (call while holding the lock)."""
        staging = self.staging_path(stage, key)
        if staging.exists():
            shutil.rmtree(staging)
        (staging / OUTPUTS).mkdir(parents=True)
        return staging

    def publish(self, staging: Path, stage: Stage, key: str, record: JobRecord,
                metrics: dict[str, Metric]) -> PublishedJob:
        """Write record and metrics, then rename staging → final (call while holding the lock)."""
        _write_json(staging / METRICS, metrics)
        record = record.model_copy(update={"metrics_digest": metrics_digest(json.loads((staging / METRICS).read_text()))})
        _write_json(staging / JOB_RECORD, record.model_dump(mode="json"))
        final = self.path(stage, key)
        if final.exists():  # published by a session that did not hold our lock (old layout)
            shutil.rmtree(staging)
        else:
            os.rename(staging, final)
        published = self.lookup(stage, key)
        if published is None:
            raise OSError(f"published job {final} has no readable record")
        return published

    def adopt(self, staging: Path, stage: Stage, key: str) -> PublishedJob | None:
        """Publish a complete job folder made elsewhere (a remote tier's download) as it is: only
        when its record is for this key and its outputs and metrics match the record's digests
        (call while holding the lock). A folder that does not qualify is removed; None."""
        job = self._read(staging)
        if job is None or (job.record.key, job.record.stage) != (key, stage.value) or not self.intact(job):
            shutil.rmtree(staging, ignore_errors=True)
            return None
        final = self.path(stage, key)
        if final.exists():
            shutil.rmtree(staging)
        else:
            os.rename(staging, final)
        return self.lookup(stage, key)

    def remove(self, stage: Stage, key: str) -> None:
        shutil.rmtree(self.path(stage, key), ignore_errors=True)

    def all_jobs(self) -> Iterator[tuple[Stage, str]]:
        for stage in Stage.jobs():
            folder = self.stage_dir(stage)
            if folder.is_dir():
                for path in folder.iterdir():
                    if not path.name.startswith(".") and path.is_dir():
                        yield stage, path.name


def metrics_digest(metrics: dict[str, Any]) -> str:
    return sha256_text(canonical_json(metrics))


def _write_json(path: Path, value: Any) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(value, indent=2, sort_keys=True, default=str))
    os.replace(tmp, path)
