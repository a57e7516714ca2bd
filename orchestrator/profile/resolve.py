"""Which runs `mcuorch profile REF` means, named like `mcuorch size`/`explain` name things: a run
index of a session (default the latest), a session id (every profiled run in it), a RUN job
key (prefix), or a folder holding profile_summary.json (a RUN job, its outputs/)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from orchestrator.components.base import Stage
from orchestrator.errors import UserError
from orchestrator.explain import find_job, is_session_ref
from orchestrator.profile.outputs import SUMMARY_FILE
from orchestrator.session import RunRecord, SessionRecord, SessionStore
from orchestrator.store import JobStore


@dataclass(frozen=True)
class ProfiledRun:
    label: str
    """How the run is named in output: session, index, model/backend/target."""
    stem: str
    """File name stem for its chart."""
    folder: Path
    """The RUN outputs holding profile.json and profile_summary.json."""


def _folder(path: Path) -> Path | None:
    for folder in (path, path / "outputs"):
        if (folder / SUMMARY_FILE).is_file():
            return folder
    return None


def _from_record(record: SessionRecord, run: RunRecord, store: JobStore) -> ProfiledRun | None:
    job = store.lookup_any(Stage.RUN.value, run.jobs.get(Stage.RUN.value))
    folder = _folder(job.outputs) if job is not None else None
    if folder is None:
        return None
    who = "/".join(str(run.identity.get(k, "?")) for k in ("model", "backend", "target"))
    return ProfiledRun(f"session {record.id} run {run.index} ({who})", f"profile-{record.id}-run{run.index}", folder)


def profiled_runs(ref: str | None, session: str | None, sessions: SessionStore, store: JobStore) -> list[ProfiledRun]:
    """The profiled runs `ref` names; one error line when there are none."""
    path = Path(ref).expanduser() if ref else None
    if path is not None and path.exists():
        folder = _folder(path.parent if path.is_file() else path)
        if folder is None:
            raise UserError(f"{ref} holds no {SUMMARY_FILE} (give a RUN job folder of a run with -f profile)")
        return [ProfiledRun(str(folder), "profile", folder)]
    if ref is None or is_session_ref(ref):
        record = sessions.load(ref or session)
        found = [p for run in record.runs if (p := _from_record(record, run, store)) is not None]
        if not found:
            raise UserError(f"session {record.id} has no profiled run (run with -f profile on a QEMU target)")
        return found
    if ref.isdigit():
        record = sessions.load(session)
        run = record.run(int(ref))
        profiled = _from_record(record, run, store)
        if profiled is None:
            raise UserError(f"run {ref} of session {record.id} has no profile (run it with -f profile)")
        return [profiled]
    if "/" in ref or ref.startswith("."):
        raise UserError(f"{ref} does not exist")
    job = find_job(store, ref)
    folder = _folder(job.outputs)
    if job.record.stage != Stage.RUN.value or folder is None:
        raise UserError(f"job {ref} is a {job.record.stage} job without a profile, not a profiled RUN job")
    return [ProfiledRun(f"RUN job {job.record.key[:16]}", f"profile-{job.record.key[:16]}", folder)]

