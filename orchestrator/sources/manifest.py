"""Mirror folders: archives plus a `MANIFEST.tsv` saying what each one is.

Columns (tab-separated, with a header row): name, url, ref, commit, archive, sha256, absent.
`absent` lists paths the archive lacks on purpose (e.g. large files kept out of the mirror),
comma-separated. A lab mirror, a CI cache or `mcuorch sources export` write this format.
"""

from __future__ import annotations

import csv
from pathlib import Path

from pydantic import BaseModel, ConfigDict, ValidationError

from orchestrator.environment import Source
from orchestrator.errors import first_problem
from orchestrator.sources.cache import normalize_url, source_identity
from orchestrator.sources.errors import SourceError

MANIFEST = "MANIFEST.tsv"
COLUMNS = ("name", "url", "ref", "commit", "archive", "sha256", "absent")


class ManifestEntry(BaseModel):
    model_config = ConfigDict(frozen=True)

    name: str
    url: str
    ref: str
    commit: str
    archive: str
    sha256: str
    absent: tuple[str, ...] = ()


class Manifest(BaseModel):
    """The parsed manifest of one mirror folder."""

    model_config = ConfigDict(frozen=True)

    folder: Path
    entries: tuple[ManifestEntry, ...]

    def find(self, source: Source) -> ManifestEntry | None:
        """The entry of the same repository (URL compared normalised) at the same commit."""
        url, ident = normalize_url(source.url), source_identity(source)
        for entry in self.entries:
            if normalize_url(entry.url) == url and ident in (entry.commit, entry.ref):
                return entry
        return None

    def path(self, entry: ManifestEntry) -> Path:
        return self.folder / entry.archive


def read_manifest(folder: Path) -> Manifest:
    """Parse `folder/MANIFEST.tsv`; problems name the file and the line."""
    path = folder / MANIFEST
    if not path.is_file():
        raise SourceError(f"{folder} has no {MANIFEST}: not a source mirror folder")
    entries: list[ManifestEntry] = []
    with path.open(newline="", encoding="utf-8") as handle:
        rows = csv.reader(handle, delimiter="\t")
        header = next(rows, None)
        if header is None or tuple(header[: len(COLUMNS) - 1]) != COLUMNS[:-1]:
            raise SourceError(f"{path}: line 1: expected the columns {', '.join(COLUMNS)}")
        for number, row in enumerate(rows, start=2):
            if not any(cell.strip() for cell in row):
                continue
            cells = dict(zip(COLUMNS, [*row, *[""] * len(COLUMNS)]))
            cells["absent"] = tuple(p for p in cells["absent"].split(",") if p)  # type: ignore[assignment]
            try:
                entries.append(ManifestEntry.model_validate(cells))
            except ValidationError as exc:
                raise SourceError(f"{path}: line {number}: {first_problem(exc)}") from None
    return Manifest(folder=folder, entries=tuple(entries))
