"""Bar charts of one report metric: one bar per run, grouped and coloured by columns.

Users compare backends, targets and features visually (e.g. `Run Instructions` of every model
per backend on each target). matplotlib's Agg backend renders without a display; the file
suffix picks PNG or SVG.
"""

from __future__ import annotations

import io
import math
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from orchestrator.errors import UserError

CHART_FORMATS = ("png", "svg")
DEFAULT_BY = ("Backend", "Target", "Features")
DEFAULT_METRICS = ("Run Instructions", "Total ROM", "Total RAM", "RAM stack")
LOG_RATIO = 100.0
"""Largest/smallest positive value above which the value axis is logarithmic."""


def _label(value: object) -> str:
    if isinstance(value, (list, tuple)):
        return "+".join(map(str, value)) or "-"
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    return str(value)


def _compact(value: float) -> str:
    if math.isnan(value):
        return ""
    for limit, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(value) >= limit:
            return f"{value / limit:.3g}{suffix}"
    return f"{value:.3g}"


def chart_columns(df: pd.DataFrame, by: Sequence[str]) -> list[str]:
    """The grouping columns that exist and tell runs apart (a constant column says nothing)."""
    return [c for c in by if c in df.columns and df[c].map(_label).nunique() > 1]


def numeric_columns(df: pd.DataFrame) -> list[str]:
    """The columns a chart can show: numbers (not flags, not the run index) with a value."""
    return [c for c in df.columns if c != "Run" and pd.api.types.is_numeric_dtype(df[c])
            and not pd.api.types.is_bool_dtype(df[c]) and df[c].notna().any()]


def check_metric(df: pd.DataFrame, metric: str, by: Sequence[str]) -> None:
    """One error line for a metric or column the report does not have."""
    numeric = numeric_columns(df)
    if metric not in df.columns or metric not in numeric:
        raise UserError(f"the report has no numeric column {metric!r}; choose from: {', '.join(numeric)}")
    unknown = [c for c in by if c not in df.columns]
    if unknown:
        raise UserError(f"the report has no column {unknown[0]!r} to group by")


def render_chart(df: pd.DataFrame, metric: str, by: Sequence[str] = DEFAULT_BY, fmt: str = "svg") -> bytes:
    """The chart as PNG or SVG bytes: models along the x axis, one bar per combination of `by`."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    if fmt not in CHART_FORMATS:
        raise UserError(f"unknown chart format {fmt!r}; choose from: {', '.join(CHART_FORMATS)}")
    check_metric(df, metric, by)
    rows = df[df[metric].notna()]
    groups = chart_columns(rows, by)
    series = rows.apply(lambda r: ", ".join(_label(r[c]) for c in groups) or metric, axis=1)
    models = list(dict.fromkeys(rows["Model"].map(_label))) if "Model" in rows.columns else [metric]
    names = list(dict.fromkeys(series))
    width = 0.8 / max(len(names), 1)
    fig, ax = plt.subplots(figsize=(max(6.0, 1.2 * len(models) * max(1, len(names)) ** 0.5 + 3), 4.2))
    for i, name in enumerate(names):
        picked = rows[series == name]
        values = [picked[picked["Model"].map(_label) == m][metric].mean() if "Model" in picked.columns
                  else picked[metric].mean() for m in models]
        positions = [x + (i - (len(names) - 1) / 2) * width for x in range(len(models))]
        bars = ax.bar(positions, [0 if math.isnan(v) else v for v in values], width, label=name)
        ax.bar_label(bars, labels=[_compact(v) for v in values], fontsize="x-small", rotation=90, padding=2)
    positive = rows[metric][rows[metric] > 0]
    if len(positive) and positive.max() / positive.min() > LOG_RATIO:
        ax.set_yscale("log")  # sine_model's 1.7k next to aww's 10M: both stay visible
    ax.margins(y=0.15)
    ax.set_xticks(range(len(models)), models)
    ax.set_ylabel(metric)
    ax.set_title(f"{metric} by {', '.join(groups)}" if groups else metric)
    ax.grid(axis="y", alpha=0.3)
    if len(names) > 1:
        ax.legend(fontsize="small", loc="upper left", bbox_to_anchor=(1.0, 1.0))
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format=fmt, metadata={"Date": None} if fmt == "svg" else None)
    plt.close(fig)
    return buffer.getvalue()


def write_chart(df: pd.DataFrame, metric: str, path: Path, by: Sequence[str] = DEFAULT_BY) -> Path:
    """`path`'s suffix (.png or .svg) chooses the format."""
    data = render_chart(df, metric, by, fmt=path.suffix.lstrip(".").lower())
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path
