"""Every component shipped with mcuorch (environments enable a subset)."""

from __future__ import annotations

from orchestrator.components import backends, features, frontends, microtvm, platforms, postprocesses, targets
from orchestrator.components.base import Component

ALL: list[type[Component]] = [
    *frontends.ALL, *backends.ALL, *microtvm.ALL, *platforms.ALL, *targets.ALL, *features.ALL, *postprocesses.ALL,
]
