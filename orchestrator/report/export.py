"""Report exports: CSV, Excel (openpyxl), Markdown (tabulate) and JSON."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd

FORMATS = ("csv", "xlsx", "md", "json")


def _flat(df: pd.DataFrame) -> pd.DataFrame:
    """Lists and dicts (Features, Config) as compact JSON text for tabular formats."""
    def cell(value: Any) -> Any:
        return json.dumps(value, sort_keys=True) if isinstance(value, (list, dict)) else value
    return df.apply(lambda column: column.map(cell)) if len(df) else df


def write_report(df: pd.DataFrame, path: Path) -> Path:
    """Write one format chosen by the file suffix."""
    path.parent.mkdir(parents=True, exist_ok=True)
    suffix = path.suffix.lstrip(".")
    if suffix == "csv":
        _flat(df).to_csv(path, index=False)
    elif suffix == "xlsx":
        _flat(df).to_excel(path, index=False, sheet_name="report")
    elif suffix == "md":
        path.write_text(_flat(df).to_markdown(index=False) + "\n")
    elif suffix == "json":
        path.write_text(df.to_json(orient="records", indent=2, default_handler=str) + "\n")
    else:
        raise ValueError(f"unknown report format {suffix!r}; choose from: {', '.join(FORMATS)}")
    return path


def export_report(df: pd.DataFrame, base: Path, formats: tuple[str, ...] = FORMATS) -> list[Path]:
    """Write `base.<fmt>` for every format; returns the files written."""
    return [write_report(df, base.with_name(f"{base.name}.{fmt}")) for fmt in formats]


def read_report(path: Path) -> pd.DataFrame:
    """Read a JSON report back (round-trip helper for comparisons and tests)."""
    return pd.read_json(path, orient="records")
