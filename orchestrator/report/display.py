"""The table printed at the end of a run.

A benchmark report has 40+ columns; printed whole it folds into an unreadable wall on any
terminal. The summary keeps the columns people compare runs by (identity, instructions, memory,
validation, trouble); every column stays in the saved files. When the user shaped the report
with postprocesses (e.g. `filter_cols`), their shape is printed as it is.
"""

from __future__ import annotations

import math
from typing import Any

import pandas as pd
from rich import box
from rich.console import Console
from rich.table import Table

SUMMARY = [
    "Run", "Model", "Backend", "Target", "Features", "Total Instructions", "Setup Instructions",
    "Run Instructions", "Top Kernel", "Top Kernel Share [%]", "Total Cycles", "Run Runtime [s]",
    "Total ROM", "Total RAM", "RAM stack",
    "Validation", "Validation Mismatches", "Validation Max Diff", "Failing", "Reason", "Incomplete",
]
OPTIONAL_WHEN_EMPTY = {"Features", "Failing", "Reason", "Incomplete", "Top Kernel", "Top Kernel Share [%]"}
HEADERS = {
    "Total Instructions": "Total Instr", "Setup Instructions": "Setup Instr",
    "Run Instructions": "Run Instr", "Run Runtime [s]": "Runtime [s]",
    "Validation Mismatches": "Mismatches", "Validation Max Diff": "Max Diff",
    "Top Kernel Share [%]": "Top Share [%]",
}
"""Terminal headers of long column names: several `... Instructions` headers side by side
wrapped into a line of `Instructions Instructions`. The saved files keep the full names."""
SHRINKABLE = {"Reason", "Features", "Incomplete"}
TEXT_WIDTH = 48
"""Longest text cell printed; a long `Reason` is cut with an ellipsis (the files keep it whole)."""


def cell_text(value: Any) -> str:
    if isinstance(value, float):
        if math.isnan(value):
            return ""
        if value.is_integer() and abs(value) < 1e15:
            return str(int(value))
        return f"{value:.1f}" if abs(value) >= 1000 else f"{value:.6g}"
    if isinstance(value, (list, tuple)):
        return ",".join(map(str, value))
    if value is None:
        return ""
    return str(value)


def _is_empty(series: pd.Series) -> bool:
    return not any(bool(v) and not (isinstance(v, float) and math.isnan(v)) for v in series)


def summary_columns(df: pd.DataFrame) -> list[str]:
    """The summary columns present in `df`, without bookkeeping columns that say nothing."""
    return [c for c in SUMMARY if c in df.columns and not (c in OPTIONAL_WHEN_EMPTY and _is_empty(df[c]))]


def report_table(df: pd.DataFrame, shaped: bool = False, width: int | None = None) -> Table:
    """A rich table of the summary columns, or of every column when the report was `shaped`.

    One line per row: names and figures print whole, free text (a failure's Reason) is cut
    with an ellipsis to what is left of `width` (the terminal's) and to TEXT_WIDTH.
    """
    columns = list(df.columns) if shaped else summary_columns(df)
    table = Table(box=box.SIMPLE_HEAD, pad_edge=False, show_edge=False)
    cells = [[cell_text(row[c]) for c in columns] for _, row in df.iterrows()]
    headers = [column if shaped else HEADERS.get(column, column) for column in columns]
    widths = [max([len(h), *(len(_first_line(r[i])) for r in cells)]) for i, h in enumerate(headers)]
    free = [c in SHRINKABLE for c in columns]
    text_width = TEXT_WIDTH
    if width is not None and any(free):
        fixed = sum(w for w, f in zip(widths, free) if not f) + 3 * (len(columns) - 1)
        text_width = max(12, min(TEXT_WIDTH, (width - fixed) // sum(free)))
    for column, header, full, is_free in zip(columns, headers, widths, free):
        numeric = pd.api.types.is_numeric_dtype(df[column])
        table.add_column(header, justify="right" if numeric else "left", no_wrap=True,
                         min_width=None if is_free else full)
    for row in cells:
        table.add_row(*(_shorten(text, text_width) if is_free else _first_line(text)
                        for text, is_free in zip(row, free)))
    return table


def _first_line(text: str) -> str:
    return text.splitlines()[0] if text else ""


def _shorten(text: str, width: int) -> str:
    """The first line of a message, cut to `width` with an ellipsis when anything is left out."""
    line = _first_line(text)
    if len(line) > width or line != text:
        return line[: width - 1].rstrip() + "…"
    return line


def print_report(df: pd.DataFrame, console: Console, shaped: bool = False) -> None:
    console.print(report_table(df, shaped=shaped, width=console.width))


def summary_markdown(df: pd.DataFrame, shaped: bool = False) -> str:
    """The printed summary as a Markdown table (a CI job summary), every cell on one line."""
    columns = list(df.columns) if shaped else summary_columns(df)
    lines = ["| " + " | ".join(columns) + " |", "|" + "|".join("---:" if pd.api.types.is_numeric_dtype(df[c])
                                                                else "---" for c in columns) + "|"]
    for _, row in df.iterrows():
        cells = [_first_line(cell_text(row[c])).replace("|", "\\|") for c in columns]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"
