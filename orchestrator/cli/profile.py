"""`mcuorch profile [RUN|SESSION]`: the per-layer instruction table of profiled runs (`-f
profile`) and a bar chart of their top layers (PNG and SVG)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich import box
from rich.table import Table

from orchestrator.cli.console import stdout
from orchestrator.paths import home_paths
from orchestrator.profile.chart import render_profile_chart
from orchestrator.profile.resolve import ProfiledRun, profiled_runs
from orchestrator.profile.summary import ProfileSummary, load_summary
from orchestrator.profile.table import instructions_text, profile_rows
from orchestrator.session import SessionStore
from orchestrator.store import JobStore

COLUMNS = (("Layer", "left"), ("Op", "left"), ("MACs", "right"), ("Instructions", "right"),
           ("Instr/MAC", "right"), ("Share [%]", "right"))


def profile_table(summary: ProfileSummary) -> Table:
    """Layers in call order, then glue and the Run total."""
    table = Table(box=box.SIMPLE_HEAD, pad_edge=False, show_edge=False)
    for header, justify in COLUMNS:
        table.add_column(header, justify=justify, no_wrap=True)  # type: ignore[arg-type]
    for row in profile_rows(summary):
        table.add_row(row.layer, row.op, "" if row.macs is None else str(row.macs),
                      instructions_text(row.instructions), "" if row.per_mac is None else f"{row.per_mac:.2f}",
                      f"{row.share:.1f}")
    table.add_row("Run Instructions", "", "", instructions_text(summary.per_inference(summary.run_instructions)),
                  "", "100.0")
    return table


def _charts(run: ProfiledRun, summary: ProfileSummary, out: Path, top: int) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for fmt in ("png", "svg"):
        path = out / f"{run.stem}.{fmt}"
        title = f"Top kernels, instructions per inference\n{run.label}"
        path.write_bytes(render_profile_chart(summary, title, fmt, top))
        written.append(path)
    return written


def profile(
    ref: Annotated[str | None, typer.Argument(help="run index (of -s or the latest session), session id, "
                                                   "RUN job key (prefix) or a RUN job folder; default: every "
                                                   "profiled run of the latest session")] = None,
    session: Annotated[str | None, typer.Option("-s", "--session",
                                                help="session id (prefix) or 'latest' (for a run index)")] = None,
    output: Annotated[Path, typer.Option("-o", "--output", help="folder for the charts")] = Path("."),
    top: Annotated[int, typer.Option("-n", "--top", min=1, help="layers in the chart")] = 10,
    no_chart: Annotated[bool, typer.Option("--no-chart", help="print the table only")] = False,
) -> None:
    """Per-layer instructions of profiled runs (-f profile), and a chart of the top layers."""
    home = home_paths()
    for run in profiled_runs(ref, session, SessionStore(home.sessions), JobStore(home.jobs)):
        summary = load_summary(run.folder / "profile_summary.json")
        stdout.print(f"{run.label}: {summary.inferences} inference(s), per inference; trace "
                     f"{run.folder / 'profile.json'}", highlight=False, markup=False)
        stdout.print(profile_table(summary))
        if summary.inlined:
            stdout.print(f"inlined by the compiler, counted in glue: {', '.join(summary.inlined)}",
                         highlight=False, markup=False)
        if not no_chart:
            paths = _charts(run, summary, output, top)
            stdout.print("wrote " + ", ".join(map(str, paths)), highlight=False, markup=False)
