"""`mcuorch sessions`, `cleanup --keep N` and `export [SESSION] -o file.zip`."""

from __future__ import annotations

import datetime
from pathlib import Path
from typing import Annotated

import typer

from orchestrator.cli.console import stdout
from orchestrator.housekeeping import cleanup as do_cleanup
from orchestrator.housekeeping import export_session
from orchestrator.paths import home_paths
from orchestrator.session import SessionStore
from orchestrator.store import JobStore


def _stores() -> tuple[SessionStore, JobStore]:
    home = home_paths()
    return SessionStore(home.sessions), JobStore(home.jobs)


def sessions() -> None:
    """List sessions, oldest first."""
    store, _ = _stores()
    for record in store.records():
        when = datetime.datetime.fromtimestamp(record.created).strftime("%Y-%m-%d %H:%M")
        counts = ", ".join(f"{v} {k}" for k, v in record.counts.items() if v)
        stdout.print(f"{record.id}  {when}  {record.status:<10} {len(record.runs):>3} runs  "
                     f"{record.spec.env_name}  {record.spec.label or ''}  {counts}", highlight=False, markup=False)


def cleanup(keep: Annotated[int, typer.Option("-k", "--keep", min=0, help="sessions to keep")] = 10) -> None:
    """Remove all but the newest sessions, and every job no kept session uses."""
    session_store, job_store = _stores()
    result = do_cleanup(session_store, job_store, keep)
    stdout.print(f"removed {result.sessions_removed} sessions and {result.jobs_removed} jobs "
                 f"({result.bytes_freed / 1e6:.1f} MB)", highlight=False)


def export(
    session: Annotated[str, typer.Argument(help="session id (prefix) or 'latest'")] = "latest",
    output: Annotated[Path | None, typer.Option("-o", "--output", help="zip file to write")] = None,
) -> None:
    """Zip a session's report, logs and artifacts."""
    session_store, job_store = _stores()
    record = session_store.load(session)
    target = export_session(record, session_store, job_store, output or Path(f"mcuorch-{record.id}.zip"))
    stdout.print(f"wrote {target}", highlight=False, markup=False)
