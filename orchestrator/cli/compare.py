"""`mcuorch compare BASE NEW`: deltas per run and exit code 1 when something got worse."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from orchestrator.cli.console import stderr, stdout
from orchestrator.paths import home_paths


def compare(
    base: Annotated[str, typer.Argument(help="report.json, session folder or session id (prefix, 'latest')")],
    new: Annotated[str, typer.Argument(help="the same for the result to judge")],
    metric: Annotated[list[str], typer.Option("--metric", help="column to compare (repeat; default: "
                                                               "instructions, ROM, RAM, stack)")] = [],  # noqa: B006
    threshold: Annotated[list[str], typer.Option("--threshold", help="allowed increase: 1% or an absolute "
                                                                     "amount; one for all or one per --metric "
                                                                     "(default 1%)")] = [],  # noqa: B006
    ignore_config: Annotated[list[str], typer.Option("--ignore-config", help="config key left out when "
                                                                             "matching runs (repeat)")] = [],  # noqa: B006
    markdown_file: Annotated[Path | None, typer.Option("--markdown", help="write the diff as Markdown")] = None,
    json_file: Annotated[Path | None, typer.Option("--json", help="write the diff as JSON")] = None,
    everything: Annotated[bool, typer.Option("--all", help="list unchanged metrics too")] = False,
) -> None:
    """Compare two results run by run; exit 1 when a threshold is exceeded or a run stops validating."""
    from rich import box
    from rich.table import Table
    from rich.text import Text

    from orchestrator.compare import HEADERS, compare as compare_sides, load_side, markdown, table_rows
    from orchestrator.session import SessionStore

    sessions = SessionStore(home_paths().sessions)
    comparison = compare_sides(load_side(base, sessions), load_side(new, sessions), metric, threshold, ignore_config)
    rows = table_rows(comparison, everything)
    if rows:
        table = Table(box=box.SIMPLE_HEAD, pad_edge=False, show_edge=False)
        for header in HEADERS:
            table.add_column(header, justify="right" if header in ("Base", "New", "Δ", "Δ %") else "left",
                             no_wrap=True)
        for row in rows:
            table.add_row(*(Text(cell) for cell in row))
        stdout.print(table)
    for path, text in ((markdown_file, markdown(comparison, everything)),
                       (json_file, comparison.model_dump_json(indent=2) + "\n")):
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
    for run in comparison.regressions:
        stderr.print(f"regression: {run.label}: {'; '.join(run.problems)}", highlight=False, markup=False)
    stderr.print(comparison.summary(), highlight=False, markup=False)
    if comparison.regressions:
        raise typer.Exit(1)
