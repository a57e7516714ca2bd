"""`mcuorch sources fetch`: fill the cache with every source an environment's images need.

Per source: already cached (verified) → nothing to do; else imported from a mirror folder
(`--from DIR` or `MCUORCH_SOURCES_FROM`) whose manifest lists the same url and commit, with the
archive's sha256 checked against the manifest and the environment's pin; else fetched from
its URL (git: the pinned commit; downloads: the file, checked against the pinned sha256).
"""

from __future__ import annotations

import os
import tempfile
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from orchestrator.digest import file_digest
from orchestrator.environment import Environment, Source
from orchestrator.sources.cache import CachedSource, SourceCache, source_identity
from orchestrator.sources.errors import SourceError, SourceMissingError
from orchestrator.sources.git import archive_from_git
from orchestrator.sources.manifest import Manifest, read_manifest

FROM_ENV = "MCUORCH_SOURCES_FROM"
DOWNLOAD_TIMEOUT_SEC = 600

Outcome = Literal["cached", "imported", "fetched"]
Report = Callable[[str, str], None]
"""(source key, message) → None: progress lines."""


@dataclass(frozen=True)
class FetchResult:
    key: str
    source: Source
    outcome: Outcome
    entry: CachedSource
    note: str = ""


def needed_sources(env: Environment, include_all: bool = False) -> dict[str, Source]:
    """The repos the environment's images build from (every pinned repo with `include_all`)."""
    if include_all:
        return dict(env.repos)
    keys = dict.fromkeys(key for image in env.images.values() for key in image.sources)
    return {key: env.repos[key] for key in keys}


def mirror_from_environ() -> Path | None:
    value = os.environ.get(FROM_ENV, "").strip()
    return Path(value).expanduser() if value else None


def fetch_command(env_name: str) -> str:
    """The command that gets an environment's sources (for error messages)."""
    return f"mcuorch sources fetch --env {env_name} (offline: --from DIR or {FROM_ENV}=DIR)"


def describe(source: Source) -> str:
    return f"{source.url} at {source_identity(source)}"


def _import(key: str, source: Source, mirror: Manifest, cache: SourceCache) -> FetchResult | None:
    entry = mirror.find(source)
    if entry is None:
        return None
    path = mirror.path(entry)
    if not path.is_file():
        raise SourceError(f"{key}: {mirror.folder}/MANIFEST.tsv lists {entry.archive}, which is missing")
    actual = file_digest(path)
    if actual != entry.sha256:
        raise SourceError(f"{key}: {path} has sha256 {actual}, its manifest says {entry.sha256}: "
                          "the mirror is damaged")
    if source.sha256 is not None and actual != source.sha256:
        raise SourceError(f"{key}: {path} has sha256 {actual}, the environment pins {source.sha256}")
    if source.commit is not None and entry.commit != source.commit:
        raise SourceError(f"{key}: {path} is commit {entry.commit}, the environment pins {source.commit}")
    stored = cache.store(source, path, origin="import", origin_path=str(path))
    note = f"(lacks {', '.join(entry.absent)})" if entry.absent else ""
    return FetchResult(key=key, source=source, outcome="imported", entry=stored, note=note)


def _download(source: Source, dest: Path) -> None:
    try:
        with urllib.request.urlopen(source.url, timeout=DOWNLOAD_TIMEOUT_SEC) as response, dest.open("wb") as out:
            while chunk := response.read(1 << 20):
                out.write(chunk)
    except (urllib.error.URLError, OSError) as exc:
        raise SourceError(f"download failed: {getattr(exc, 'reason', exc)}") from None


def _fetch(key: str, source: Source, cache: SourceCache) -> FetchResult:
    with tempfile.TemporaryDirectory(prefix="mcuorch-source-") as tmp:
        archive = Path(tmp) / "source.tar.gz"
        if source.is_git:
            archive_from_git(source, archive)
        else:
            _download(source, archive)
        digest = file_digest(archive)
        note = ""
        if source.sha256 is not None and digest != source.sha256:
            if not source.is_git:
                raise SourceError(f"{key}: {source.url} has sha256 {digest}, the environment pins {source.sha256}")
            # git checked every object against the pinned commit: the tree is exactly right, only
            # the archive's compressed bytes differ (another git's gzip), so the pin still holds.
            note = "archive bytes differ from the pinned mirror archive; content verified by commit"
        stored = cache.store(source, archive, origin="git" if source.is_git else "import",
                             origin_path=source.url, move=True)
    return FetchResult(key=key, source=source, outcome="fetched", entry=stored, note=note)


def fetch_sources(env: Environment, cache: SourceCache, *, mirror_dir: Path | None = None,
                  offline: bool = False, include_all: bool = False,
                  report: Report | None = None) -> list[FetchResult]:
    """Make every needed source of `env` present in `cache`; the first failure raises."""
    mirror = read_manifest(mirror_dir) if mirror_dir is not None else None
    results: list[FetchResult] = []
    for key, source in needed_sources(env, include_all).items():
        cached = cache.lookup(source)
        if cached is not None:
            results.append(FetchResult(key=key, source=source, outcome="cached", entry=cached))
            continue
        if report:
            report(key, f"getting {describe(source)}")
        result = _import(key, source, mirror, cache) if mirror is not None else None
        if result is None:
            if offline or (mirror is not None and not source.is_git and source.sha256 is None):
                where = f" is not in {mirror_dir}" if mirror is not None else " is not cached"
                raise SourceMissingError(f"{key}: {describe(source)}{where} (offline); "
                                         f"get it with: {fetch_command(env.name)}")
            try:
                result = _fetch(key, source, cache)
            except SourceError as exc:
                where = f"not in {mirror_dir}, and " if mirror is not None else ""
                raise SourceMissingError(f"{key}: {describe(source)}: {where}{exc.message}") from None
        results.append(result)
        if report:
            report(key, f"{result.outcome} {result.entry.archive.name} ({result.entry.size / 1e6:.1f} MB)"
                        + (f" {result.note}" if result.note else ""))
    return results


def require_cached(key: str, source: Source, cache: SourceCache, env_name: str) -> CachedSource:
    """The cached archive of an image's source, or one line saying how to get it."""
    cached = cache.lookup(source)
    if cached is None:
        raise SourceMissingError(f"source {key!r} ({describe(source)}) is not in the source cache "
                                 f"{cache.root}; run: {fetch_command(env_name)}")
    return cached


def image_source_pins(env: Environment, images: list[str]) -> dict[str, str]:
    """`<repo key>.commit` (or `.version` for downloads) of every source the named images and
    their parents are built from: the pins a run actually used (the report's `Config`)."""
    pins: dict[str, str] = {}
    for name in images:
        seen: set[str] = set()
        while name in env.images and name not in seen:
            seen.add(name)
            spec = env.images[name]
            for key in spec.sources:
                source = env.repos[key]
                pins[f"{key}.commit" if source.commit else f"{key}.version"] = source_identity(source)
            name = spec.parent or ""
    return dict(sorted(pins.items()))
