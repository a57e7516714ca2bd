"""Content digests of files, folders and JSON values (the inputs of job keys).

A folder's digest covers every regular file's relative path, executable bit and content, and
symlink targets, in sorted order; names of the top-level entries can be given explicitly so
the digest does not depend on where the files happen to live.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

_CHUNK = 1 << 20


def canonical_json(value: Any) -> str:
    """Sorted, compact JSON: equal values always give equal text."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=True, default=str)


def sha256_text(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def file_digest(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(_CHUNK):
            h.update(chunk)
    return h.hexdigest()


def _entries(path: Path, name: str) -> list[tuple[str, str]]:
    """(relative name, description) for a file, link or every file below a folder."""
    if path.is_symlink():
        return [(name, "link:" + os.readlink(path))]
    if path.is_file():
        mode = "x" if os.access(path, os.X_OK) else "-"
        return [(name, f"file:{mode}:{file_digest(path)}")]
    if path.is_dir():
        out: list[tuple[str, str]] = [(name + "/", "dir")]
        for child in sorted(path.iterdir(), key=lambda p: p.name):
            out.extend(_entries(child, f"{name}/{child.name}"))
        return out
    return [(name, "missing")]


def digest_paths(paths: Mapping[str, Path]) -> str:
    """Digest of named files/folders: the names given, not their locations, enter it."""
    h = hashlib.sha256()
    for name in sorted(paths):
        for rel, desc in _entries(paths[name], name):
            h.update(f"{rel}\0{desc}\n".encode())
    return h.hexdigest()


def digest_dir(folder: Path) -> str:
    """Digest of a folder's contents (its own name excluded)."""
    return digest_paths({child.name: child for child in folder.iterdir()} if folder.is_dir() else {})
