"""`mcuorch models`: bundled models on the environment's search path."""

from __future__ import annotations

from typing import Annotated

import typer

from orchestrator.cli.console import stdout
from orchestrator.environment import load_environment
from orchestrator.components.backends import TvmAot
from orchestrator.components.base import Kind
from orchestrator.components.registry import default_registry
from orchestrator.config import environment_registry
from orchestrator.models import bundled_models, model_operators


def operator_line(ops: list[str] | None, supported: frozenset[str] | None) -> str:
    """`ops: A B! C` with `!` on the operators tvmaot's integer kernels do not support (no marks
    when `supported` is None: the environment's tvmaot is another component)."""
    if ops is None:
        return "ops: (not listed in definition.yml)"
    if supported is None:
        return "ops: " + " ".join(ops)
    missing = [op for op in ops if op not in supported]
    marked = " ".join(f"{op}!" if op in missing else op for op in ops)
    return f"ops: {marked}  " + ("(tvmaot: all supported)" if not missing else "(!: not supported by tvmaot)")


def models(env: Annotated[str | None, typer.Option("--env", help="environment name or path")] = None) -> None:
    """List bundled models: name, folder and operators (marking those tvmaot cannot compile)."""
    environment = load_environment(env)
    found = bundled_models(environment.model_search_path())
    names = environment_registry(environment, default_registry())
    ours = names.has(Kind.BACKEND, TvmAot.name) and names.get(Kind.BACKEND, TvmAot.name) is TvmAot
    supported = TvmAot.supported_ops() if ours else None
    for name, path in found.items():
        stdout.print(f"{name:<16} {path}", highlight=False, markup=False)
        stdout.print(f"{'':<16} {operator_line(model_operators(path), supported)}", highlight=False, markup=False)
