"""The HTML report of a session: the summary table and a bar chart per metric, in one file.

Self-contained (charts are inline SVG, no scripts, no network), so it opens from a CI artifact
or a mail attachment as well as from the session folder.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from orchestrator.report.charts import (
    DEFAULT_BY,
    DEFAULT_METRICS,
    numeric_columns,
    render_chart,
)
from orchestrator.report.display import cell_text, summary_columns

STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em; color: #222; }
table { border-collapse: collapse; font-size: 0.9em; }
th, td { padding: 0.3em 0.7em; border-bottom: 1px solid #ddd; text-align: right; }
th { background: #f4f4f4; position: sticky; top: 0; }
td.text, th.text { text-align: left; }
td.bad { color: #b00020; }
figure { margin: 2em 0; }
"""


def _table(df: pd.DataFrame, columns: Sequence[str]) -> str:
    head = "".join(f'<th class="{"" if pd.api.types.is_numeric_dtype(df[c]) else "text"}">{html.escape(c)}</th>'
                   for c in columns)
    body = []
    for _, row in df.iterrows():
        cells = []
        for c in columns:
            text = cell_text(row[c])
            cls = "" if pd.api.types.is_numeric_dtype(df[c]) else "text"
            if c == "Validation" and text == "False" or c == "Failing" and text == "True":
                cls += " bad"
            cells.append(f'<td class="{cls.strip()}">{html.escape(text)}</td>')
        body.append("<tr>" + "".join(cells) + "</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def chart_metrics(df: pd.DataFrame, metrics: Sequence[str] = DEFAULT_METRICS) -> list[str]:
    """The metrics of `metrics` the report has with at least one value."""
    numeric = numeric_columns(df)
    return [m for m in metrics if m in numeric]


def render_html(df: pd.DataFrame, title: str, metrics: Sequence[str] = DEFAULT_METRICS,
                by: Sequence[str] = DEFAULT_BY) -> str:
    figures = []
    for metric in chart_metrics(df, metrics):
        svg = render_chart(df, metric, by, fmt="svg").decode("utf-8")
        svg = svg[svg.index("<svg"):]  # drop the XML prolog and doctype inside HTML
        figures.append(f'<figure id="{html.escape(metric)}">{svg}'
                       f"<figcaption>{html.escape(metric)}</figcaption></figure>")
    return (f"<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<title>{html.escape(title)}</title><style>{STYLE}</style></head><body>"
            f"<h1>{html.escape(title)}</h1>{_table(df, summary_columns(df))}{''.join(figures)}"
            f"<p>Every column is in the CSV, Excel, Markdown and JSON files beside this page.</p>"
            f"</body></html>\n")


def write_html_reports(df: pd.DataFrame, paths: Sequence[Path], title: str) -> list[Path]:
    """The same page at every path (session folder, results folder); rendered once."""
    page = render_html(df, title)
    for path in paths:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(page, encoding="utf-8")
    return list(paths)
