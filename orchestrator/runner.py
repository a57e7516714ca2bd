"""One benchmark session from request to report: the use case behind `mcuorch run`.

prepare (environment, components, matrix: every user mistake surfaces here, before anything
runs) → plan → runtime → scheduler → per-run results → report (+ postprocesses) → saved
files and the session record. The CLI only parses flags and prints.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

import pandas as pd
from rich.console import Console

from orchestrator.components.base import ComponentConfig, Kind, Stage
from orchestrator.components.registry import Registry, default_registry
from orchestrator.environment import Environment, load_environment
from orchestrator.errors import ConfigError, EngineLostError, ImageMissingError
from orchestrator.executor import JobExecutor
from orchestrator.matrix import MatrixBuilder, MatrixRequest
from orchestrator.outcome import JobOutcome, JobStatus
from orchestrator.paths import home_paths, project_paths
from orchestrator.plan import Plan, PlannedJob, Planner
from orchestrator.progress import LogStreamer, make_progress
from orchestrator.remote_cache import RemoteCache, RemoteStats, remote_from_environ
from orchestrator.report import export_report, write_html_reports
from orchestrator.report.frame import report_frame, report_rows
from orchestrator.results import RunResult, run_results
from orchestrator.runspec import RunSpec
from orchestrator.runtime.base import ImageRef, Runtime
from orchestrator.runtime.select import create_runtime, image_refs
from orchestrator.scheduler import Scheduler
from orchestrator.session import RunRecord, SessionRecord, SessionSpec, SessionStore
from orchestrator.shards import ShardRecord, ShardSpec, command_fields, fingerprint, shard_runs
from orchestrator.sources.fetch import image_source_pins
from orchestrator.store import JobStore

REPORT_NAME = "report"
RuntimeFactory = Callable[..., Runtime]
"""(runtime name, environment, project paths, session id, verbose) → Runtime."""


@dataclass
class Prepared:
    """A checked request: environment, components, runs and session postprocesses."""

    env: Environment
    registry: Registry
    runs: list[RunSpec]
    postprocesses: list[tuple[str, ComponentConfig]]


def prepare(env_arg: str | None, request: MatrixRequest, registry: Registry | None = None) -> Prepared:
    """Load and check everything the request names; raises one UserError on the first mistake."""
    env = load_environment(env_arg)
    registry = registry or default_registry()
    builder = MatrixBuilder(env, registry)
    runs = builder.expand(request)
    return Prepared(env=env, registry=builder.registry, runs=runs, postprocesses=builder.postprocess_configs(request))


def dry_run(prepared: Prepared, until: Stage = Stage.RUN) -> Plan:
    """The plan with image names standing in for image identities (no runtime needed)."""
    return Planner(project_paths()).plan(prepared.runs, identity=lambda name: f"image:{name}", until=until)


def check_images(env: Environment, names: list[str]) -> None:
    missing = [n for n in names if n not in env.images]
    if missing:
        raise ConfigError(f"environment {env.name} defines no image {', '.join(map(repr, missing))}; "
                          f"it defines: {', '.join(sorted(env.images)) or 'none'}")


def apply_postprocesses(df: pd.DataFrame, postprocesses: list[tuple[str, ComponentConfig]],
                        registry: Registry) -> pd.DataFrame:
    for name, config in postprocesses:
        df = registry.create(Kind.POSTPROCESS, name).apply(df, config)
    return df


def save_reports(df: pd.DataFrame, folder: Path, results: Path, session_id: str, label: str | None) -> list[Path]:
    """The report in every format in the session folder and as `<results>/<label or id>.*`."""
    files = export_report(df, folder / REPORT_NAME)
    files += export_report(df, results / (label or session_id))
    files += write_html_reports(df, [folder / f"{REPORT_NAME}.html", results / f"{label or session_id}.html"],
                                title=f"mcuorch session {session_id}" + (f" ({label})" if label else ""))
    return files


@dataclass
class Scheduled:
    """What the scheduler left: every job's outcome and the session-level faults it met."""

    outcomes: dict[str, JobOutcome]
    engine_lost: EngineLostError | None = None
    image_missing: ImageMissingError | None = None


