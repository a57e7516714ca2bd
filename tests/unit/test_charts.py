"""Charts and the HTML report from a report frame (rendering only; the browser test is in
tests/integration/test_html_report.py)."""

from __future__ import annotations

import pandas as pd
import pytest

from orchestrator.errors import UserError
from orchestrator.report.charts import chart_columns, render_chart
from orchestrator.report.html import chart_metrics, render_html


def frame() -> pd.DataFrame:
    rows = []
    for model, scale in (("sine_model", 1.0), ("aww", 6000.0)):
        for target in ("riscv_qemu", "mps2_an386"):
            rows.append({"Run": len(rows), "Model": model, "Backend": "tvmaot", "Target": target,
                         "Features": [], "Run Instructions": 1700 * scale, "Total ROM": 7000 * scale ** 0.3,
                         "RAM stack": float("nan"), "Validation": True})
    return pd.DataFrame(rows)


def test_constant_columns_do_not_split_the_bars() -> None:
    assert chart_columns(frame(), ["Backend", "Target", "Features"]) == ["Target"]


def test_svg_and_png_charts_render_with_a_log_axis_for_wide_ranges() -> None:
    svg = render_chart(frame(), "Run Instructions", fmt="svg").decode()
    assert svg.lstrip().startswith("<?xml") and "riscv_qemu" in svg and "10.2M" in svg
    assert "10^{6}" in svg or "10^6" in svg or "log" in svg.lower()
    png = render_chart(frame(), "Total ROM", fmt="png")
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 5000


def test_unknown_metric_or_column_is_one_user_error() -> None:
    with pytest.raises(UserError, match="no numeric column 'Nope'.*Run Instructions"):
        render_chart(frame(), "Nope")
    with pytest.raises(UserError, match="no column 'Board'"):
        render_chart(frame(), "Run Instructions", by=["Board"])
    with pytest.raises(UserError, match="no numeric column 'Validation'"):
        render_chart(frame(), "Validation")


def test_html_has_the_table_and_one_figure_per_metric_with_values() -> None:
    df = frame()
    assert chart_metrics(df) == ["Run Instructions", "Total ROM"]  # RAM stack has no value
    page = render_html(df, "session x")
    assert page.startswith("<!DOCTYPE html>") and page.count("<figure") == 2 and page.count("<tr>") == 5
    # Self-contained: nothing is fetched (XML namespace URIs are names, not fetches).
    assert "<script" not in page and "<link" not in page and 'src="http' not in page and 'href="http' not in page
