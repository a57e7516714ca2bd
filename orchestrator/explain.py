"""Why a job's key is what it is, and what differs between two jobs or two sessions."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from orchestrator.errors import UserError
from orchestrator.session import SessionRecord
from orchestrator.store import JobStore, PublishedJob

_SESSION = re.compile(r"^\d{8}-")


def flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    """Nested dicts → `{"a.b.c": value}` (lists stay values)."""
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for key, sub in value.items():
            out.update(flatten(sub, f"{prefix}.{key}" if prefix else str(key)))
        return out
    return {prefix: value}


@dataclass(frozen=True)
class Change:
    path: str
    before: Any
    after: Any


def diff(a: dict[str, Any], b: dict[str, Any]) -> list[Change]:
    """Changed, added (before None) and removed (after None) leaves, sorted by path."""
    fa, fb = flatten(a), flatten(b)
    return [Change(p, fa.get(p), fb.get(p)) for p in sorted(set(fa) | set(fb)) if fa.get(p) != fb.get(p)]


def find_job(store: JobStore, key_prefix: str) -> PublishedJob:
    if not re.fullmatch(r"[0-9a-f]{4,64}", key_prefix):
        raise UserError(f"{key_prefix!r} is not a job key (hex) or a session id")
    found = store.find(key_prefix)
    if len(found) != 1:
        what = "no published job" if not found else f"{len(found)} jobs"
        raise UserError(f"{what} match {key_prefix!r}")
    return found[0]


def is_session_ref(text: str) -> bool:
    return text == "latest" or bool(_SESSION.match(text))


def job_inputs(job: PublishedJob) -> dict[str, Any]:
    return job.record.key_inputs.model_dump(mode="json")


@dataclass(frozen=True)
class RunDiff:
    run: int
    identity: dict[str, Any]
    stage: str
    key_a: str | None
    key_b: str | None
    changes: list[Change]


def diff_sessions(store: JobStore, a: SessionRecord, b: SessionRecord) -> list[RunDiff]:
    """Per run (matched by index), the first stage whose key differs and why."""
    out = []
    runs_b = {r.index: r for r in b.runs}
    for run_a in a.runs:
        run_b = runs_b.get(run_a.index)
        if run_b is None:
            continue
        for stage, key_a in run_a.jobs.items():
            key_b = run_b.jobs.get(stage)
            if key_a == key_b:
                continue
            job_a = store.lookup_any(stage, key_a)
            job_b = store.lookup_any(stage, key_b)
            changes = diff(job_inputs(job_a), job_inputs(job_b)) if job_a and job_b else []
            if not changes and run_a.identity != run_b.identity:
                changes = diff(run_a.identity, run_b.identity)
            out.append(RunDiff(run_a.index, run_a.identity, stage, key_a, key_b, changes))
            break
    return out
