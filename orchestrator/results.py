"""Per-run results derived from job outcomes: status, reason, merged metrics, images."""

from __future__ import annotations

from dataclasses import dataclass, field

from orchestrator.components.base import Metric, Stage
from orchestrator.outcome import JobOutcome, JobStatus
from orchestrator.plan import Plan
from orchestrator.runspec import RunSpec


@dataclass
class RunResult:
    run: RunSpec
    outcomes: dict[Stage, JobOutcome] = field(default_factory=dict)
    metrics: dict[str, Metric] = field(default_factory=dict)
    failing: bool = False
    incomplete: bool = False
    reason: str | None = None

    @property
    def keys(self) -> dict[str, str | None]:
        return {stage.value: o.key for stage, o in self.outcomes.items()}


def run_results(plan: Plan, outcomes: dict[str, JobOutcome]) -> list[RunResult]:
    """One result per run; a run fails on its first failed stage and is incomplete when cancelled."""
    results = []
    for run in plan.runs:
        result = RunResult(run=run)
        for stage, job in plan.run_jobs[run.index].items():
            outcome = outcomes.get(job.id)
            if outcome is None:
                result.incomplete = True
                continue
            result.outcomes[stage] = outcome
            if outcome.published is not None:
                result.metrics.update(outcome.published.metrics)
            if outcome.status is JobStatus.CANCELLED:
                result.incomplete = True
            elif not outcome.status.ok and not result.failing:
                result.failing, result.reason = True, outcome.reason
        results.append(result)
    return results
