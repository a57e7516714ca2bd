"""Consoles shared by the commands: results on stdout, progress and errors on stderr."""

from __future__ import annotations

import shutil
import sys

from rich.console import Console

# Not on a terminal (CI logs, pipes) rich would assume 80 columns and fold the report.
stdout = Console(soft_wrap=True, width=None if sys.stdout.isatty() else max(shutil.get_terminal_size().columns, 200))
stderr = Console(stderr=True, soft_wrap=True)


def error_line(message: str) -> None:
    """The one line a user mistake prints."""
    stderr.print(f"error: {message}", markup=False, highlight=False, soft_wrap=True)
