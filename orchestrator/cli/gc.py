"""`mcuorch gc`: remove labelled containers that no live session owns.

Every container the Docker runtime starts carries the owning process (host, pid, start
time) in a label. A session killed hard (SIGKILL, power loss) leaves its containers behind;
this command, and every new Docker session on start, removes those whose owner is gone.
"""

from __future__ import annotations

import typer

from orchestrator.images.engine import connect
from orchestrator.runtime.owners import collect_garbage


def gc(
    everything: bool = typer.Option(False, "--all", help="Also remove containers of live sessions and of other hosts."),
    dry_run: bool = typer.Option(False, "--dry-run", "-n", help="Only say what would be removed."),
) -> None:
    """Remove leftover mcuorch containers whose owning process is gone."""
    report = collect_garbage(connect(), everything=everything, dry_run=dry_run)
    verb = "would remove" if dry_run else "removed"
    for line in report.removed:
        typer.echo(f"{verb} {line}")
    typer.echo(f"{verb} {len(report.removed)} container(s); kept {len(report.kept)} of live "
               "or remote sessions")
