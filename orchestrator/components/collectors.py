"""Integration points between stage collectors and `orchestrator.metrics` (ELF static memory,
harness output parsing): each collector calls exactly one function here."""

from __future__ import annotations

from pathlib import Path

from orchestrator import metrics
from orchestrator.components.base import Metric
from orchestrator.errors import CollectError

# MLonMCU's harness exit codes.
EXIT_OK = 0x00
EXIT_ERROR = 0x10
EXIT_INVALID_SIZE = 0x11
EXIT_MISMATCH = 0x12
PROGRAM_EXIT_CODES = frozenset({EXIT_OK, EXIT_ERROR, EXIT_INVALID_SIZE, EXIT_MISMATCH})


def program_exit_metrics(exit_code: int) -> dict[str, Metric]:
    """The program's own exit code → `Validation`, or a CollectError for real failures."""
    if exit_code == EXIT_OK:
        return {}
    if exit_code == EXIT_MISMATCH:
        return {"Validation": False}
    names = {EXIT_ERROR: "error", EXIT_INVALID_SIZE: "invalid size"}
    raise CollectError(f"program exit code {exit_code} ({names.get(exit_code, 'crash')})")


def compile_metrics(elf: Path, target: str) -> dict[str, Metric]:
    """COMPILE collector: static memory columns of `app.elf` for `target` (split by origin with
    the link map `app.map` beside it, when the target software wrote one)."""
    if not elf.is_file():
        return {}
    link_map = elf.with_name("app.map")
    return dict(metrics.elf_metrics(elf, target, link_map=link_map if link_map.is_file() else None))


def run_metrics(stdout: str, program_exit_code: int, counts: Path | None, target: str) -> dict[str, Metric]:
    """RUN collector: harness output (+ instruction counts) → report columns."""
    verdict = program_exit_metrics(program_exit_code)
    parsed = dict(metrics.run_metrics(stdout, counts if counts and counts.is_file() else None, target,
                                       complete=True))
    return {**parsed, **verdict}
