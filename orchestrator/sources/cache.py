"""The source cache: one verified archive per (url, commit) under `<home>/sources/`.

Each entry is `<name>-<commit12>-<urlhash8>.tar.gz` (a `git archive` of the commit with one
top folder) beside a `.json` record saying where it came from and its sha256. Entries are
written to a temporary name and renamed, so a half-written archive never looks cached, and
every lookup checks the file against its record.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import tempfile
import time
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, ValidationError

from orchestrator.digest import file_digest
from orchestrator.environment import Source
from orchestrator.sources.errors import SourceError

ARCHIVE_SUFFIX = ".tar.gz"
RECORD_SUFFIX = ".json"


def normalize_url(url: str) -> str:
    """URLs that name the same repository compare equal (case of the host, `.git`, `/`)."""
    url = url.strip().rstrip("/")
    url = url[:-4] if url.endswith(".git") else url
    scheme, sep, rest = url.partition("://")
    if not sep:
        return url
    host, slash, path = rest.partition("/")
    return f"{scheme.lower()}://{host.lower()}{slash}{path}"


def repo_name(url: str) -> str:
    """The repository's own name from its URL (`.../CMSIS-NN.git` → `cmsis-nn`)."""
    base = normalize_url(url).rsplit("/", 1)[-1]
    return re.sub(r"[^a-z0-9_.-]+", "-", base.lower()).strip("-") or "source"


def source_identity(source: Source) -> str:
    """What names a source's content: the commit for git, the version for downloads."""
    return source.commit if source.commit else source.ref


def archive_name(source: Source) -> str:
    """File name of a source's archive in the cache (without folder)."""
    url_hash = hashlib.sha256(normalize_url(source.url).encode()).hexdigest()[:8]
    ident = re.sub(r"[^A-Za-z0-9_.-]+", "-", source_identity(source))[:12]
    return f"{repo_name(source.url)}-{ident}-{url_hash}{ARCHIVE_SUFFIX}"


class CachedSource(BaseModel):
    """The record beside a cached archive."""

    model_config = ConfigDict(frozen=True)

    url: str
    ref: str
    commit: str | None
    sha256: str
    size: int
    origin: Literal["git", "import"]
    origin_path: str
    """The clone URL, or the mirror archive the entry was imported from."""
    created: float
    archive: Path


class SourceCache:
    """Archives under one folder (`<home>/sources`)."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def archive_path(self, source: Source) -> Path:
        return self.root / archive_name(source)

    def _record_path(self, source: Source) -> Path:
        return self.archive_path(source).with_suffix("").with_suffix(RECORD_SUFFIX)

    def lookup(self, source: Source, *, verify: bool = True) -> CachedSource | None:
        """The cached entry, or None when absent; a damaged entry is an error, not a miss."""
        archive, record_path = self.archive_path(source), self._record_path(source)
        if not archive.is_file() or not record_path.is_file():
            return None
        try:
            record = CachedSource.model_validate_json(record_path.read_text())
        except (ValidationError, ValueError):
            raise SourceError(f"source cache entry {record_path} is damaged; delete it and fetch again") from None
        if verify:
            actual = file_digest(archive)
            if actual != record.sha256:
                raise SourceError(f"cached archive {archive} has sha256 {actual[:12]}…, its record says "
                                  f"{record.sha256[:12]}…: delete it and run `mcuorch sources fetch` again")
        return record.model_copy(update={"archive": archive})

    def store(self, source: Source, archive: Path, *, origin: Literal["git", "import"], origin_path: str,
              move: bool = False) -> CachedSource:
        """Put `archive` into the cache atomically (copied, or moved when `move`)."""
        self.root.mkdir(parents=True, exist_ok=True)
        target = self.archive_path(source)
        fd, tmp_name = tempfile.mkstemp(prefix=".incoming-", dir=self.root)
        os.close(fd)
        tmp = Path(tmp_name)
        try:
            if move:
                shutil.move(str(archive), tmp)
            else:
                shutil.copyfile(archive, tmp)
            digest = file_digest(tmp)
            record = CachedSource(url=source.url, ref=source.ref, commit=source.commit, sha256=digest,
                                  size=tmp.stat().st_size, origin=origin, origin_path=origin_path,
                                  created=time.time(), archive=target)
            os.replace(tmp, target)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        record_tmp = self._record_path(source).with_suffix(".json.tmp")
        record_tmp.write_text(record.model_dump_json(indent=2) + "\n")
        os.replace(record_tmp, self._record_path(source))
        return record
