"""Progress of image builds: a live rich display on a terminal, plain lines otherwise.

Builds take minutes, so the user sees which image is at which Dockerfile step; CI logs
(no TTY) get one plain line per step instead of redraws, and `quiet` shows only notes.
"""

from __future__ import annotations

import sys
import threading
from typing import Protocol, TextIO

from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TaskID, TextColumn, TimeElapsedColumn

LINE_WIDTH = 110


class BuildProgress(Protocol):
    """What builds and bootstraps report; implementations must be thread-safe."""

    def begin(self, name: str, detail: str) -> None: ...

    def step(self, name: str, text: str) -> None: ...

    def note(self, text: str) -> None: ...

    def end(self, name: str, ok: bool) -> None: ...

    def close(self) -> None: ...


def _short(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= LINE_WIDTH else text[: LINE_WIDTH - 1] + "…"


class PlainProgress:
    """One line per event, for logs and pipes."""

    def __init__(self, stream: TextIO | None = None, quiet: bool = False) -> None:
        self._stream = stream or sys.stderr
        self._quiet = quiet
        self._lock = threading.Lock()

    def _write(self, line: str) -> None:
        with self._lock:
            print(line, file=self._stream, flush=True)

    def begin(self, name: str, detail: str) -> None:
        if not self._quiet:
            self._write(f"{name}: {detail}")

    def step(self, name: str, text: str) -> None:
        if not self._quiet:
            self._write(f"{name}: {_short(text)}")

    def note(self, text: str) -> None:
        self._write(text)

    def end(self, name: str, ok: bool) -> None:
        if not self._quiet:
            self._write(f"{name}: {'done' if ok else 'FAILED'}")

    def close(self) -> None:
        """Nothing to release."""


class RichProgress:
    """A spinner line per image showing its current step, redrawn in place."""

    def __init__(self, console: Console | None = None) -> None:
        self._console = console or Console(stderr=True)
        self._progress = Progress(SpinnerColumn(), TextColumn("[bold]{task.fields[image]}"),
                                  TextColumn("{task.description}"), TimeElapsedColumn(),
                                  console=self._console, transient=False)
        self._tasks: dict[str, TaskID] = {}
        self._lock = threading.Lock()
        self._progress.start()

    def begin(self, name: str, detail: str) -> None:
        with self._lock:
            self._tasks[name] = self._progress.add_task(_short(detail), image=name, total=None)

    def step(self, name: str, text: str) -> None:
        with self._lock:
            if name in self._tasks:
                self._progress.update(self._tasks[name], description=_short(text))

    def note(self, text: str) -> None:
        self._progress.console.print(text, highlight=False, markup=False)

    def end(self, name: str, ok: bool) -> None:
        with self._lock:
            if name in self._tasks:
                task = self._tasks.pop(name)
                self._progress.update(task, description="done" if ok else "[red]FAILED",
                                      total=1, completed=1)
                self._progress.stop_task(task)

    def close(self) -> None:
        self._progress.stop()


def make_progress(quiet: bool = False, console: Console | None = None) -> BuildProgress:
    """Rich on a terminal (unless quiet), plain lines otherwise."""
    console = console or Console(stderr=True)
    if console.is_terminal and not quiet:
        return RichProgress(console)
    return PlainProgress(quiet=quiet)
