"""`mcuorch compare BASE NEW`: what got worse between two results, run by run.

A nightly job compares tonight's report with the last one, as Zephyr's twister compares
footprints: runs are matched by identity (model, frontend, backend, platform, target,
features, config; never by run number or session), and for each metric the delta is
checked against a threshold (`1%` relative or `100` absolute; bigger is worse for every
metric compared here). A run that validated and no longer does (a `Validation` of False, or a
failure) is a regression whatever the thresholds. Runs only on one side are listed, not
judged: the matrix itself may have changed.
"""

from __future__ import annotations

import json
import math
import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import pandas as pd
from pydantic import BaseModel, Field

from orchestrator.digest import canonical_json
from orchestrator.errors import UserError
from orchestrator.report.display import cell_text
from orchestrator.session import SESSION_FILE, SessionRecord, SessionStore

DEFAULT_METRICS = ["Total Instructions", "Setup Instructions", "Run Instructions", "Total Cycles",
                   "Total ROM", "Total RAM", "RAM stack"]
"""Compared when no `--metric` is given (those that either side has)."""
DEFAULT_THRESHOLD = "1%"
IDENTITY_COLUMNS = {"model": "Model", "frontend": "Frontend", "backend": "Backend", "platform": "Platform",
                    "target": "Target", "features": "Features", "config": "Config"}
REPORT_FILE = "report.json"
_THRESHOLD = re.compile(r"^\s*(\d+(?:\.\d+)?|\.\d+)\s*(%?)\s*$")


class CompareError(UserError):
    """An input or option `compare` cannot use: one line, exit 2."""


class Threshold(BaseModel):
    """How much bigger a metric may get: `percent` of the base value, or an absolute amount."""

    text: str
    value: float = Field(ge=0)
    relative: bool

    @classmethod
    def parse(cls, text: str) -> Threshold:
        match = _THRESHOLD.match(text)
        if not match:
            raise CompareError(f"threshold {text!r} must be a non-negative number, "
                               "with % for a share of the base value (e.g. 1% or 2048)")
        return cls(text=text.strip(), value=float(match.group(1)), relative=bool(match.group(2)))

    def exceeded(self, base: float, new: float) -> bool:
        delta = new - base
        if delta <= 0:
            return False
        if not self.relative:
            return delta > self.value
        return base == 0 or delta / abs(base) * 100 > self.value


class MetricDelta(BaseModel):
    metric: str
    base: float | None
    new: float | None
    delta: float | None
    relative: float | None
    """delta / base (None when either value or the base is missing or zero)."""
    threshold: str
    regressed: bool


class RunComparison(BaseModel):
    label: str
    """Model, backend, target, features and config in one line."""
    identity: dict[str, Any]
    status: Literal["matched", "missing", "new"]
    """`missing`: only in BASE; `new`: only in NEW."""
    base_run: int | None = None
    new_run: int | None = None
    base_validation: bool | None = None
    new_validation: bool | None = None
    new_reason: str | None = None
    deltas: list[MetricDelta] = Field(default_factory=list)
    problems: list[str] = Field(default_factory=list)
    """Why this run is a regression (empty when it is not)."""

    @property
    def changed(self) -> bool:
        return any(d.delta not in (None, 0) or (d.base is None) != (d.new is None) for d in self.deltas)


class Comparison(BaseModel):
    base: str
    new: str
    metrics: list[str]
    thresholds: dict[str, str]
    ignored_config: list[str] = Field(default_factory=list)
    runs: list[RunComparison]

    @property
    def regressions(self) -> list[RunComparison]:
        return [r for r in self.runs if r.problems]

    def summary(self) -> str:
        counts = Counter(r.status for r in self.runs)
        improved = sum(any(d.delta is not None and d.delta < 0 for d in r.deltas) for r in self.runs)
        return (f"{counts['matched']} runs compared: {len(self.regressions)} regressed, {improved} improved; "
                f"{counts['missing']} only in base, {counts['new']} only in new")


@dataclass(frozen=True)
class Side:
    """One side of a comparison: report rows with the identity each run is matched by."""

    name: str
    rows: list[dict[str, Any]]
    identities: list[dict[str, Any]]


def _clean(value: Any) -> Any:
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


def _from_record(name: str, record: SessionRecord, folder: Path) -> Side:
    if record.runs and all(run.row is not None for run in record.runs):
        rows = [dict(run.row or {}) for run in record.runs]
        return Side(name=name, rows=rows, identities=[run.identity for run in record.runs])
    report = folder / REPORT_FILE  # a session from before rows were kept
    if not report.is_file():
        raise CompareError(f"{name}: session {record.id} has no {REPORT_FILE}")
    side = _from_report(name, report)
    by_index = {run.index: run.identity for run in record.runs}
    identities = [by_index.get(row.get("Run"), ident) for row, ident in zip(side.rows, side.identities)]
    return Side(name=name, rows=side.rows, identities=identities)


