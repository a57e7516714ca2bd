"""The compact table printed at the end of a run."""

from __future__ import annotations

import math
from typing import Any

import pandas as pd
from rich import box
from rich.console import Console
from rich.table import Table

HIDDEN = {"Session", "Frontend", "Framework", "Platform", "Config", "Postprocesses", "Comment"}


def _cell(value: Any) -> str:
    if isinstance(value, float):
        if math.isnan(value):
            return ""
        return str(int(value)) if value.is_integer() and abs(value) < 1e15 else f"{value:.6g}"
    if isinstance(value, (list, tuple)):
        return ",".join(map(str, value))
    if value is None:
        return ""
    return str(value)


def report_table(df: pd.DataFrame) -> Table:
    """A compact rich table: bookkeeping columns and image tags left out."""
    columns = [c for c in df.columns if c not in HIDDEN and not c.endswith(" Image")]
    if "Features" in columns and not any(len(f or []) for f in df["Features"]):
        columns.remove("Features")
    if "Failing" in columns and not df["Failing"].any():
        columns = [c for c in columns if c not in ("Failing", "Reason")]
    if "Incomplete" in columns and not df["Incomplete"].any():
        columns.remove("Incomplete")
    table = Table(box=box.SIMPLE_HEAD, pad_edge=False, show_edge=False)
    for column in columns:
        numeric = pd.api.types.is_numeric_dtype(df[column])
        table.add_column(column, overflow="fold", justify="right" if numeric else "left")
    for _, row in df.iterrows():
        table.add_row(*(_cell(row[c]) for c in columns))
    return table


def print_report(df: pd.DataFrame, console: Console) -> None:
    console.print(report_table(df))
