"""Per-target facts kept once in `sw/targets/<target>.json` (read by sw/ and the host alike)."""

from __future__ import annotations

import json
from functools import lru_cache
from typing import Any

from orchestrator.paths import project_paths


@lru_cache(maxsize=None)
def target_facts(target: str) -> dict[str, Any]:
    """The facts of one target, or {} when the target software does not describe it."""
    path = project_paths().sw / "targets" / f"{target}.json"
    if not path.is_file():
        return {}
    data = json.loads(path.read_text())
    return data if isinstance(data, dict) else {}