def _from_report(name: str, path: Path) -> Side:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise CompareError(f"{name}: {path} is not a readable JSON report: {exc}") from None
    if not isinstance(data, list) or not all(isinstance(row, dict) for row in data):
        raise CompareError(f"{name}: {path} is not a report (a JSON list of rows, as report.json is)")
    rows = [{k: _clean(v) for k, v in row.items()} for row in data]
    missing = [c for c in ("Model", "Backend", "Target") if rows and c not in rows[0]]
    if missing:
        raise CompareError(f"{name}: {path} has no {missing[0]!r} column to match runs by")
    identities = [{key: row.get(column) for key, column in IDENTITY_COLUMNS.items()} for row in rows]
    return Side(name=name, rows=rows, identities=identities)


def load_side(ref: str, sessions: SessionStore) -> Side:
    """A report file, a session folder, or a session id (prefix, 'latest') in this home."""
    path = Path(ref).expanduser()
    if path.is_file():
        beside = path.parent / SESSION_FILE
        if path.name == REPORT_FILE and beside.is_file():
            return _from_record(ref, _read_record(ref, beside), path.parent)
        return _from_report(ref, path)
    if path.is_dir():
        if (path / SESSION_FILE).is_file():
            return _from_record(ref, _read_record(ref, path / SESSION_FILE), path)
        if (path / REPORT_FILE).is_file():
            return _from_report(ref, path / REPORT_FILE)
        raise CompareError(f"{ref}: a folder without {SESSION_FILE} or {REPORT_FILE}")
    if "/" in ref or ref.endswith(".json"):
        raise CompareError(f"{ref} does not exist")
    record = sessions.load(ref)
    return _from_record(ref, record, sessions.path(record.id))


def _read_record(name: str, path: Path) -> SessionRecord:
    try:
        return SessionRecord.model_validate_json(path.read_text())
    except (OSError, ValueError) as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise CompareError(f"{name}: {path} is not a readable session record: {first}") from None


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or math.isnan(value):
        return None
    return float(value)


def _validation(row: dict[str, Any]) -> bool | None:
    value = row.get("Validation")
    return value if isinstance(value, bool) else None


def _label(identity: dict[str, Any]) -> str:
    parts = [str(identity.get(k) or "") for k in ("model", "backend", "target")]
    features = identity.get("features") or []
    if features:
        parts.append("+".join(map(str, features)))
    config = identity.get("config") or {}
    if isinstance(config, dict) and config:
        parts.append(",".join(f"{k}={v}" for k, v in sorted(config.items())))
    return " ".join(p for p in parts if p)


def _keyed(side: Side, ignored: set[str]) -> dict[str, tuple[dict[str, Any], dict[str, Any]]]:
    """Identity key → (identity, row); equal identities are told apart by their order."""
    out: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {}
    seen: Counter[str] = Counter()
    for identity, row in zip(side.identities, side.rows):
        config = identity.get("config") or {}
        if isinstance(config, dict):
            identity = {**identity, "config": {k: v for k, v in config.items() if k not in ignored}}
        key = canonical_json(identity)
        seen[key] += 1
        out[f"{key}#{seen[key]}"] = (identity, row)
    return out


def thresholds_for(metrics: list[str], thresholds: list[str]) -> dict[str, Threshold]:
    """One threshold for every metric, or one per metric in the order given."""
    parsed = [Threshold.parse(t) for t in thresholds] or [Threshold.parse(DEFAULT_THRESHOLD)]
    if len(parsed) == 1:
        return {m: parsed[0] for m in metrics}
    if len(parsed) != len(metrics):
        raise CompareError(f"{len(parsed)} thresholds for {len(metrics)} metrics: give one --threshold for all, "
                           "or one after each --metric")
    return dict(zip(metrics, parsed))


def _metrics(base: Side, new: Side, asked: list[str]) -> list[str]:
    present = {c for side in (base, new) for row in side.rows for c, v in row.items() if _number(v) is not None}
    if not asked:
        return [m for m in DEFAULT_METRICS if m in present]
    unknown = [m for m in asked if m not in present]
    if unknown:
        choices = ", ".join(sorted(present - {"Run"})) or "none"
        raise CompareError(f"neither report has a numeric column {unknown[0]!r}; choose from: {choices}")
    return list(dict.fromkeys(asked))


