"""Sessions: `<home>/sessions/<id>/session.json` maps a command line to its runs and jobs.

A session records what was asked (the matrix request, environment, options) so it can be
resumed, and for every run the key of each stage job, so reports, `explain` and `export`
can find the jobs again. Reports are written beside it.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import time
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field

from orchestrator.errors import SessionNotFoundError, UserError
from orchestrator.matrix import MatrixRequest
from orchestrator.shards import ShardRecord, ShardSpec

SESSION_FILE = "session.json"
Status = Literal["running", "done", "failing", "incomplete"]


class SessionSpec(BaseModel):
    """What the user asked for; enough to run the same session again."""

    command: list[str] = Field(default_factory=list)
    env: str | None = None
    env_name: str
    request: MatrixRequest
    until: str = "RUN"
    runtime: str = "docker"
    label: str | None = None
    parallel: int = 1
    shard: ShardSpec | None = None
    """`--shard K/N`: only this share of the runs (a resume runs the same share)."""
    comment: str = ""


class RunRecord(BaseModel):
    index: int
    identity: dict[str, Any]
    jobs: dict[str, str | None] = Field(default_factory=dict)
    failing: bool = False
    incomplete: bool = False
    reason: str | None = None
    row: dict[str, Any] | None = None
    """The run's report row before postprocesses (`mcuorch merge` rebuilds reports from these)."""


class SessionRecord(BaseModel):
    id: str
    created: float
    pid: int | None = None
    """The process running the session (cleanup leaves a live session's jobs alone)."""
    finished: float | None = None
    status: Status = "running"
    spec: SessionSpec
    runs: list[RunRecord] = Field(default_factory=list)
    counts: dict[str, int] = Field(default_factory=dict)
    """How many jobs were executed, cached, failed, skipped, cancelled."""
    engine_lost: str | None = None
    """The address of a Docker engine that went away mid-session (its unfinished runs are
    Incomplete; `mcuorch run --resume ID` finishes them)."""
    shard: ShardRecord | None = None
    """Set when the session ran one shard of a matrix (`--shard K/N`)."""
    merged_from: list[str] = Field(default_factory=list)
    """Set on a session made by `mcuorch merge`: the shard sessions it combines."""

    def run(self, index: int) -> RunRecord:
        """Run `index` as commands name it; a UserError naming the session's runs otherwise."""
        found = next((r for r in self.runs if r.index == index), None)
        if found is None:
            known = ", ".join(str(r.index) for r in self.runs)
            raise UserError(f"session {self.id} has no run {index} (runs: {known})")
        return found


def new_session_id() -> str:
    return time.strftime("%Y%m%d-%H%M%S") + "-" + secrets.token_hex(2)


class SessionStore:
    """Session folders under `<home>/sessions`."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def path(self, session_id: str) -> Path:
        return self.root / session_id

    def create(self, spec: SessionSpec) -> SessionRecord:
        record = SessionRecord(id=new_session_id(), created=time.time(), pid=os.getpid(), spec=spec)
        self.path(record.id).mkdir(parents=True, exist_ok=False)
        self.save(record)
        return record

    def save(self, record: SessionRecord) -> None:
        folder = self.path(record.id)
        folder.mkdir(parents=True, exist_ok=True)
        tmp = folder / (SESSION_FILE + ".tmp")
        tmp.write_text(json.dumps(record.model_dump(mode="json"), indent=2))
        os.replace(tmp, folder / SESSION_FILE)

    def ids(self) -> list[str]:
        """Session ids (sorted by name)."""
        if not self.root.is_dir():
            return []
        return sorted(p.name for p in self.root.iterdir() if (p / SESSION_FILE).is_file())

    def load(self, session_id: str | None = None) -> SessionRecord:
        """A session by id (or unique prefix); None or 'latest' means the newest."""
        ids = self.ids()
        if not ids:
            raise SessionNotFoundError("no sessions yet")
        if session_id in (None, "latest"):
            return self.records()[-1]
        else:
            matches = [i for i in ids if i.startswith(session_id)]
            if len(matches) != 1:
                what = "no session" if not matches else f"{len(matches)} sessions"
                raise SessionNotFoundError(f"{what} match {session_id!r}; see `mcuorch sessions`")
            chosen = matches[0]
        return SessionRecord.model_validate_json((self.path(chosen) / SESSION_FILE).read_text())

    def records(self) -> list[SessionRecord]:
        """Every readable session record, oldest first (by creation time, not by id)."""
        out = []
        for session_id in self.ids():
            try:
                out.append(SessionRecord.model_validate_json((self.path(session_id) / SESSION_FILE).read_text()))
            except (OSError, ValueError):
                continue
        return sorted(out, key=lambda r: r.created)

    def remove(self, session_id: str) -> None:
        shutil.rmtree(self.path(session_id), ignore_errors=True)
