"""`mcuorch plot SESSION --metric M --by COLS -o FILE`: a bar chart of one report metric."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from orchestrator.cli.console import stdout
from orchestrator.errors import UserError
from orchestrator.paths import home_paths
from orchestrator.report.charts import CHART_FORMATS, DEFAULT_BY, write_chart
from orchestrator.report.export import read_report
from orchestrator.session import SessionStore

REPORT_FILE = "report.json"


def plot(
    session: Annotated[str, typer.Argument(help="session id (prefix) or 'latest'")] = "latest",
    metric: Annotated[str, typer.Option("--metric", "-m", help="report column to plot")] = "Run Instructions",
    by: Annotated[str, typer.Option("--by", help="comma-separated columns that tell the bars apart")] = ",".join(DEFAULT_BY),
    output: Annotated[Path | None, typer.Option("-o", "--output", help="PNG or SVG file to write")] = None,
) -> None:
    """Bar chart of one metric per model, one bar per backend/target/feature combination."""
    store = SessionStore(home_paths().sessions)
    record = store.load(session)
    report = store.path(record.id) / REPORT_FILE
    if not report.is_file():
        raise UserError(f"session {record.id} has no report (it did not finish)")
    target = output or Path(f"{record.id}-{metric.replace(' ', '_').replace('/', '_')}.png")
    if target.suffix.lstrip(".").lower() not in CHART_FORMATS:
        raise UserError(f"cannot write {target.name}: the chart format must be one of {', '.join(CHART_FORMATS)}")
    columns = [c.strip() for c in by.split(",") if c.strip()]
    write_chart(read_report(report), metric, target, columns)
    stdout.print(f"wrote {target}", highlight=False, markup=False)