@dataclass
class SessionOptions:
    env: str | None
    request: MatrixRequest
    until: Stage = Stage.RUN
    parallel: int = 1
    runtime: str = "docker"
    rerun: bool = False
    label: str | None = None
    quiet: bool = False
    verbose: bool = False
    command: list[str] = field(default_factory=list)
    comment: str = ""
    shard: ShardSpec | None = None


@dataclass
class SessionResult:
    record: SessionRecord
    report: pd.DataFrame
    results: list[RunResult]
    report_files: list[Path]
    cancelled: bool
    engine_lost: EngineLostError | None = None
    """The Docker engine went away mid-session: the runs not finished are Incomplete."""
    image_missing: ImageMissingError | None = None
    """An image was removed mid-session: the runs that needed it are Incomplete."""
    remote: RemoteStats | None = None
    """What the remote tier of the job store did (None without one)."""

    @property
    def finished_runs(self) -> int:
        """Runs with a result (validated or failing), i.e. not Incomplete."""
        return sum(not r.incomplete for r in self.results)

    @property
    def exit_code(self) -> int:
        if self.engine_lost is not None:
            return EngineLostError.exit_code
        if self.cancelled:
            return 130
        return 1 if self.image_missing is not None or any(r.failing for r in self.results) else 0


def options_from_session(record: SessionRecord, **overrides: object) -> SessionOptions:
    """Options to run a recorded session again (`--resume`)."""
    spec = record.spec
    options = SessionOptions(env=spec.env, request=spec.request, until=Stage.parse(spec.until),
                             parallel=spec.parallel, runtime=spec.runtime, label=spec.label,
                             command=spec.command, comment=spec.comment, shard=spec.shard)
    for key, value in overrides.items():
        if value is not None:
            setattr(options, key, value)
    return options


