"""Shards: a deterministic share of a session's runs for one of N machines (`--shard K/N`).

Many CI runners split one nightly matrix. Every runner expands the same command into the same
runs, so each can pick its own share without talking to the others: whole runs (a run's
stages stay together), balanced by an expected cost that the plan knows before anything runs
(the model's MACs, its golden vectors, the target's simulator) and aware of the jobs runs
share (runs on one BUILD stay in one shard while that keeps the shards even, so the BUILD
runs once). Only
names, model definitions and the plan's job grouping enter the split, never timings or the
machine, so every machine computes the same assignment.

A shard session records a fingerprint of what it ran (command, runs, environment, images) so
that `mcuorch merge` can refuse pieces of different sessions.
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, model_validator

from orchestrator.components.base import Stage
from orchestrator.digest import canonical_json, sha256_text
from orchestrator.environment import Environment
from orchestrator.errors import ConfigError
from orchestrator.plan import Plan
from orchestrator.runspec import RunSpec

_SHARD = re.compile(r"^\s*(\d+)\s*/\s*(\d+)\s*$")

STAGE_SECONDS = {Stage.LOAD: 2.0, Stage.BUILD: 8.0, Stage.COMPILE: 6.0, Stage.RUN: 1.0}
"""Fixed part of a job's expected cost (rough seconds on a 2-core runner)."""
BUILD_SECONDS_PER_MMAC = 1.0
"""Code generation grows with the model."""
RUN_SECONDS_PER_MMAC = {
    "host_x86": 0.001,
    "riscv_qemu": 0.02, "mps3_an547": 0.02, "mps2_an386": 0.02, "mps2_an385": 0.02,
    "etiss": 0.1, "etiss_pulpino": 0.1, "spike": 0.2, "corstone300": 0.3,
}
"""Seconds per million MACs and inference on each target: a relative order (native host ≪
QEMU < ETISS's JIT < Spike < a cycle model), not a measurement. A target that is not listed
(a plugin's) may declare `shard_seconds_per_mmac`; otherwise it counts as DEFAULT_RUN_RATE."""
DEFAULT_RUN_RATE = 0.1
DEFAULT_MMACS = 1.0
"""A model without a definition (a bare .tflite) counts as one million MACs."""


class ShardSpec(BaseModel):
    """`K/N`: the K-th of N shares (1-based, as CI matrices count)."""

    model_config = ConfigDict(frozen=True)

    index: int = Field(ge=1)
    count: int = Field(ge=1)

    @model_validator(mode="after")
    def _in_range(self) -> ShardSpec:
        if self.index > self.count:
            raise ValueError(f"shard {self.index} of {self.count} does not exist")
        return self

    @classmethod
    def parse(cls, text: str) -> ShardSpec:
        """`--shard 2/4` → ShardSpec(2, 4); anything else is one ConfigError line."""
        match = _SHARD.match(text)
        if not match or not 1 <= int(match.group(1)) <= int(match.group(2)):
            raise ConfigError(f"--shard {text!r} must be K/N with 1 <= K <= N, e.g. --shard 1/4")
        return cls(index=int(match.group(1)), count=int(match.group(2)))

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"


class ShardFingerprint(BaseModel):
    """What must be equal for shards to belong to one session (each part a digest, so the
    message can say which part differs)."""

    command: str
    """The request (models, components, features, config, postprocesses), --until, runtime
    and comment."""
    runs: str
    """The expanded runs and their inputs (model files, target software, config)."""
    environment: str
    """The rendered environment (name and content)."""
    environment_name: str
    images: dict[str, str]
    """Image name → identity (the content tag) of every image the whole matrix needs."""


class ShardRecord(BaseModel):
    """The shard a session ran (session.json `shard`)."""

    index: int
    count: int
    runs: list[int]
    """Indices of this shard's runs in the whole matrix."""
    total_runs: int
    fingerprint: ShardFingerprint

    @property
    def spec(self) -> ShardSpec:
        return ShardSpec(index=self.index, count=self.count)


@lru_cache(maxsize=256)
def _definition_figures(path: Path | None) -> tuple[float, int]:
    """(million MACs, golden vectors) from a model's definition.yml; defaults when unknown."""
    if path is None:
        return DEFAULT_MMACS, 1
    try:
        data = yaml.safe_load(path.read_text()) or {}
    except (OSError, yaml.YAMLError):
        return DEFAULT_MMACS, 1
    metrics = data.get("metrics") if isinstance(data, dict) else None
    golden = data.get("golden") if isinstance(data, dict) else None
    macs = metrics.get("macs") if isinstance(metrics, dict) else None
    vectors = golden.get("num_vectors") if isinstance(golden, dict) else None
    mmacs = macs / 1e6 if isinstance(macs, (int, float)) and macs > 0 else DEFAULT_MMACS
    return mmacs, vectors if isinstance(vectors, int) and vectors > 0 else 1


