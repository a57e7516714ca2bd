"""One checked run of a session (`RunSpec`): what every stage component, the planner and the
report read about a run.

Its own module so that components can name it without importing the matrix (which imports
the registry, the config layers and the environment, which import the components): the
matrix builds RunSpecs, everything else only reads them. At run time this module imports no
other orchestrator module but `models`; the component types below are for type checkers only.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from orchestrator.models import ModelRef

if TYPE_CHECKING:
    from orchestrator.components.base import Backend, ComponentConfig, StageComponent, Target


@dataclass(frozen=True)
class RunSpec:
    """One checked run: names, component instances and their effective config."""

    index: int
    model: ModelRef
    frontend: str
    backend: str
    platform: str
    target: str
    features: tuple[str, ...]
    config: Mapping[str, Any]
    """The explicitly set `component.key` values of this run (the report's `Config`)."""
    configs: Mapping[str, ComponentConfig] = field(repr=False)
    components: Mapping[str, StageComponent] = field(repr=False)

    @property
    def target_component(self) -> Target:
        return self.components["target"]  # type: ignore[return-value]

    @property
    def backend_component(self) -> Backend:
        return self.components["backend"]  # type: ignore[return-value]

    @property
    def framework(self) -> str:
        backend = self.components["backend"]
        return getattr(backend, "framework", "") or self.backend

    def identity(self) -> dict[str, Any]:
        """What distinguishes this run (used to match runs across sessions)."""
        return {"model": self.model.name, "frontend": self.frontend, "backend": self.backend,
                "platform": self.platform, "target": self.target, "features": list(self.features),
                "config": dict(self.config)}