class SessionRunner:
    """Runs sessions against one home (job store + sessions + results)."""

    def __init__(self, console: Console, runtime_factory: RuntimeFactory = create_runtime) -> None:
        self.console = console
        self.home = home_paths()
        self.project = project_paths()
        self.sessions = SessionStore(self.home.sessions)
        self.store = JobStore(self.home.jobs)
        self.runtime_factory = runtime_factory

    def run(self, options: SessionOptions, cancel: threading.Event, resume: SessionRecord | None = None,
            prepared: Prepared | None = None) -> SessionResult:
        prepared = prepared or prepare(options.env, options.request)
        planner = Planner(self.project)
        whole, whole_plan = prepared, None
        if options.shard is not None:  # the same share on every machine: see orchestrator.shards
            whole_plan = dry_run(whole, options.until)
            prepared = replace(whole, runs=shard_runs(whole.runs, whole_plan, options.shard))
        names = planner.image_names(prepared.runs, options.until)
        all_names = planner.image_names(whole.runs, options.until)
        check_images(prepared.env, all_names)
        spec = SessionSpec(command=options.command, env=options.env, env_name=prepared.env.name,
                           request=options.request, until=options.until.value, runtime=options.runtime,
                           label=options.label, parallel=options.parallel, shard=options.shard,
                           comment=options.comment)
        remote = remote_from_environ(warn=self._warn)  # an unreachable bucket stops us before anything runs
        if resume is not None:
            record = resume.model_copy(update={"status": "running", "finished": None, "engine_lost": None})
        else:
            record = self.sessions.create(spec)
        refs = image_refs(options.runtime, prepared.env, all_names)
        runtime = self.runtime_factory(options.runtime, prepared.env, self.project, record.id, options.verbose)
        try:
            runtime.prepare([refs[n] for n in names])
            if options.shard is not None and whole_plan is not None:
                identities = {n: runtime.image_identity(refs[n]) for n in all_names}
                shard = self._shard_record(options, options.shard, whole, whole_plan, prepared.runs, identities)
                record = record.model_copy(update={"shard": shard})
            plan = planner.plan(prepared.runs, identity=lambda n: runtime.image_identity(refs[n]), until=options.until)
            scheduled = self._schedule(plan, runtime, refs, record, options, cancel, remote)
        finally:
            runtime.close()
        result = self._finish(record, prepared, plan, scheduled, options, cancel.is_set())
        result.remote = remote.stats if remote is not None else None
        return result

    def _warn(self, message: str) -> None:
        self.console.print(message, markup=False, highlight=False)

    @staticmethod
    def _shard_record(options: SessionOptions, shard: ShardSpec, whole: Prepared, whole_plan: Plan,
                      runs: list[RunSpec], images: dict[str, str]) -> ShardRecord:
        """What this shard ran, with the fingerprint `mcuorch merge` checks shards against."""
        command = command_fields(options.request.model_dump(mode="json"), options.until.value, options.runtime,
                                 options.comment)
        return ShardRecord(index=shard.index, count=shard.count, runs=[r.index for r in runs],
                           total_runs=len(whole.runs),
                           fingerprint=fingerprint(command=command, plan=whole_plan, env=whole.env, images=images))

    def _schedule(self, plan: Plan, runtime: Runtime, refs: dict[str, ImageRef], record: SessionRecord,
                  options: SessionOptions, cancel: threading.Event, remote: RemoteCache | None = None) -> Scheduled:
        progress = make_progress(plan, self.console, options.quiet)
        streamer = LogStreamer(self.console) if options.verbose else None

        def started(job: PlannedJob, staging: Path) -> None:
            if streamer:
                streamer.follow(job, staging)

        def finished(outcome: JobOutcome) -> None:
            if streamer:
                streamer.finished(outcome)
            progress.job_finished(outcome)

        executor = JobExecutor(store=self.store, runtime=runtime, images=refs, project=self.project,
                               session_id=record.id, failed_dir=self.sessions.path(record.id) / "failed",
                               rerun=options.rerun, on_start=started, remote=remote)
        scheduler = Scheduler(executor, parallel=options.parallel, on_finish=finished)
        progress.start()
        try:
            outcomes = scheduler.run(plan, cancel)
        finally:
            progress.stop()
        return Scheduled(outcomes=outcomes, engine_lost=scheduler.engine_lost, image_missing=scheduler.image_missing)

    def _finish(self, record: SessionRecord, prepared: Prepared, plan: Plan, scheduled: Scheduled,
                options: SessionOptions, cancelled: bool) -> SessionResult:
        outcomes, engine_lost = scheduled.outcomes, scheduled.engine_lost
        results = run_results(plan, outcomes)
        pins = {run.index: image_source_pins(prepared.env, [job.image for job in plan.run_jobs[run.index].values()])
                for run in plan.runs}
        rows = report_rows(record.id, results, [name for name, _ in prepared.postprocesses], options.comment, pins)
        df = apply_postprocesses(report_frame(rows), prepared.postprocesses, prepared.registry)
        files = save_reports(df, self.sessions.path(record.id), self.home.results, record.id, options.label)
        counts = Counter(o.status.value for o in outcomes.values())
        unfinished = cancelled or engine_lost is not None or any(r.incomplete for r in results)
        status = "incomplete" if unfinished else "failing" if any(r.failing for r in results) else "done"
        record = record.model_copy(update={
            "finished": time.time(), "status": status,
            "engine_lost": engine_lost.address if engine_lost is not None else None,
            "counts": {s.value: counts.get(s.value, 0) for s in JobStatus},
            "runs": [RunRecord(index=r.run.index, identity=r.run.identity(), jobs=r.keys, failing=r.failing,
                               incomplete=r.incomplete, reason=r.reason, row=row) for r, row in zip(results, rows)],
        })
        self.sessions.save(record)
        return SessionResult(record=record, report=df, results=results, report_files=files, cancelled=cancelled,
                             engine_lost=engine_lost, image_missing=scheduled.image_missing)

