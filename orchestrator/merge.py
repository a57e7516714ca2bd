"""`mcuorch merge`: shard sessions (`run --shard K/N`) → one session and one report.

Each shard keeps, per run, its report row before postprocesses (session.json `runs[].row`).
The merge checks that the shards are the N pieces of one matrix — same command, runs,
environment and image identities, every shard once — then orders the rows by run, builds the
frame with the same code as a session does and applies the session's postprocesses to the
whole, so the merged report equals the unsharded one row for row and value for value (only
the `Session` column names the merged session). Shards of different sessions are refused
with one line that says what differs.
"""

from __future__ import annotations

import os
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from orchestrator.components.base import ComponentConfig
from orchestrator.components.registry import Registry, default_registry
from orchestrator.environment import load_environment
from orchestrator.errors import UserError
from orchestrator.matrix import MatrixBuilder
from orchestrator.paths import HomePaths
from orchestrator.report.frame import report_frame
from orchestrator.runner import apply_postprocesses, save_reports
from orchestrator.session import SESSION_FILE, RunRecord, SessionRecord, SessionSpec, SessionStore, Status
from orchestrator.shards import ShardRecord, environment_digest

COMMAND_FIELDS = {
    "models": "models", "frontends": "--frontend", "backends": "-b/--backend", "platforms": "--platform",
    "targets": "-t/--target", "features": "-f/--feature", "config": "-c/--config", "feature_gen": "--feature-gen",
    "config_gen": "--config-gen", "postprocesses": "--postprocess",
}
"""MatrixRequest fields as the command line spells them (for the mismatch message)."""


class MergeError(UserError):
    """Shards that are not the pieces of one session: one line saying what differs."""


@dataclass(frozen=True)
class ShardSession:
    folder: Path
    record: SessionRecord

    @property
    def shard(self) -> ShardRecord:
        if self.record.shard is None:  # find_sessions keeps shard sessions only
            raise ValueError(f"session {self.record.id} is not a shard")
        return self.record.shard

    @property
    def name(self) -> str:
        return f"shard {self.shard.index}/{self.shard.count} (session {self.record.id})"


@dataclass
class MergeResult:
    record: SessionRecord
    report: pd.DataFrame
    report_files: list[Path]
    shards: list[ShardSession]

    @property
    def exit_code(self) -> int:
        return 0 if self.record.status == "done" else 1


def _read(path: Path) -> SessionRecord:
    try:
        return SessionRecord.model_validate_json(path.read_text())
    except (OSError, ValueError) as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise MergeError(f"{path} is not a readable session record: {first}") from None


def find_sessions(paths: list[Path]) -> list[ShardSession]:
    """Sessions in `paths`: a session folder, or any folder holding some (a downloaded CI
    artifact, a home's `sessions/`), searched recursively."""
    if not paths:
        raise MergeError("give the shard session folders to merge (or folders that hold them)")
    found: dict[Path, ShardSession] = {}
    for path in paths:
        if not path.exists():
            raise MergeError(f"{path} does not exist")
        if (path / SESSION_FILE).is_file():  # named explicitly: it must be a shard
            session = ShardSession(folder=path, record=_read(path / SESSION_FILE))
            if session.record.shard is None:
                raise MergeError(f"session {session.record.id} ({path}) is not a shard; "
                                 "merge takes sessions run with --shard K/N")
            found.setdefault(path.resolve(), session)
            continue
        shards = [ShardSession(folder=file.parent, record=record) for file in sorted(path.rglob(SESSION_FILE))
                  if (record := _read(file)).shard is not None]  # other sessions in a home are not ours
        if not shards:
            raise MergeError(f"{path} holds no shard session (no {SESSION_FILE} of a --shard run in it or below it)")
        for session in shards:
            found.setdefault(session.folder.resolve(), session)
    return list(found.values())


def _command_difference(a: SessionSpec, b: SessionSpec) -> str:
    request_a, request_b = a.request.model_dump(), b.request.model_dump()
    for key, flag in COMMAND_FIELDS.items():
        if request_a[key] != request_b[key]:
            return f"{flag} {request_a[key]} vs {request_b[key]}"
    for key, flag in (("until", "--until"), ("runtime", "--runtime"), ("comment", "--comment")):
        if getattr(a, key) != getattr(b, key):
            return f"{flag} {getattr(a, key)!r} vs {getattr(b, key)!r}"
    return "a different matrix request"


