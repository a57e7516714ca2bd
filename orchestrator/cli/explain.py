"""`mcuorch explain A [B]`: a job's key inputs, or what differs between two jobs/sessions."""

from __future__ import annotations

from typing import Annotated, Any

import typer
import yaml

from orchestrator.cli.console import stdout
from orchestrator.explain import Change, diff, diff_sessions, find_job, is_session_ref, job_inputs
from orchestrator.paths import home_paths
from orchestrator.session import SessionStore
from orchestrator.store import JobStore


def _show_changes(changes: list[Change], indent: str = "  ") -> None:
    for change in changes:
        stdout.print(f"{indent}{change.path}: {change.before!r} -> {change.after!r}", highlight=False, markup=False)


def explain(
    first: Annotated[str, typer.Argument(help="job key (prefix) or session id / 'latest'")],
    second: Annotated[str | None, typer.Argument(help="a second job or session to compare with")] = None,
) -> None:
    """Show what a job's key is computed from, or why two jobs/sessions differ."""
    home = home_paths()
    store, sessions = JobStore(home.jobs), SessionStore(home.sessions)
    if second is None:
        if is_session_ref(first):
            record = sessions.load(first)
            for run in record.runs:
                keys = "  ".join(f"{stage}={(key or '-')[:12]}" for stage, key in run.jobs.items())
                stdout.print(f"run {run.index}: {keys}", highlight=False, markup=False)
            return
        job = find_job(store, first)
        data: dict[str, Any] = {"key": job.record.key, "path": str(job.path), "key_inputs": job_inputs(job),
                                "argv": job.record.argv, "image": job.record.image.model_dump(),
                                "runtime": job.record.runtime, "duration_sec": round(job.record.duration_sec, 3)}
        stdout.print(yaml.safe_dump(data, sort_keys=False, width=120).rstrip(), highlight=False, markup=False)
        return
    if is_session_ref(first) and is_session_ref(second):
        a, b = sessions.load(first), sessions.load(second)
        diffs = diff_sessions(store, a, b)
        if not diffs:
            stdout.print(f"sessions {a.id} and {b.id} use the same jobs for every run", highlight=False)
        for d in diffs:
            stdout.print(f"run {d.run} ({d.identity.get('model')}/{d.identity.get('backend')}/"
                         f"{d.identity.get('target')}): {d.stage} {str(d.key_a)[:12]} -> {str(d.key_b)[:12]}",
                         highlight=False, markup=False)
            _show_changes(d.changes)
        return
    job_a, job_b = find_job(store, first), find_job(store, second)
    changes = diff(job_inputs(job_a), job_inputs(job_b))
    if not changes:
        stdout.print("the two jobs have the same key inputs", highlight=False)
    _show_changes(changes, indent="")
