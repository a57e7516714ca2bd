"""`cleanup` and `export`: keep the home small, and take a session's results elsewhere."""

from __future__ import annotations

import shutil
import zipfile
from dataclasses import dataclass
from pathlib import Path

from orchestrator.components.base import Stage
from orchestrator.processes import pid_alive
from orchestrator.session import SessionRecord, SessionStore
from orchestrator.store import JOB_RECORD, JobStore


@dataclass(frozen=True)
class CleanupResult:
    sessions_removed: int
    jobs_removed: int
    bytes_freed: int


def _size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file() and not p.is_symlink())


def cleanup(sessions: SessionStore, store: JobStore, keep: int) -> CleanupResult:
    """Keep the `keep` newest sessions (and live ones); remove jobs no kept session uses.

    Jobs published after a still-running session started are kept too: that session has not
    recorded its jobs yet.
    """
    records = sessions.records()
    live = [r for r in records if r.status == "running" and r.pid is not None and pid_alive(r.pid)]
    kept = {r.id for r in records[-keep:]} if keep > 0 else set()
    kept |= {r.id for r in live}
    removed = 0
    for record in records:
        if record.id not in kept:
            sessions.remove(record.id)
            removed += 1
    referenced = {(stage, key) for r in records if r.id in kept for run in r.runs
                  for stage, key in run.jobs.items() if key}
    horizon = min((r.created for r in live), default=None)
    jobs_removed, freed = 0, 0
    for stage, key in list(store.all_jobs()):
        if (stage.value, key) in referenced:
            continue
        path = store.path(stage, key)
        record_file = path / JOB_RECORD
        if horizon is not None and record_file.is_file() and record_file.stat().st_mtime >= horizon:
            continue
        with store.lock(stage, key):
            freed += _size(path)
            shutil.rmtree(path, ignore_errors=True)
        jobs_removed += 1
    return CleanupResult(sessions_removed=removed, jobs_removed=jobs_removed, bytes_freed=freed)


def export_session(record: SessionRecord, sessions: SessionStore, store: JobStore, target: Path) -> Path:
    """Zip the session folder (record, reports, failed logs) and every job its runs used."""
    folder = sessions.path(record.id)
    target.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                archive.write(path, f"{record.id}/{path.relative_to(folder)}")
        seen: set[tuple[str, str]] = set()
        for run in record.runs:
            for stage, key in run.jobs.items():
                if not key or (stage, key) in seen:
                    continue
                seen.add((stage, key))
                job_dir = store.path(Stage(stage), key)
                for path in sorted(job_dir.rglob("*")):
                    if path.is_file():
                        archive.write(path, f"{record.id}/jobs/{stage}/{key}/{path.relative_to(job_dir)}")
    return target

