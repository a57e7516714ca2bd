"""`mcuorch ci github ...` writes a GitHub Actions workflow; `mcuorch ci tags` names the images
a workflow caches (their content tags are the cache key)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from orchestrator.ci_workflow import WorkflowSpec
from orchestrator.cli.console import stderr

app = typer.Typer(help="Continuous integration: a generated workflow for nightly matrices.", no_args_is_help=True)
DEFAULT_OUTPUT = Path(".github/workflows/mcuorch-nightly.yml")


def _run_params(args: list[str]) -> dict[str, object]:
    """The arguments as `mcuorch run` parses them (unknown options fail as they would there)."""
    from orchestrator.cli.main import app as main_app

    command = typer.main.get_command(main_app).commands["run"]  # type: ignore[attr-defined]
    with command.make_context("run", list(args)) as ctx:
        return dict(ctx.params)


@app.command(context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
def github(
    ctx: typer.Context,
    shards: Annotated[int, typer.Option("--shards", min=1, max=256, help="shard jobs (runners) of the matrix")],
    env: Annotated[str, typer.Option("--env", help="environment name or path, as `mcuorch run --env`")] = "default",
    schedule: Annotated[str | None, typer.Option("--schedule", help="nightly, weekly or a cron line")] = None,
    pull_requests: Annotated[bool, typer.Option("--pull-requests", help="also run on pull requests "
                                                                        "(remote cache read-only)")] = False,
    runtime: Annotated[str, typer.Option("--runtime", help="docker (images job + cache) or local")] = "docker",
    label: Annotated[str, typer.Option("-l", "--label", help="name of the merged results")] = "nightly",
    metric: Annotated[list[str], typer.Option("--metric", help="compare: metric (repeat)")] = [],  # noqa: B006
    threshold: Annotated[list[str], typer.Option("--threshold", help="compare: allowed increase")] = [],  # noqa: B006
    output: Annotated[Path, typer.Option("-o", "--output", help="workflow file ('-': stdout)")] = DEFAULT_OUTPUT,
) -> None:
    """Write a workflow: images once, N shard jobs of `mcuorch run ARGS`, a merged report and a
    comparison with the previous result in the job summary. ARGS are `mcuorch run`'s."""
    from pydantic import ValidationError

    from orchestrator.ci_workflow import check_run_args, render
    from orchestrator.cli.run import _label, _until, matrix_request
    from orchestrator.compare import Threshold, thresholds_for
    from orchestrator.errors import ConfigError
    from orchestrator.paths import project_paths
    from orchestrator.plan import Planner
    from orchestrator.runner import prepare
    from orchestrator.runtime.select import check_runtime_name

    run_args = list(ctx.args)
    params = _run_params(run_args)
    check_run_args(params)
    check_runtime_name(runtime)
    _label(label)
    request = matrix_request(**params)  # type: ignore[arg-type]
    prepared = prepare(env, request)  # every name and value checked now, not on the runners
    for text in threshold:
        Threshold.parse(text)
    if metric:
        thresholds_for(metric, threshold)
    compare_args = [arg for m in metric for arg in ("--metric", m)] + [arg for t in threshold for arg in ("--threshold", t)]
    until = _until(str(params["until"]))
    images = Planner(project_paths()).image_names(prepared.runs, until) if runtime == "docker" else []
    try:
        spec = WorkflowSpec(env=env, shards=shards, run_args=run_args, images=images,
                            base_pull=prepared.env.base.pull if runtime == "docker" else None, runtime=runtime,
                            schedule=schedule, pull_requests=pull_requests, label=label, compare_args=compare_args)
    except ValidationError as exc:
        raise ConfigError(str(exc.errors()[0]["msg"]).removeprefix("Value error, ")) from None
    text = render(spec, _command(spec))
    if str(output) == "-":
        sys.stdout.write(text)
        return
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(text)
    jobs = ("images, " if runtime == "docker" else "") + f"{shards} shard jobs of {len(prepared.runs)} runs, report"
    stderr.print(f"wrote {output}: {jobs}",
                 highlight=False, markup=False)


def _command(spec: WorkflowSpec) -> list[str]:
    """The command that writes this workflow again (printed at its top)."""
    options = ["--env", spec.env, "--shards", str(spec.shards)]
    options += ["--schedule", spec.schedule] if spec.schedule else []
    options += ["--pull-requests"] if spec.pull_requests else []
    options += ["--runtime", spec.runtime] if spec.runtime != "docker" else []
    options += ["--label", spec.label] if spec.label != "nightly" else []
    return ["mcuorch", "ci", "github", *options, *spec.compare_args, *spec.run_args]


@app.command()
def tags(
    names: Annotated[list[str], typer.Argument(help="images (default: all of the environment)")] = [],  # noqa: B006
    env: Annotated[str, typer.Option("--env", help="environment name or path")] = "default",
) -> None:
    """Every image reference the named images need, one per line (the base image, the root, parents)."""
    from orchestrator.environment import load_environment
    from orchestrator.images.tags import resolve_images

    environment = load_environment(env)
    resolved = resolve_images(environment)
    refs = [resolved.root.pull] if resolved.root.source == "pull" and resolved.root.pull else []
    refs.append(resolved.root.ref)
    refs += [image.tag for image in resolved.closure(names or None)]
    typer.echo("\n".join(dict.fromkeys(refs)))
