"""`mcuorch images ...`: build, list, prune and bootstrap the toolchain images.

A thin layer over `orchestrator.images`: it parses options, shows progress and prints
results. Errors are `McuorchError`s that the main app turns into one line each.
"""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from orchestrator.environment import load_environment
from orchestrator.errors import UserError
from orchestrator.images.build import DEFAULT_JOBS, ImageBuilder
from orchestrator.images.engine import connect
from orchestrator.images.inventory import environment_references, managed_images, prune
from orchestrator.images.progress import make_progress
from orchestrator.images.tags import namespace_from_env

app = typer.Typer(help="Build, list, prune and bootstrap toolchain images.", no_args_is_help=True)

EnvOption = typer.Option(None, "--env", "-e", help="Environment name or file (default: MCUORCH_ENV or 'default').")
QuietOption = typer.Option(False, "--quiet", "-q", help="Only notes and the summary, no progress.")


def human_size(size: int) -> str:
    """Decimal units like `docker images` shows them."""
    if size >= 1e9:
        return f"{size / 1e9:.2f} GB"
    if size >= 1e6:
        return f"{size / 1e6:.0f} MB"
    return f"{size / 1e3:.0f} kB"


@app.command()
def build(
    names: list[str] = typer.Argument(None, help="Images to build (default: all of the environment)."),
    env: str = EnvOption,
    jobs: int = typer.Option(DEFAULT_JOBS, "--jobs", "-j", min=1, help="Images built at the same time."),
    quiet: bool = QuietOption,
    keep_stages: bool = typer.Option(False, "--keep-stages",
                                     help="Keep builder stages (e.g. pip's) as cache for recipe work."),
) -> None:
    """Build the missing images of an environment, parents first (existing tags are kept)."""
    environment = load_environment(env)
    client = connect()
    progress = make_progress(quiet=quiet)
    try:
        builder = ImageBuilder(client, progress=progress, jobs=jobs, keep_stages=keep_stages)
        results = builder.build(environment, names or None)
    finally:
        progress.close()
    name_width = max((len(r.name) for r in results), default=4)
    tag_width = max((len(r.tag) for r in results), default=4)
    for r in results:
        what = f"built in {r.seconds:.1f} s" if r.built else "up to date"
        typer.echo(f"{r.name:<{name_width}}  {r.tag:<{tag_width}}  {human_size(r.size_bytes):>8}  "
                   f"(+{human_size(r.added_bytes)})  {what}")


@app.command("list")
def list_images(
    files: list[Path] = typer.Option(None, "--env-file", help="Only count these environment files as users."),
) -> None:
    """List mcuorch images: tag, size, pinned packages, environments that use it."""
    client = connect()
    namespace = namespace_from_env()
    refs = environment_references(client, namespace, files or None)
    entries = managed_images(client, namespace, refs)
    console = Console()
    if console.is_terminal:
        table = Table(box=None, pad_edge=False)
        for column in ("IMAGE", "SIZE", "ENVIRONMENTS", "PINS"):
            table.add_column(column)
        for entry in entries:
            table.add_row("\n".join(entry.tags), human_size(entry.size_bytes),
                          ", ".join(entry.environments) or "(unused)",
                          "\n".join(f"{k}={v}" for k, v in entry.pins.items()) or "-")
        console.print(table)
    else:  # one line per tag for scripts and logs
        for entry in entries:
            pins = ",".join(f"{k}={v}" for k, v in entry.pins.items()) or "-"
            for tag in entry.tags:
                typer.echo(f"{tag}\t{human_size(entry.size_bytes)}\t"
                           f"{','.join(entry.environments) or '(unused)'}\t{pins}")
    for source, problem in refs.broken.items():
        typer.echo(f"warning: environment {source}: {problem}", err=True)
    for source, problem in refs.unbuildable.items():
        typer.echo(f"note: environment {source} has no buildable images ({problem})", err=True)


@app.command("prune")
def prune_images(
    dry_run: bool = typer.Option(False, "--dry-run", "-n", help="Only say what would be removed."),
    force: bool = typer.Option(False, "--force", help="Prune even if some environment cannot be loaded."),
) -> None:
    """Remove mcuorch images no environment references, and leftover build stages."""
    client = connect()
    namespace = namespace_from_env()
    refs = environment_references(client, namespace)
    if refs.broken and not force:
        source, problem = next(iter(refs.broken.items()))
        raise UserError(f"environment {source} cannot be loaded ({problem}), so the images it "
                        "uses are unknown; fix it or pass --force")
    for source, problem in refs.unbuildable.items():
        typer.echo(f"note: environment {source} has no buildable images ({problem})", err=True)
    result = prune(client, namespace, refs, dry_run=dry_run)
    verb = "would remove" if dry_run else "removed"
    for ref in result.removed:
        typer.echo(f"{verb} {ref}")
    for ref in result.kept_in_use:
        typer.echo(f"kept {ref}: still used by a container", err=True)
    summary = f"{verb} {len(result.removed)} image(s)"
    if not dry_run:
        summary += f", {human_size(result.reclaimed_bytes)} of disk freed"
    typer.echo(summary)


@app.command("bootstrap")
def bootstrap_image(
    env: str = EnvOption,
    force: bool = typer.Option(False, "--force", help="Bootstrap again even if the image exists."),
    quiet: bool = QuietOption,
) -> None:
    """Make the root OS image from Debian's archive with debootstrap (no registry needed)."""
    environment = load_environment(env)
    client = connect()
    progress = make_progress(quiet=quiet)
    try:
        root = ImageBuilder(client, progress=progress).bootstrap_root(environment, force=force)
    finally:
        progress.close()
    image = client.images.get(root.ref)
    typer.echo(f"{root.ref}  {image.id}  {human_size(int(image.attrs.get('Size', 0)))}")
