"""The scheduler: runs a plan's jobs in dependency order on N worker threads.

Workers mostly wait on subprocesses or containers, so threads are enough (see
benchmarks/orchestration.py for the threads-vs-processes measurement). A failed job fails
only the jobs below it; every other job still runs. When `cancel` is set (Ctrl+C/SIGTERM),
nothing new starts, the runtime kills what is running, and the jobs never finished come back
as CANCELLED so the report can mark their runs `Incomplete`.

Two faults are the session's, not a job's. A lost Docker engine (`EngineLostError`) stops the
session as a cancel would (no job is tried against a dead engine) and is kept in
`engine_lost`; an image removed mid-session (`ImageMissingError`) leaves the jobs that need it
unfinished (`Incomplete`, not `Failing`: nothing is wrong with the run) and is kept in
`image_missing`. Both are finished by running the command again (or `--resume`).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait

from orchestrator.errors import EngineLostError, ImageMissingError, McuorchError, disk_full_message
from orchestrator.executor import JobExecutor
from orchestrator.outcome import JobOutcome, JobStatus
from orchestrator.plan import Plan, PlannedJob

JobFinished = Callable[[JobOutcome], None]
POLL_SEC = 0.1


class Scheduler:
    """Dependency-ordered, parallel execution with failure isolation and cancellation."""

    def __init__(self, executor: JobExecutor, parallel: int = 1, on_finish: JobFinished | None = None) -> None:
        if parallel < 1:
            raise ValueError("parallel must be at least 1")
        self.executor = executor
        self.parallel = parallel
        self.on_finish = on_finish
        self.engine_lost: EngineLostError | None = None
        self.image_missing: ImageMissingError | None = None
        self._lock = threading.Lock()

    def _safe_execute(self, job: PlannedJob, outcomes: dict[str, JobOutcome], halt: threading.Event) -> JobOutcome:
        upstream = {stage: outcomes[dep.id] for stage, dep in job.upstream.items()}
        image = self.executor.images[job.image]
        try:
            return self.executor.execute(job, upstream, halt)
        except EngineLostError as exc:  # every job after this one would fail the same way
            with self._lock:
                self.engine_lost = self.engine_lost or exc
            halt.set()
            return JobOutcome(job=job, status=JobStatus.CANCELLED, image=image,
                              reason=f"{exc.message} @ {job.stage.value}")
        except ImageMissingError as exc:
            with self._lock:
                self.image_missing = self.image_missing or exc
            return JobOutcome(job=job, status=JobStatus.CANCELLED, image=image,
                              reason=f"{exc.message} @ {job.stage.value}")
        except Exception as exc:  # an error fails this job only, and says where
            full = disk_full_message(exc) if isinstance(exc, OSError) else None
            what = full or (exc.message if isinstance(exc, McuorchError) else
                            f"internal error: {type(exc).__name__}: {exc}")
            return JobOutcome(job=job, status=JobStatus.FAILED, image=image, reason=f"{what} @ {job.stage.value}")

    def run(self, plan: Plan, cancel: threading.Event) -> dict[str, JobOutcome]:
        """Execute every job; returns an outcome for every job of the plan."""
        outcomes: dict[str, JobOutcome] = {}
        pending = list(plan.jobs)
        running: dict[Future[JobOutcome], PlannedJob] = {}
        halt = threading.Event()
        """What jobs see as their cancel: the user's cancel, or a lost engine."""

        def finish(outcome: JobOutcome) -> None:
            outcomes[outcome.job.id] = outcome
            if self.on_finish:
                self.on_finish(outcome)

        with ThreadPoolExecutor(max_workers=self.parallel, thread_name_prefix="mcuorch-job") as pool:
            while pending or running:
                if cancel.is_set():
                    halt.set()
                if not halt.is_set():
                    pending = self._submit_ready(pending, outcomes, running, pool, halt, finish)
                if not running:
                    break
                done, _ = wait(running, timeout=POLL_SEC, return_when=FIRST_COMPLETED)
                for future in done:
                    running.pop(future)
                    finish(future.result())
        why = self.engine_lost.message if self.engine_lost is not None else "cancelled"
        for job in pending:
            finish(JobOutcome(job=job, status=JobStatus.CANCELLED, image=self.executor.images[job.image],
                              reason=f"{why} @ {job.stage.value}"))
        return outcomes

    def _submit_ready(self, pending: list[PlannedJob], outcomes: dict[str, JobOutcome],
                      running: dict[Future[JobOutcome], PlannedJob], pool: ThreadPoolExecutor,
                      halt: threading.Event, finish: JobFinished) -> list[PlannedJob]:
        """Submit jobs whose inputs are ready, skip those below a failure; return the rest."""
        still: list[PlannedJob] = []
        for job in pending:
            deps = [outcomes.get(dep.id) for dep in job.upstream.values()]
            broken = next((d for d in deps if d is not None and not d.status.ok), None)
            if broken is not None:
                status = JobStatus.CANCELLED if broken.status is JobStatus.CANCELLED else JobStatus.SKIPPED
                finish(JobOutcome(job=job, status=status, image=self.executor.images[job.image],
                                  reason=broken.reason, log_dir=broken.log_dir))
            elif all(d is not None for d in deps):
                running[pool.submit(self._safe_execute, job, outcomes, halt)] = job
            else:
                still.append(job)
        return still
