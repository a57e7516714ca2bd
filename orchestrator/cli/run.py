"""`mcuorch run MODEL...`: MLonMCU's `flow run`, stage by stage in toolchain images."""

from __future__ import annotations

import os
import re
import sys
import threading
from dataclasses import replace
from typing import Annotated

import typer

from orchestrator.cli.argv import split_group
from orchestrator.cli.console import stderr, stdout
from orchestrator.cli.signals import cancel_on_signals
from orchestrator.components.base import Stage
from orchestrator.errors import ConfigError, EngineLostError
from orchestrator.matrix import MatrixRequest
from orchestrator.paths import home_paths
from orchestrator.plan import Plan
from orchestrator.runtime.select import check_runtime_name
from orchestrator.session import SessionStore
from orchestrator.shards import ShardSpec, shard_runs

UNTIL = {"load": Stage.LOAD, "build": Stage.BUILD, "compile": Stage.COMPILE, "run": Stage.RUN}

Names = Annotated[list[str], typer.Option(default_factory=list)]


_LABEL = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+-]{0,99}$")


def _label(value: str | None) -> str | None:
    """A label names files in <home>/results/: one plain file name, never a path."""
    if value is not None and not _LABEL.match(value):
        raise ConfigError(f"label {value!r} must be a plain name (letters, digits, '.', '_', '+', '-'), "
                          "not a path: results always go to <home>/results/")
    return value


def _until(value: str) -> Stage:
    try:
        return UNTIL[value.lower()]
    except KeyError:
        raise ConfigError(f"unknown stage {value!r} for --until; choose from: {', '.join(UNTIL)}") from None


def matrix_request(*, models: list[str], frontend: list[str], backend: list[str], platform: list[str],
                   target: list[str], feature: list[str], config: list[str], feature_gen: list[str],
                   config_gen: list[str], postprocess: list[str], **_: object) -> MatrixRequest:
    """The matrix options of `run` (as parsed) → the request (`mcuorch ci` parses them too)."""
    return MatrixRequest(
        models=models, frontends=frontend, backends=backend, platforms=platform, targets=target,
        features=feature, config=config, feature_gen=[split_group(g) for g in feature_gen],
        config_gen=[split_group(g) for g in config_gen], postprocesses=postprocess)


def print_plan(plan: Plan) -> None:
    """Runs (with the image of each stage, in stage order) and per-stage job counts (the
    dry-run output)."""
    stdout.print(f"{len(plan.runs)} runs", highlight=False)
    for run in plan.runs:
        jobs = plan.run_jobs.get(run.index, {})
        extra = ["images=" + ",".join(jobs[stage].image for stage in Stage.jobs() if stage in jobs)]
        if run.features:
            extra.append("features=" + ",".join(run.features))
        if run.config:
            extra.append("config=" + ",".join(f"{k}={v}" for k, v in sorted(run.config.items())))
        stdout.print(f"  {run.index:>3}  {run.model.name}  {run.frontend}  {run.backend}  {run.platform}  "
                     f"{run.target}  {' '.join(extra)}".rstrip(), highlight=False, markup=False)
    counts = ", ".join(f"{stage.value} {n}" for stage, n in plan.counts().items())
    stdout.print(f"jobs: {counts}", highlight=False)


