"""`mcuorch models`: bundled models on the environment's search path."""

from __future__ import annotations

from typing import Annotated

import typer

from orchestrator.cli.console import stdout
from orchestrator.environment import load_environment
from orchestrator.models import bundled_models


def models(env: Annotated[str | None, typer.Option("--env", help="environment name or path")] = None) -> None:
    """List bundled models (name and folder)."""
    found = bundled_models(load_environment(env).model_search_path())
    for name, path in found.items():
        stdout.print(f"{name:<16} {path}", highlight=False, markup=False)
