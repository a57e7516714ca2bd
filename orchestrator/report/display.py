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
    "Run Instructions", "Total Cycles", "Run Runtime [s]", "Total ROM", "Total RAM", "RAM stack",
    "Validation", "Validation Mismatches", "Validation Max Diff", "Failing", "Reason", "Incomplete",
]
OPTIONAL_WHEN_EMPTY = {"Features", "Failing", "Reason", "Incomplete"}


def _cell(value: Any) -> str:
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


def report_table(df: pd.DataFrame, shaped: bool = False) -> Table:
    """A rich table of the summary columns, or of every column when the report was `shaped`."""
    columns = list(df.columns) if shaped else summary_columns(df)
    table = Table(box=box.SIMPLE_HEAD, pad_edge=False, show_edge=False)
    for column in columns:
        numeric = pd.api.types.is_numeric_dtype(df[column])
        table.add_column(column, overflow="fold", justify="right" if numeric else "left")
    for _, row in df.iterrows():
        table.add_row(*(_cell(row[c]) for c in columns))
    return table


def print_report(df: pd.DataFrame, console: Console, shaped: bool = False) -> None:
    console.print(report_table(df, shaped=shaped))
