"""`mcuorch sources fetch|list`: the pinned upstream sources in the source cache."""

from __future__ import annotations

from pathlib import Path

import typer

from orchestrator.environment import load_environment
from orchestrator.paths import home_paths
from orchestrator.sources.cache import SourceCache, source_identity
from orchestrator.sources.fetch import FROM_ENV, fetch_sources, mirror_from_environ, needed_sources

app = typer.Typer(help="Fetch and list the pinned upstream sources images are built from.",
                  no_args_is_help=True)

EnvOption = typer.Option(None, "--env", "-e", help="Environment name or file (default: MCUORCH_ENV or 'default').")
AllOption = typer.Option(False, "--all", help="Every pinned repo of the environment, not only those its images use.")


@app.command()
def fetch(
    env: str = EnvOption,
    from_dir: Path = typer.Option(None, "--from", help=f"Import from this mirror folder (MANIFEST.tsv + archives); "
                                                       f"default: ${FROM_ENV}."),
    offline: bool = typer.Option(False, "--offline", help="Never use the network: only the mirror folder."),
    include_all: bool = AllOption,
    quiet: bool = typer.Option(False, "--quiet", "-q", help="Only the summary line."),
) -> None:
    """Fill the source cache: import from a mirror folder, else fetch the pinned commit."""
    environment = load_environment(env)
    cache = SourceCache(home_paths().sources)
    mirror = from_dir or mirror_from_environ()

    def report(key: str, message: str) -> None:
        if not quiet:
            typer.echo(f"{key}: {message}", err=True)

    results = fetch_sources(environment, cache, mirror_dir=mirror, offline=offline,
                            include_all=include_all, report=report)
    counts = {outcome: sum(r.outcome == outcome for r in results) for outcome in ("cached", "imported", "fetched")}
    size = sum(r.entry.size for r in results)
    typer.echo(f"{len(results)} source(s) of {environment.name} in {cache.root}: "
               f"{counts['imported']} imported, {counts['fetched']} fetched, {counts['cached']} already cached "
               f"({size / 1e6:.1f} MB)")


@app.command("list")
def list_sources(env: str = EnvOption, include_all: bool = AllOption) -> None:
    """Each source an environment's images use: pin, and whether (and how) it is cached."""
    environment = load_environment(env)
    cache = SourceCache(home_paths().sources)
    users: dict[str, list[str]] = {}
    for name, image in environment.images.items():
        for key in image.sources:
            users.setdefault(key, []).append(name)
    for key, source in needed_sources(environment, include_all).items():
        entry = cache.lookup(source, verify=False)
        state = f"{entry.origin}, {entry.size / 1e6:.1f} MB" if entry else "missing"
        images = ",".join(users.get(key, [])) or "-"
        typer.echo(f"{key}\t{source.url}\t{source_identity(source)}\t{images}\t{state}")
