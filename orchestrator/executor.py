"""Executes one planned job: real key, cache lookup, lock, runtime, collect, publish.

Runs in a scheduler worker thread. A job whose key is already published is a cache hit
(unless `rerun`); otherwise it runs in its staging directory under the key's lock, its exit
code is checked against the stage's accepted set, its metrics are collected, and only then is
it published. Failed or cancelled attempts are moved to the session's `failed/` folder so
their logs stay readable. With a remote tier (orchestrator.remote_cache), a local miss is looked
up remotely before it executes, and what executes (or is found only locally) is uploaded.
"""

from __future__ import annotations

import json
import shutil
import threading
import time
from collections.abc import Callable
from pathlib import Path

from orchestrator.components.base import FinishedJob, Metric, Stage, StageContext
from orchestrator.digest import digest_dir
from orchestrator.errors import CollectError
from orchestrator.outcome import JobOutcome, JobStatus
from orchestrator.paths import ProjectPaths
from orchestrator.plan import KeyInputs, PlannedJob
from orchestrator.remote_cache import RemoteCache
from orchestrator.runtime.base import ExecRequest, ExecResult, ImageRef, Mount, Runtime
from orchestrator.store import (
    EXIT_CODE,
    OUTPUTS,
    STDERR,
    STDOUT,
    ImageRecord,
    JobRecord,
    JobStore,
    MountRecord,
    PublishedJob,
)

JobStarted = Callable[[PlannedJob, Path], None]


def _job_metrics(out: Path) -> dict[str, Metric]:
    """`OUT/metrics.json` written by the job itself: a flat object of scalars."""
    path = out / "metrics.json"
    if not path.is_file():
        return {}
    data = json.loads(path.read_text())
    if not isinstance(data, dict):
        raise CollectError("OUT/metrics.json is not a JSON object")
    return {str(k): v for k, v in data.items() if isinstance(v, (int, float, str, bool))}


ERROR_PREFIX = "error: "
REASON_CHARS = 200


def tool_error(stderr: Path) -> str | None:
    """The last `error: ...` line an image-side tool printed (its one-line explanation)."""
    try:
        with stderr.open("rb") as handle:
            handle.seek(max(0, stderr.stat().st_size - 8192))
            tail = handle.read().decode("utf-8", errors="replace")
    except OSError:
        return None
    lines = [line.strip() for line in tail.splitlines() if line.strip().startswith(ERROR_PREFIX)]
    if not lines:
        return None
    message = lines[-1][len(ERROR_PREFIX):]
    return message if len(message) <= REASON_CHARS else message[: REASON_CHARS - 3] + "..."


