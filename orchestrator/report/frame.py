"""Build the report DataFrame with MLonMCU's column names and order.

Identity columns first, then metrics — MLonMCU's well-known ones in its order, any other
metric after them in the order it first appears — then the trailing
columns (`Features`, `Config`, `Postprocesses`, `Comment`, `Failing`, `Reason`,
`Incomplete`), then the image each stage ran in. A metric a run did not produce stays NaN.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import pandas as pd

from orchestrator.components.base import Stage
from orchestrator.results import RunResult

IDENTITY = ["Session", "Run", "Model", "Frontend", "Framework", "Backend", "Platform", "Target"]
TRAILING = ["Features", "Config", "Postprocesses", "Comment", "Failing", "Reason", "Incomplete"]
IMAGE_COLUMNS = [f"{stage.value} Image" for stage in Stage.jobs()]
KNOWN_METRICS = [
    "Total Cycles", "Total Instructions", "Total CPI", "Setup Cycles", "Setup Instructions",
    "Run Cycles", "Run Instructions", "Top Kernel", "Top Kernel Share [%]", "Total Runtime [s]",
    "Setup Runtime [s]", "Run Runtime [s]",
    "Inferences", "Validation", "Validation Mode", "Validation Tolerance", "Validation Mismatches",
    "Validation Max Diff",
    "Validation Argmax Mismatches", "Total ROM", "Total RAM", "ROM read-only", "ROM code", "ROM misc",
    "RAM data", "RAM zero-init data", "RAM stack", "RAM heap", "Arena Touched", "Run RAM stack",
    "Run RAM heap", "Run Arena Touched", "ROM golden",
    "ROM weights", "ROM kernels", "ROM runtime", "ROM libc", "ROM harness", "ROM other",
]


def _row(session: str, result: RunResult, postprocesses: list[str], comment: str,
         pins: dict[str, str]) -> dict[str, Any]:
    run = result.run
    row: dict[str, Any] = {
        "Session": session, "Run": run.index, "Model": run.model.name, "Frontend": run.frontend,
        "Framework": run.framework, "Backend": run.backend, "Platform": run.platform, "Target": run.target,
    }
    row.update(result.metrics)
    row.update({
        "Features": list(run.features), "Config": {**run.config, **pins}, "Postprocesses": list(postprocesses),
        "Comment": comment, "Failing": result.failing, "Reason": result.reason, "Incomplete": result.incomplete,
    })
    for stage, outcome in result.outcomes.items():
        row[f"{stage.value} Image"] = f"{outcome.image.name}:{outcome.image.tag}"
    return row


def build_report(session: str, results: Iterable[RunResult], postprocesses: list[str] | None = None,
                 comment: str = "", pins: dict[int, dict[str, str]] | None = None) -> pd.DataFrame:
    """`pins` (run index → source pins of its images) joins each run's `Config`."""
    return report_frame(report_rows(session, results, postprocesses, comment, pins))


def report_rows(session: str, results: Iterable[RunResult], postprocesses: list[str] | None = None,
                comment: str = "", pins: dict[int, dict[str, str]] | None = None) -> list[dict[str, Any]]:
    """One row per run, before any postprocess: what a shard keeps so a merge can rebuild."""
    return [_row(session, r, postprocesses or [], comment, (pins or {}).get(r.run.index, {})) for r in results]


def report_frame(rows: list[dict[str, Any]]) -> pd.DataFrame:
    """The report of `rows` (from `report_rows`, possibly of several shards, in run order)."""
    metric_columns = list(KNOWN_METRICS)
    fixed = set(IDENTITY) | set(TRAILING) | set(IMAGE_COLUMNS)
    for row in rows:
        metric_columns += [c for c in row if c not in fixed and c not in metric_columns]
    columns = IDENTITY + metric_columns + TRAILING + IMAGE_COLUMNS
    df = pd.DataFrame(rows, columns=columns)
    return df[[c for c in columns if c in IDENTITY or c in TRAILING or df[c].notna().any()]]
