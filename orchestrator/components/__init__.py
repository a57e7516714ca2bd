"""Declarative component registries: frontends, backends, platforms, targets, features,
postprocesses. See `base` for what a component declares and `registry` for plugins."""

from orchestrator.components.base import (
    Backend,
    Component,
    ComponentConfig,
    Feature,
    FinishedJob,
    Frontend,
    JobSpec,
    Kind,
    Platform,
    Postprocess,
    Stage,
    StageComponent,
    StageConfig,
    StageContext,
    Target,
    setting,
)
from orchestrator.components.registry import Registry, builtin_registry, default_registry

__all__ = [
    "Backend", "Component", "ComponentConfig", "Feature", "FinishedJob", "Frontend", "JobSpec",
    "Kind", "Platform", "Postprocess", "Registry", "Stage", "StageComponent", "StageConfig",
    "StageContext", "Target", "builtin_registry", "default_registry", "setting",
]