class JobExecutor:
    """Everything one session needs to execute jobs; `execute` is thread-safe."""

    def __init__(self, *, store: JobStore, runtime: Runtime, images: dict[str, ImageRef],
                 project: ProjectPaths, session_id: str, failed_dir: Path, rerun: bool = False,
                 on_start: JobStarted | None = None, remote: RemoteCache | None = None) -> None:
        self.store = store
        self.runtime = runtime
        self.images = images
        self.project = project
        self.session_id = session_id
        self.failed_dir = failed_dir
        self.rerun = rerun
        self.on_start = on_start
        self.remote = remote
        self._done_here: set[str] = set()
        self._done_lock = threading.Lock()

    def _hit(self, stage: Stage, key: str) -> bool:
        with self._done_lock:
            if key in self._done_here:
                return True
        return not self.rerun

    def execute(self, job: PlannedJob, upstream: dict[Stage, JobOutcome], cancel: threading.Event) -> JobOutcome:
        image = self.images[job.image]
        if cancel.is_set():
            return JobOutcome(job=job, status=JobStatus.CANCELLED, image=image, reason=f"cancelled @ {job.stage.value}")
        digests = {s: o.published.record.outputs_digest for s, o in upstream.items() if o.published}
        inputs = {s.value: o.published.outputs for s, o in upstream.items() if o.published}
        key_inputs = job.real_key_inputs(digests)
        key = key_inputs.key()
        if self._hit(job.stage, key) and (hit := self.store.verified(job.stage, key)):
            self._share(hit)
            return JobOutcome(job=job, status=JobStatus.CACHED, image=image, key=key, published=hit)
        with self.store.lock(job.stage, key):
            if self._hit(job.stage, key) and (hit := self.store.verified(job.stage, key, discard=True)):
                self._share(hit)
                return JobOutcome(job=job, status=JobStatus.CACHED, image=image, key=key, published=hit)
            if cancel.is_set():
                return JobOutcome(job=job, status=JobStatus.CANCELLED, image=image, key=key,
                                  reason=f"cancelled @ {job.stage.value}")
            if self.remote is not None and not self.rerun:
                fetched = self.remote.fetch(self.store, job.stage, key)
                if fetched is not None:
                    return JobOutcome(job=job, status=JobStatus.DOWNLOADED, image=image, key=key, published=fetched)
            return self._run(job, key, key_inputs, inputs, image, cancel)

    def _share(self, job: PublishedJob) -> None:
        """A local hit the remote tier lacks (computed before it was configured) is uploaded."""
        remote = self.remote
        if remote is not None and remote.settings.writable and not remote.has(Stage(job.record.stage), job.record.key):
            remote.upload(job, self.session_id)

    def _run(self, job: PlannedJob, key: str, key_inputs: KeyInputs, inputs: dict[str, Path], image: ImageRef,
             cancel: threading.Event) -> JobOutcome:
        stage = job.stage
        staging = self.store.prepare_staging(stage, key)
        out = staging / OUTPUTS
        ctx = StageContext(run=job.run, config=job.run.configs, inputs=inputs, out=out, project=self.project)
        spec = job.component.job(ctx)
        mounts = [Mount(path=p, read_only=True) for p in spec.inputs] + [Mount(path=out, read_only=False)]
        for cache in spec.caches:
            cache.mkdir(parents=True, exist_ok=True)
            mounts.append(Mount(path=cache, read_only=False))
        request = ExecRequest(image=image, argv=spec.argv, mounts=mounts, env=spec.env, workdir=out,
                              network=spec.network, timeout_sec=spec.timeout_sec,
                              stdout_path=staging / STDOUT, stderr_path=staging / STDERR,
                              labels={"mcuorch.session": self.session_id, "mcuorch.stage": stage.value,
                                      "mcuorch.key": key})
        if self.on_start:
            self.on_start(job, staging)
        started = time.time()
        result = self.runtime.run(request, cancel)
        (staging / EXIT_CODE).write_text("" if result.exit_code is None else f"{result.exit_code}\n")
        reason = self._failure(result, spec.accepted_exit_codes, stage, request.stderr_path)
        metrics: dict[str, Metric] = {}
        if reason is None:
            finished = FinishedJob(stage=stage, out=out, stdout=request.stdout_path, stderr=request.stderr_path,
                                   exit_code=result.exit_code or 0, inputs=inputs)
            try:
                metrics = {**_job_metrics(out), **job.component.collect(finished, ctx)}
            except (CollectError, ValueError, OSError) as exc:
                message = exc.message if isinstance(exc, CollectError) else f"bad outputs: {exc}"
                reason = f"{message} @ {stage.value}"
        if reason is not None:
            status = JobStatus.CANCELLED if result.cancelled else JobStatus.FAILED
            log_dir = self._keep_failed(staging, stage, key)
            return JobOutcome(job=job, status=status, image=image, key=key, reason=reason, log_dir=log_dir,
                              duration_sec=result.duration_sec)
        record = JobRecord(
            key=key, stage=stage.value, argv=spec.argv,
            image=ImageRecord(name=image.name, tag=image.tag, identity=key_inputs.image),
            runtime=self.runtime.name, env=spec.env,
            mounts=[MountRecord(path=str(m.path), read_only=m.read_only) for m in mounts],
            key_inputs=key_inputs, started=started, finished=time.time(), duration_sec=result.duration_sec,
            exit_code=result.exit_code or 0, outputs_digest=digest_dir(out), session=self.session_id)
        published = self.store.publish(staging, stage, key, record, metrics)
        if self.remote is not None:
            self.remote.upload(published, self.session_id)
        with self._done_lock:
            self._done_here.add(key)
        return JobOutcome(job=job, status=JobStatus.DONE, image=image, key=key, published=published,
                          duration_sec=result.duration_sec)

    @staticmethod
    def _failure(result: ExecResult, accepted: frozenset[int], stage: Stage, stderr: Path) -> str | None:
        if result.cancelled:
            return f"cancelled @ {stage.value}"
        if result.timed_out:
            return f"timeout @ {stage.value}"
        if result.killed:
            return f"{result.killed} @ {stage.value}"
        if result.exit_code not in accepted:
            said = tool_error(stderr)
            return f"exit code {result.exit_code} @ {stage.value}" + (f": {said}" if said else "")
        return None

    def _keep_failed(self, staging: Path, stage: Stage, key: str) -> Path:
        target = self.failed_dir / f"{stage.value}-{key[:16]}"
        target.parent.mkdir(parents=True, exist_ok=True)
        if target.exists():
            shutil.rmtree(target)
        shutil.move(str(staging), str(target))
        return target
