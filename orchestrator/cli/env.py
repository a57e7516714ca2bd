"""`mcuorch env list|show`: the environments and everything they pin."""

from __future__ import annotations

from typing import Annotated

import typer
import yaml

from orchestrator.cli.console import stdout
from orchestrator.components.registry import default_registry
from orchestrator.config import check_environment
from orchestrator.environment import list_environments, load_environment
from orchestrator.images.locks import pip_pins
from orchestrator.paths import project_paths

app = typer.Typer(help="List and show environments.", no_args_is_help=True)


@app.command("list")
def list_envs() -> None:
    """Every environment found (project first, then the user's under MCUORCH_HOME)."""
    for found in list_environments():
        env = load_environment(str(found.path))
        summary = env.description if len(env.description) <= 88 else env.description[:85] + "..."
        stdout.print(f"{found.name:<12} {summary}", highlight=False, markup=False)
        stdout.print(f"{'':<12} {found.path}", style="dim", highlight=False, markup=False)


@app.command()
def show(name: Annotated[str, typer.Argument(help="environment name or path")] = "default") -> None:
    """The rendered, validated environment with every pin."""
    env = load_environment(name)
    check_environment(env, default_registry())
    data = env.model_dump(mode="json", exclude_none=True)
    images = project_paths().images
    locks = {name: pins for name, spec in env.images.items() if (pins := pip_pins(images / spec.recipe))}
    if locks:  # pip pins live in each image's hash-pinned lock file
        data["pip_locks"] = locks
    stdout.print(yaml.safe_dump(data, sort_keys=False, width=100).rstrip(), highlight=False, markup=False)
