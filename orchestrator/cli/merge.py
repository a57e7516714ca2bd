"""`mcuorch merge DIR...`: shard sessions → one session and report in this home."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from orchestrator.cli.console import stderr, stdout
from orchestrator.cli.run import _label
from orchestrator.paths import home_paths


def merge(
    folders: Annotated[list[Path], typer.Argument(help="shard session folders, or folders holding them")],
    label: Annotated[str | None, typer.Option("-l", "--label", help="name of the saved results")] = None,
    summary: Annotated[Path | None, typer.Option("--summary", help="also write the summary table as "
                                                                    "Markdown (e.g. for a CI job summary)")] = None,
) -> None:
    """Combine the sessions of `run --shard K/N` into the report of the whole matrix."""
    from orchestrator.merge import find_sessions, merge as merge_shards
    from orchestrator.report.display import print_report, summary_markdown

    result = merge_shards(find_sessions(folders), home_paths(), label=_label(label), command=sys.argv[:])
    record = result.record
    shaped = bool(record.spec.request.postprocesses)
    print_report(result.report, stdout, shaped=shaped)
    if summary is not None:
        summary.parent.mkdir(parents=True, exist_ok=True)
        summary.write_text(f"### mcuorch {record.spec.label or record.id}: {len(record.runs)} runs from "
                           f"{len(result.shards)} shards\n\n" + summary_markdown(result.report, shaped=shaped) + "\n")
    failing = sum(run.failing for run in record.runs)
    incomplete = sum(run.incomplete for run in record.runs)
    status = ", ".join(part for part in (f"{failing} failing" if failing else "",
                                         f"{incomplete} incomplete" if incomplete else "") if part) or "ok"
    stderr.print(f"session {record.id}: {len(record.runs)} runs merged from {len(result.shards)} shards, {status}; "
                 f"report: {result.report_files[0].parent}", highlight=False, markup=False)
    if result.exit_code:
        raise typer.Exit(result.exit_code)