def _difference(a: ShardSession, b: ShardSession) -> str | None:
    """What makes `b` a piece of another session than `a`, or None."""
    fa, fb = a.shard.fingerprint, b.shard.fingerprint
    if a.shard.count != b.shard.count:
        return f"a different split: {a.shard.index}/{a.shard.count} vs {b.shard.index}/{b.shard.count}"
    if fa.command != fb.command:
        return f"a different command: {_command_difference(a.record.spec, b.record.spec)}"
    if fa.environment != fb.environment:
        same_name = fa.environment_name == fb.environment_name
        return (f"a different environment: {fa.environment_name} "
                f"{'rendered differently' if same_name else 'vs ' + fb.environment_name}")
    if fa.images != fb.images:
        name = next(n for n in sorted({*fa.images, *fb.images}) if fa.images.get(n) != fb.images.get(n))
        return f"different image tags: {name} {fa.images.get(name, 'absent')} vs {fb.images.get(name, 'absent')}"
    if fa.runs != fb.runs:
        return "different runs (model files, target software or config resolved differently)"
    return None


def check_shards(sessions: list[ShardSession]) -> list[ShardSession]:
    """The shards in order, or one MergeError naming the first problem."""
    ordered = sorted(sessions, key=lambda s: (s.shard.index, s.record.created))
    first = ordered[0]
    for other in ordered[1:]:
        difference = _difference(first, other)
        if difference is not None:
            raise MergeError(f"{other.name} does not belong with {first.name}: {difference}")
    seen: dict[int, ShardSession] = {}
    for session in ordered:
        if session.shard.index in seen:
            raise MergeError(f"shard {session.shard.index}/{session.shard.count} given twice: sessions "
                             f"{seen[session.shard.index].record.id} and {session.record.id}")
        seen[session.shard.index] = session
    missing = [i for i in range(1, first.shard.count + 1) if i not in seen]
    if missing:
        names = ", ".join(f"{i}/{first.shard.count}" for i in missing)
        raise MergeError(f"shard {names} missing: give the session folder of every shard")
    for session in ordered:
        recorded = sorted(run.index for run in session.record.runs if run.row is not None)
        if recorded != sorted(session.shard.runs):
            raise MergeError(f"{session.name} has no results for some of its runs (status {session.record.status}); "
                             f"finish it with: mcuorch run --resume {session.record.id}")
    covered = sorted(i for s in ordered for i in s.shard.runs)
    if covered != list(range(first.shard.total_runs)):
        raise MergeError(f"the shards hold runs {covered} of a {first.shard.total_runs}-run matrix")
    return ordered


def _postprocesses(shards: list[ShardSession]) -> tuple[list[tuple[str, ComponentConfig]], Registry]:
    """The session's postprocesses, configured by the environment as the shards' were."""
    spec = shards[0].record.spec
    registry = default_registry()
    if not spec.request.postprocesses:
        return [], registry
    env = load_environment(spec.env)
    if environment_digest(env) != shards[0].shard.fingerprint.environment:
        raise MergeError(f"environment {spec.env or env.name} here differs from the one the shards ran with; "
                         "merge from the same checkout (it configures the postprocesses)")
    builder = MatrixBuilder(env, registry)
    return builder.postprocess_configs(spec.request), builder.registry


def _status(runs: list[RunRecord]) -> Status:
    if any(run.incomplete for run in runs):
        return "incomplete"
    return "failing" if any(run.failing for run in runs) else "done"


def merge(sessions: list[ShardSession], home: HomePaths, label: str | None = None,
          command: list[str] | None = None) -> MergeResult:
    """Check the shards, write the merged session (record and report) into `home`."""
    shards = check_shards(sessions)
    postprocesses, registry = _postprocesses(shards)
    runs = sorted((run for s in shards for run in s.record.runs), key=lambda r: r.index)
    store = SessionStore(home.sessions)
    first = shards[0].record
    spec = first.spec.model_copy(update={"shard": None, "label": label or first.spec.label,
                                         "command": command or first.spec.command})
    record = store.create(spec)
    rows: list[dict[str, Any]] = [{**(run.row or {}), "Session": record.id} for run in runs]
    df = apply_postprocesses(report_frame(rows), postprocesses, registry)
    files = save_reports(df, store.path(record.id), home.results, record.id, spec.label)
    counts: Counter[str] = Counter()
    for shard in shards:
        counts.update(shard.record.counts)
    record = record.model_copy(update={
        "finished": time.time(), "status": _status(runs), "pid": os.getpid(), "counts": dict(counts),
        "runs": [run.model_copy(update={"row": row}) for run, row in zip(runs, rows)],
        "merged_from": [s.record.id for s in shards],
    })
    store.save(record)
    return MergeResult(record=record, report=df, report_files=files, shards=shards)
