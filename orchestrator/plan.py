"""Plan: runs → deduplicated stage jobs with content keys.

A job's key is the sha256 of its `KeyInputs`: schema version, stage, the components the stage
reads, their output-affecting config (sorted JSON), the digests of its inputs and the image
identity. At plan time an upstream job's key stands in for its output digest (so dry-runs can
count jobs); when the upstream job has finished, the real key uses the content digest of its
published outputs. Jobs with equal plan keys are planned once and shared by their runs.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict

from orchestrator.components.base import Stage, StageComponent, Target
from orchestrator.digest import canonical_json, digest_paths, sha256_text
from orchestrator.paths import ProjectPaths
from orchestrator.runspec import RunSpec

SCHEMA_VERSION = 1

STAGE_ROLE = {Stage.LOAD: "frontend", Stage.BUILD: "backend", Stage.COMPILE: "platform", Stage.RUN: "target"}
STAGE_INPUTS: dict[Stage, list[Stage]] = {
    Stage.LOAD: [], Stage.BUILD: [Stage.LOAD], Stage.COMPILE: [Stage.LOAD, Stage.BUILD], Stage.RUN: [Stage.COMPILE],
}
MODEL_INPUT = "model"

ImageIdentity = Callable[[str], str]


class KeyInputs(BaseModel):
    """Everything a job key is computed from (shown by `mcuorch explain`)."""

    model_config = ConfigDict(frozen=True)

    schema_version: int = SCHEMA_VERSION
    stage: str
    components: dict[str, str]
    config: dict[str, dict[str, Any]]
    inputs: dict[str, str]
    image: str

    def key(self) -> str:
        return sha256_text(canonical_json(self.model_dump(mode="json")))

    def with_inputs(self, digests: dict[str, str]) -> KeyInputs:
        return self.model_copy(update={"inputs": {**self.inputs, **digests}})


@dataclass(eq=False)
class PlannedJob:
    """One stage job shared by every run whose key inputs are equal."""

    id: str
    stage: Stage
    component: StageComponent
    image: str
    key_inputs: KeyInputs
    upstream: dict[Stage, PlannedJob]
    sources: dict[str, Path]
    runs: list[RunSpec] = field(default_factory=list)

    @property
    def run(self) -> RunSpec:
        """The first run using this job (its config is what the job reads)."""
        return self.runs[0]

    def real_key_inputs(self, upstream_digests: dict[Stage, str]) -> KeyInputs:
        return self.key_inputs.with_inputs({s.value: d for s, d in upstream_digests.items()})


@dataclass
class Plan:
    runs: list[RunSpec]
    jobs: list[PlannedJob]
    run_jobs: dict[int, dict[Stage, PlannedJob]]
    until: Stage

    def counts(self) -> dict[Stage, int]:
        counts = {stage: 0 for stage in Stage.jobs() if Stage.jobs().index(stage) <= Stage.jobs().index(self.until)}
        for job in self.jobs:
            counts[job.stage] += 1
        return counts

    def images(self) -> list[str]:
        return sorted({job.image for job in self.jobs})


class Planner:
    """Turns runs into jobs; digests of static sources (models, sw/) are computed once each."""

    def __init__(self, project: ProjectPaths) -> None:
        self.project = project
        self._digests: dict[tuple[tuple[str, str], ...], str] = {}

    def _digest(self, sources: dict[str, Path]) -> str:
        memo = tuple(sorted((k, str(v)) for k, v in sources.items()))
        if memo not in self._digests:
            self._digests[memo] = digest_paths(sources)
        return self._digests[memo]

    def _key_inputs(self, run: RunSpec, stage: Stage, component: StageComponent, image: str,
                    upstream: dict[Stage, PlannedJob], sources: dict[str, Path],
                    identity: ImageIdentity) -> KeyInputs:
        config = component.key_config(run)
        roles = {name: role for role, name in (("frontend", run.frontend), ("backend", run.backend),
                                                ("platform", run.platform), ("target", run.target))}
        inputs = {s.value: job.id for s, job in upstream.items()}
        inputs.update({name: self._digest({name: path}) for name, path in sources.items()})
        components = {roles.get(n, n): n for n in config}
        if stage is Stage.LOAD:  # the name enters the loader's metadata, the digest covers the files
            inputs[MODEL_INPUT] = run.model.digest()
            components[MODEL_INPUT] = run.model.name
        return KeyInputs(stage=stage.value, components=components, config=config, inputs=inputs,
                         image=identity(image))

    def image_names(self, runs: list[RunSpec], until: Stage = Stage.RUN) -> list[str]:
        """Every image the runs' stages up to `until` need (before any identity is known)."""
        stages = Stage.jobs()[: Stage.jobs().index(until) + 1]
        return sorted({run.components[STAGE_ROLE[s]].image(run, run.configs) for run in runs for s in stages})

    def plan(self, runs: list[RunSpec], identity: ImageIdentity, until: Stage = Stage.RUN) -> Plan:
        stages = Stage.jobs()[: Stage.jobs().index(until) + 1]
        jobs: dict[str, PlannedJob] = {}
        run_jobs: dict[int, dict[Stage, PlannedJob]] = {}
        for run in runs:
            mine: dict[Stage, PlannedJob] = {}
            for stage in stages:
                component = run.components[STAGE_ROLE[stage]]
                image = component.image(run, run.configs)
                extra = component.extra_inputs(run) if isinstance(component, Target) else []
                upstream = {s: mine[s] for s in [*STAGE_INPUTS[stage], *extra]}
                sources = component.sources(run, self.project)
                key_inputs = self._key_inputs(run, stage, component, image, upstream, sources, identity)
                job_id = key_inputs.key()
                job = jobs.get(job_id)
                if job is None:
                    job = PlannedJob(id=job_id, stage=stage, component=component, image=image,
                                     key_inputs=key_inputs, upstream=upstream, sources=sources)
                    jobs[job_id] = job
                job.runs.append(run)
                mine[stage] = job
            run_jobs[run.index] = mine
        return Plan(runs=runs, jobs=list(jobs.values()), run_jobs=run_jobs, until=until)