def run(
    models: Annotated[list[str], typer.Argument(help="bundled model names or paths to .tflite files")] = [],  # noqa: B006
    backend: Annotated[list[str], typer.Option("-b", "--backend", help="backend(s)")] = [],  # noqa: B006
    target: Annotated[list[str], typer.Option("-t", "--target", help="target(s)")] = [],  # noqa: B006
    platform: Annotated[list[str], typer.Option("--platform", help="platform (default: by target)")] = [],  # noqa: B006
    frontend: Annotated[list[str], typer.Option("--frontend", help="frontend(s)")] = [],  # noqa: B006
    feature: Annotated[list[str], typer.Option("-f", "--feature", help="feature for every run")] = [],  # noqa: B006
    config: Annotated[list[str], typer.Option("-c", "--config", help="component.key=value for every run")] = [],  # noqa: B006
    feature_gen: Annotated[list[str], typer.Option("--feature-gen", help="one feature set per use; _ = none")] = [],  # noqa: B006
    config_gen: Annotated[list[str], typer.Option("--config-gen", help="one config set per use; _ = none")] = [],  # noqa: B006
    postprocess: Annotated[list[str], typer.Option("--postprocess", help="report postprocess(es)")] = [],  # noqa: B006
    parallel: Annotated[int, typer.Option("--parallel", min=1, help="worker threads (bare: all cores)")] = 1,
    label: Annotated[str | None, typer.Option("-l", "--label", help="name of the saved results")] = None,
    until: Annotated[str, typer.Option("--until", help="stop after load|build|compile|run")] = "run",
    dry: Annotated[bool, typer.Option("--dry-run", help="print runs and job counts, run nothing")] = False,
    resume: Annotated[str | None, typer.Option("--resume", help="continue a session (bare: the latest)")] = None,
    rerun: Annotated[bool, typer.Option("--rerun", "--no-cache", help="execute jobs even when cached")] = False,
    shard: Annotated[str | None, typer.Option("--shard", help="run only share K of N (K/N); mcuorch merge "
                                                              "combines the shards")] = None,
    runtime: Annotated[str | None, typer.Option("--runtime", help="docker (default) or local")] = None,
    env: Annotated[str | None, typer.Option("--env", help="environment name or path (MCUORCH_ENV)")] = None,
    comment: Annotated[str, typer.Option("--comment", help="text for the report's Comment column")] = "",
    quiet: Annotated[bool, typer.Option("-q", "--quiet", help="no progress output")] = False,
    verbose: Annotated[bool, typer.Option("-v", "--verbose", help="stream job logs; tracebacks")] = False,
) -> None:
    """Run models through LOAD → BUILD → COMPILE → RUN and print the report."""
    # pandas (report) loads only when a session really runs: other commands start fast
    from orchestrator.report.display import print_report
    from orchestrator.runner import SessionOptions, SessionRunner, dry_run, options_from_session, prepare

    stage = _until(until)
    label = _label(label)
    shard_spec = ShardSpec.parse(shard) if shard is not None else None
    request = matrix_request(models=models, frontend=frontend, backend=backend, platform=platform, target=target,
                             feature=feature, config=config, feature_gen=feature_gen, config_gen=config_gen,
                             postprocess=postprocess)
    resumed = None
    if resume is not None:
        resumed = SessionStore(home_paths().sessions).load(resume)
        options = options_from_session(resumed, runtime=runtime, parallel=parallel if parallel > 1 else None,
                                       rerun=rerun, quiet=quiet, verbose=verbose, comment=comment)
    else:
        options = SessionOptions(env=env, request=request, until=stage, parallel=parallel,
                                 runtime=runtime or os.environ.get("MCUORCH_RUNTIME", "docker"), rerun=rerun,
                                 label=label, quiet=quiet, verbose=verbose, command=sys.argv[:], comment=comment,
                                 shard=shard_spec)
    check_runtime_name(options.runtime)
    prepared = prepare(options.env, options.request)
    if dry:
        plan = dry_run(prepared, options.until)
        if options.shard is not None:
            plan = dry_run(replace(prepared, runs=shard_runs(prepared.runs, plan, options.shard)), options.until)
        print_plan(plan)
        return
    cancel = threading.Event()
    with cancel_on_signals(cancel):
        result = SessionRunner(stderr).run(options, cancel, resume=resumed, prepared=prepared)
    print_report(result.report, stdout, shaped=bool(options.request.postprocesses))
    if result.engine_lost is not None:  # one line (exit 3) in place of the summary
        lost = result.engine_lost
        raise EngineLostError(lost.address, f"{lost.message}; {result.finished_runs} finished run(s) kept; "
                                            f"when the engine is back: mcuorch run --resume {result.record.id}")
    if result.image_missing is not None:
        raise result.image_missing
    counts = result.record.counts
    failing = sum(r.failing for r in result.results)
    status = "interrupted: partial report" if result.cancelled else f"{failing} failing" if failing else "ok"
    share = f" (shard {options.shard} of {result.record.shard.total_runs} runs)" if result.record.shard else ""
    stderr.print(f"session {result.record.id}: {len(result.results)} runs{share}, {status}; jobs: "
                 f"{counts.get('done', 0)} executed, {counts.get('cached', 0)} cached, "
                 + (f"{counts['downloaded']} downloaded, " if counts.get("downloaded") else "")
                 + f"{counts.get('failed', 0)} failed; report: {result.report_files[0].parent}",
                 highlight=False, markup=False)
    if result.remote is not None:
        remote = result.remote
        stderr.print(f"remote cache: {remote.downloaded} downloaded, {remote.uploaded} uploaded"
                     + (f", {remote.damaged} damaged (executed again)" if remote.damaged else "")
                     + (f", {remote.failed_uploads} uploads failed" if remote.failed_uploads else ""),
                     highlight=False, markup=False)
    if result.exit_code:
        raise typer.Exit(result.exit_code)