def run_rate(run: RunSpec) -> float:
    """Expected RUN seconds per million MACs and inference on the run's target."""
    declared = getattr(run.target_component, "shard_seconds_per_mmac", None)
    if isinstance(declared, (int, float)) and declared >= 0:
        return float(declared)
    return RUN_SECONDS_PER_MMAC.get(run.target, DEFAULT_RUN_RATE)


def job_cost(stage: Stage, run: RunSpec) -> float:
    """Expected cost of one stage job of `run` (rough seconds)."""
    mmacs, vectors = _definition_figures(run.model.definition)
    cost = STAGE_SECONDS[stage]
    if stage is Stage.BUILD:
        cost += BUILD_SECONDS_PER_MMAC * mmacs
    elif stage is Stage.RUN:
        cost += run_rate(run) * mmacs * (vectors + 1)  # setup + one inference per golden vector
    return cost


def assign_shards(plan: Plan, count: int) -> dict[int, int]:
    """Run index → shard (1-based), the same for the same plan on every machine.

    Runs that share a BUILD job stay together while their group is no larger than a fair
    share (the matrix's total cost / `count`); a larger group is split into its runs. Then
    largest-first: each group goes to the shard whose total would be the smallest with it,
    a job the shard already has (a shared LOAD) counting as free. Ties go to the lower run
    index and shard number.
    """
    # Whole milliseconds: integer sums are exact in any order. Float sums over sets (whose order
    # follows the per-process string hash seed) differed in the last bits between machines and
    # flipped near-ties, so two shards could both take one run and leave another to nobody.
    job_costs = {job.id: round(job_cost(job.stage, job.run) * 1000) for job in plan.jobs}
    runs_jobs = {run.index: {job.id for job in plan.run_jobs[run.index].values()} for run in plan.runs}
    fair_share = sum(job_costs.values()) / count
    groups: dict[str, list[int]] = {}
    for run in plan.runs:
        jobs = plan.run_jobs[run.index]
        shared = jobs.get(Stage.BUILD) or jobs.get(Stage.LOAD)
        groups.setdefault(shared.id if shared is not None else f"run:{run.index}", []).append(run.index)

    def cost(jobs: set[str]) -> int:
        return sum(job_costs[j] for j in jobs)

    items: list[list[int]] = []
    for members in groups.values():
        whole = cost(set().union(*(runs_jobs[i] for i in members)))
        items.extend([[i] for i in members] if whole > fair_share and len(members) > 1 else [members])
    item_jobs = [set().union(*(runs_jobs[i] for i in item)) for item in items]
    order = sorted(range(len(items)), key=lambda n: (-cost(item_jobs[n]), items[n][0]))
    totals = [0] * count
    held: list[set[str]] = [set() for _ in range(count)]
    assignment: dict[int, int] = {}
    for n in order:
        added = [cost(item_jobs[n] - held[s]) for s in range(count)]
        best = min(range(count), key=lambda s: (totals[s] + added[s], s))
        totals[best] += added[best]
        held[best] |= item_jobs[n]
        assignment.update({i: best + 1 for i in items[n]})
    return assignment


def shard_runs(runs: list[RunSpec], plan: Plan, shard: ShardSpec) -> list[RunSpec]:
    """The runs of `shard`, in matrix order, with their matrix indices."""
    assignment = assign_shards(plan, shard.count)
    return [run for run in runs if assignment[run.index] == shard.index]


def environment_digest(env: Environment) -> str:
    return sha256_text(canonical_json(env.model_dump(mode="json")))


def command_fields(request: dict[str, Any], until: str, runtime: str, comment: str) -> dict[str, Any]:
    """The parts of a command that decide its report (not --parallel, --label, --quiet...)."""
    return {"request": request, "until": until, "runtime": runtime, "comment": comment}


def fingerprint(*, command: dict[str, Any], plan: Plan, env: Environment,
                images: dict[str, str]) -> ShardFingerprint:
    """`plan` is the whole matrix's dry plan (image names standing in for identities)."""
    runs = [{"index": run.index, "identity": run.identity(),
             "jobs": {stage.value: job.id for stage, job in plan.run_jobs[run.index].items()}}
            for run in plan.runs]
    return ShardFingerprint(command=sha256_text(canonical_json(command)), runs=sha256_text(canonical_json(runs)),
                            environment=environment_digest(env), environment_name=env.name,
                            images=dict(sorted(images.items())))
