"""Command-line spellings typer cannot express, rewritten before parsing.

MLonMCU users write `--feature-gen A B` (one set of several names), `--parallel` without a
number (use every core) and `--resume` without a session (the latest). These become
`--feature-gen "A B"`, `--parallel=N` and `--resume=latest`.
"""

from __future__ import annotations

import os
import re

MULTI_VALUE = ("--feature-gen", "--config-gen")
_SESSION_ID = re.compile(r"^\d{8}(-\d{1,6}(-[0-9a-f]{1,4})?)?$")


def _default_parallel() -> str:
    return str(max(1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1))


def normalize(argv: list[str]) -> list[str]:
    out: list[str] = []
    i = 0
    while i < len(argv):
        token = argv[i]
        nxt = argv[i + 1] if i + 1 < len(argv) else None
        if token in MULTI_VALUE:
            j = i + 1
            while j < len(argv) and not argv[j].startswith("-"):
                j += 1
            out += [token, " ".join(argv[i + 1:j])]
            i = j
            continue
        if token == "--parallel" and (nxt is None or not nxt.isdigit()):
            out.append(f"--parallel={_default_parallel()}")
        elif token == "--resume" and (nxt is None or not _SESSION_ID.match(nxt)):
            out.append("--resume=latest")
        else:
            out.append(token)
        i += 1
    return out


def split_group(value: str) -> list[str]:
    """One `--feature-gen` / `--config-gen` value → its items (spaces or commas)."""
    return [item for item in re.split(r"[\s,]+", value.strip()) if item]
