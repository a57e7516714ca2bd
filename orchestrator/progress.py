"""Progress display while a session runs.

On a terminal: a rich live line per stage (done/total, cached, failed). Not on a terminal:
one plain line per finished job, so CI logs stay readable. `--quiet`: nothing. With `-v`,
the job's stdout/stderr are streamed to the console while it runs, each line prefixed.
"""

from __future__ import annotations

import threading
from collections import Counter
from pathlib import Path
from typing import BinaryIO, Protocol

from rich.console import Console
from rich.live import Live
from rich.text import Text

from orchestrator.components.base import Stage
from orchestrator.outcome import JobOutcome, JobStatus
from orchestrator.plan import Plan, PlannedJob
from orchestrator.store import STDERR, STDOUT


class ProgressDisplay(Protocol):
    def start(self) -> None: ...
    def job_started(self, job: PlannedJob, staging: Path) -> None: ...
    def job_finished(self, outcome: JobOutcome) -> None: ...
    def stop(self) -> None: ...


def _label(job: PlannedJob) -> str:
    run = job.run
    names = {Stage.LOAD: run.model.name, Stage.BUILD: f"{run.model.name}/{run.backend}",
             Stage.COMPILE: f"{run.model.name}/{run.backend}/{run.target}",
             Stage.RUN: f"{run.model.name}/{run.backend}/{run.target}"}
    return f"{job.stage.value:<7} {names.get(job.stage, '')} {job.id[:8]}"


class _Tally:
    def __init__(self, plan: Plan) -> None:
        self.total = Counter(job.stage for job in plan.jobs)
        self.status: dict[Stage, Counter[JobStatus]] = {stage: Counter() for stage in self.total}

    def add(self, outcome: JobOutcome) -> None:
        self.status[outcome.job.stage][outcome.status] += 1

    def line(self) -> Text:
        text = Text()
        for stage, total in self.total.items():
            counts = self.status[stage]
            done = sum(counts.values())
            text.append(f"{stage.value} {done}/{total}", style="bold" if done < total else "green")
            extra = [f"{counts[s]} {s.value}" for s in (JobStatus.CACHED, JobStatus.DOWNLOADED, JobStatus.FAILED,
                                                          JobStatus.SKIPPED)
                     if counts[s]]
            if extra:
                text.append(f" ({', '.join(extra)})", style="red" if counts[JobStatus.FAILED] else "dim")
            text.append("   ")
        return text


class QuietProgress:
    def start(self) -> None: ...
    def job_started(self, job: PlannedJob, staging: Path) -> None: ...
    def job_finished(self, outcome: JobOutcome) -> None: ...
    def stop(self) -> None: ...


class PlainProgress(QuietProgress):
    """One line per finished job (non-TTY)."""

    def __init__(self, plan: Plan, console: Console) -> None:
        self.console = console
        self.tally = _Tally(plan)
        self._lock = threading.Lock()

    def job_finished(self, outcome: JobOutcome) -> None:
        with self._lock:
            self.tally.add(outcome)
            done = sum(sum(c.values()) for c in self.tally.status.values())
            total = sum(self.tally.total.values())
            detail = f" {outcome.reason}" if outcome.reason else ""
            if outcome.status is JobStatus.DONE:
                detail = f" {outcome.duration_sec:.1f}s"
            elif outcome.status is JobStatus.FAILED and outcome.log_dir:
                detail += f" (logs: {outcome.log_dir})"
            self.console.print(f"[{done}/{total}] {_label(outcome.job)} {outcome.status.value}{detail}",
                               markup=False, highlight=False)


class LiveProgress(PlainProgress):
    """Per-stage counts refreshed in place (TTY)."""

    def __init__(self, plan: Plan, console: Console) -> None:
        super().__init__(plan, console)
        self.live = Live(self.tally.line(), console=console, refresh_per_second=8, transient=False)

    def start(self) -> None:
        self.live.start()

    def job_finished(self, outcome: JobOutcome) -> None:
        with self._lock:
            self.tally.add(outcome)
            if outcome.status is JobStatus.FAILED:
                logs = f" (logs: {outcome.log_dir})" if outcome.log_dir else ""
                self.console.print(f"failed: {_label(outcome.job)}: {outcome.reason}{logs}", markup=False)
            self.live.update(self.tally.line())

    def stop(self) -> None:
        self.live.stop()


class LogStreamer:
    """Follows a running job's log files and prints new lines (for `-v`)."""

    def __init__(self, console: Console, interval_sec: float = 0.2) -> None:
        self.console = console
        self.interval_sec = interval_sec
        self._stops: dict[str, threading.Event] = {}
        self._final: dict[str, Path] = {}
        self._lock = threading.Lock()

    def follow(self, job: PlannedJob, staging: Path) -> None:
        stop = threading.Event()
        with self._lock:
            self._stops[job.id] = stop
        threading.Thread(target=self._tail, args=(job, staging, stop), daemon=True).start()

    def finished(self, outcome: JobOutcome) -> None:
        """Stop following; logs not opened yet are read from where the job's folder ended up."""
        final = outcome.published.path if outcome.published else outcome.log_dir
        with self._lock:
            if final is not None:
                self._final[outcome.job.id] = final
            stop = self._stops.pop(outcome.job.id, None)
        if stop is not None:
            stop.set()

    def _tail(self, job: PlannedJob, staging: Path, stop: threading.Event) -> None:
        """Open handles survive the staging folder being renamed when the job is published."""
        handles: dict[str, BinaryIO] = {}
        pending = {STDOUT: b"", STDERR: b""}
        prefix = f"[{job.stage.value} {job.id[:8]}]"
        try:
            while True:
                last = stop.wait(self.interval_sec)
                folder = self._final.get(job.id, staging) if last else staging
                for name in pending:
                    if name not in handles:
                        try:
                            handles[name] = open(folder / name, "rb")
                        except OSError:
                            continue
                    data = pending[name] + handles[name].read()
                    cut = len(data) if last else data.rfind(b"\n") + 1
                    pending[name] = data[cut:]
                    for line in data[:cut].decode(errors="replace").splitlines():
                        self.console.print(f"{prefix} {line}", markup=False, highlight=False)
                if last:
                    return
        finally:
            for handle in handles.values():
                handle.close()
            with self._lock:
                self._final.pop(job.id, None)


def make_progress(plan: Plan, console: Console, quiet: bool) -> PlainProgress | QuietProgress:
    if quiet:
        return QuietProgress()
    return LiveProgress(plan, console) if console.is_terminal else PlainProgress(plan, console)