def _matched(label: str, identity: dict[str, Any], base: dict[str, Any], new: dict[str, Any],
             thresholds: dict[str, Threshold]) -> RunComparison:
    result = RunComparison(label=label, identity=identity, status="matched", base_run=base.get("Run"),
                           new_run=new.get("Run"), base_validation=_validation(base),
                           new_validation=_validation(new), new_reason=new.get("Reason"))
    for metric, threshold in thresholds.items():
        a, b = _number(base.get(metric)), _number(new.get(metric))
        delta = None if a is None or b is None else b - a
        regressed = a is not None and b is not None and threshold.exceeded(a, b)
        result.deltas.append(MetricDelta(metric=metric, base=a, new=b, delta=delta,
                                         relative=delta / abs(a) if delta is not None and a else None,
                                         threshold=threshold.text, regressed=regressed))
        if regressed:
            result.problems.append(f"{metric} {cell_text(a)} → {cell_text(b)} exceeds {threshold.text}")
    if result.base_validation is True and result.new_validation is not True:
        why = "fails: " + str(new.get("Reason")) if new.get("Failing") else f"Validation {result.new_validation}"
        result.problems.append(f"stopped validating ({why})")
    elif not base.get("Failing") and new.get("Failing"):
        result.problems.append(f"now failing: {new.get('Reason')}")
    return result


def compare(base: Side, new: Side, metrics: list[str] | None = None, thresholds: list[str] | None = None,
            ignore_config: list[str] | None = None) -> Comparison:
    chosen = _metrics(base, new, metrics or [])
    limits = thresholds_for(chosen, thresholds or [])
    ignored = set(ignore_config or [])
    left, right = _keyed(base, ignored), _keyed(new, ignored)
    runs: list[RunComparison] = []
    for key, (identity, row) in left.items():
        if key in right:
            runs.append(_matched(_label(identity), identity, row, right[key][1], limits))
        else:
            runs.append(RunComparison(label=_label(identity), identity=identity, status="missing",
                                      base_run=row.get("Run"), base_validation=_validation(row)))
    for key, (identity, row) in right.items():
        if key not in left:
            runs.append(RunComparison(label=_label(identity), identity=identity, status="new", new_run=row.get("Run"),
                                      new_validation=_validation(row)))
    return Comparison(base=base.name, new=new.name, metrics=chosen, thresholds={m: t.text for m, t in limits.items()},
                      ignored_config=sorted(ignored), runs=runs)


def _percent(delta: MetricDelta) -> str:
    return "" if delta.relative is None else f"{delta.relative * 100:+.2f}%"


def _delta_text(delta: MetricDelta) -> str:
    return "" if delta.delta is None else ("+" if delta.delta > 0 else "") + cell_text(delta.delta)


def table_rows(comparison: Comparison, everything: bool = False) -> list[list[str]]:
    """[run, metric, base, new, delta, delta %, verdict] for every change (or every metric)."""
    rows = []
    for run in comparison.runs:
        if run.status != "matched":
            rows.append([run.label, "", "", "", "", "", "only in base" if run.status == "missing" else "only in new"])
            continue
        for delta in run.deltas:
            if everything or delta.delta not in (None, 0) or (delta.base is None) != (delta.new is None):
                verdict = "REGRESSION" if delta.regressed else "improved" if (delta.delta or 0) < 0 else ""
                rows.append([run.label, delta.metric, cell_text(delta.base), cell_text(delta.new), _delta_text(delta),
                             _percent(delta), verdict])
        lost = next((p for p in run.problems if p.startswith(("stopped", "now failing"))), None)
        if lost is not None or run.base_validation != run.new_validation:
            verdict = f"REGRESSION: {lost}" if lost else "improved" if run.new_validation else ""
            rows.append([run.label, "Validation", cell_text(run.base_validation), cell_text(run.new_validation),
                         "", "", verdict])
    return rows


HEADERS = ["Run", "Metric", "Base", "New", "Δ", "Δ %", "Verdict"]


def markdown(comparison: Comparison, everything: bool = False) -> str:
    """A GitHub-flavoured Markdown summary (for a CI job summary or a pull request)."""
    lines = [f"### mcuorch compare: {comparison.summary()}", "",
             f"Base `{comparison.base}`, new `{comparison.new}`; thresholds: "
             + ", ".join(f"{m} {t}" for m, t in comparison.thresholds.items()), ""]
    for run in comparison.regressions:
        lines.append(f"- **{run.label}**: " + "; ".join(run.problems))
    rows = table_rows(comparison, everything)
    if comparison.regressions:
        lines.append("")
    if rows:
        lines += ["| " + " | ".join(HEADERS) + " |", "|" + "|".join(["---"] * len(HEADERS)) + "|"]
        lines += ["| " + " | ".join(cell.replace("|", "\\|") for cell in row) + " |" for row in rows]
    else:
        lines.append("No metric changed.")
    return "\n".join(lines) + "\n"


def as_frame(comparison: Comparison, everything: bool = False) -> pd.DataFrame:
    return pd.DataFrame(table_rows(comparison, everything), columns=HEADERS)
