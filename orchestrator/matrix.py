"""The benchmark matrix: what the user asked for (`MatrixRequest`) → checked runs (`RunSpec`,
defined in `orchestrator.runspec` and re-exported here for code that imports it from here).

MLonMCU's semantics: the session is the product models × backends × targets × feature sets ×
config sets. `-f` features and `-c` configs apply to every run; each `--feature-gen` /
`--config-gen` adds one set (`_` = the empty set) and multiplies the runs. Every name, key and
value is checked against the environment before anything runs.
"""

from __future__ import annotations

import itertools
from typing import Any

from pydantic import BaseModel, Field

from orchestrator.components.base import (
    ComponentConfig,
    Kind,
    StageComponent,
)
from orchestrator.components.registry import Registry
from orchestrator.config import (
    build_config,
    check_environment,
    check_keys,
    environment_layer,
    parse_assignments,
)
from orchestrator.environment import Environment
from orchestrator.errors import ConfigError
from orchestrator.models import resolve_model
from orchestrator.runspec import RunSpec

__all__ = ["MatrixBuilder", "MatrixRequest", "RunSpec"]

NONE_MARK = "_"


class MatrixRequest(BaseModel):
    """The user's request as given on the command line (saved in session.json for resume)."""

    models: list[str] = Field(default_factory=list)
    frontends: list[str] = Field(default_factory=list)
    backends: list[str] = Field(default_factory=list)
    platforms: list[str] = Field(default_factory=list)
    targets: list[str] = Field(default_factory=list)
    features: list[str] = Field(default_factory=list)
    config: list[str] = Field(default_factory=list)
    feature_gen: list[list[str]] = Field(default_factory=list)
    config_gen: list[list[str]] = Field(default_factory=list)
    postprocesses: list[str] = Field(default_factory=list)


def _check_names(kind: Kind, names: list[str], env: Environment, registry: Registry) -> None:
    enabled = env.enabled(kind.value)
    for name in names:
        if name not in enabled:
            choices = ", ".join(sorted(enabled)) or "none"
            raise ConfigError(f"unknown {kind.singular} {name!r} for environment {env.name}; choose from: {choices}")


def _gen_sets(groups: list[list[str]]) -> list[list[str]]:
    """`--feature-gen` groups → sets; `_` means the empty set; no groups → one empty set."""
    if not groups:
        return [[]]
    return [[item for item in group if item != NONE_MARK] for group in groups]


def _defaults(values: list[str], default: str | None, what: str, env: Environment) -> list[str]:
    if values:
        return list(dict.fromkeys(values))
    if default is None:
        raise ConfigError(f"no {what} given and environment {env.name} sets no default {what}")
    return [default]


def _platform_for(target: str, request: MatrixRequest, env: Environment, registry: Registry) -> str:
    """The requested platform, else the environment's default, else the first that supports it."""
    if request.platforms:
        candidates = request.platforms
    else:
        candidates = [p for p in [env.defaults.platform] if p] + sorted(env.platforms)
    for name in candidates:
        if registry.create(Kind.PLATFORM, name).supports(target):
            return name
    raise ConfigError(f"no platform among {', '.join(candidates) or 'none'} supports target {target!r}")


class MatrixBuilder:
    """Checks a request against an environment and expands it into runs."""

    def __init__(self, env: Environment, registry: Registry) -> None:
        self.env = env
        self.registry = check_environment(env, registry)

    def _feature_layer(self, features: list[str], components: set[str]) -> dict[str, Any]:
        layer: dict[str, Any] = {}
        for name in features:
            feature = self.registry.create(Kind.FEATURE, name)
            applied = feature.settings(components)
            if not applied:
                raise ConfigError(f"feature {name!r} does not apply to {', '.join(sorted(components))}")
            layer.update(applied)
        return layer

    def check(self, request: MatrixRequest) -> None:
        """Check every name and config item without expanding (fast, for early errors)."""
        self.expand(request)

    def expand(self, request: MatrixRequest) -> list[RunSpec]:
        env, registry = self.env, self.registry
        default_frontend = env.defaults.frontend or next(iter(env.frontends), None)
        frontends = _defaults(request.frontends, default_frontend, "frontend", env)
        backends = _defaults(request.backends, env.defaults.backend, "backend", env)
        targets = _defaults(request.targets, env.defaults.target, "target", env)
        models = _defaults(request.models, env.defaults.model, "model", env)
        for kind, names in ((Kind.FRONTEND, frontends), (Kind.BACKEND, backends), (Kind.TARGET, targets),
                            (Kind.PLATFORM, request.platforms), (Kind.POSTPROCESS, request.postprocesses)):
            _check_names(kind, names, env, registry)
        feature_sets = _gen_sets(request.feature_gen)
        for names in [request.features, *feature_sets]:
            _check_names(Kind.FEATURE, names, env, registry)
        cli = parse_assignments(request.config)
        config_sets = [parse_assignments(group) for group in _gen_sets(request.config_gen)]
        for layer in [cli, *config_sets]:
            check_keys(layer, env, registry)
        for name in env.enabled_names() - {*frontends, *backends, *targets}:
            self._check_unused(name, cli, config_sets)
        search = env.model_search_path()
        model_refs = [resolve_model(m, search) for m in models]

        runs: list[RunSpec] = []
        combos = itertools.product(model_refs, frontends, backends, targets, feature_sets, config_sets)
        for model, frontend, backend, target, gen_features, gen_config in combos:
            platform = _platform_for(target, request, env, registry)
            features = tuple(dict.fromkeys([*request.features, *gen_features]))
            roles = {"frontend": (Kind.FRONTEND, frontend), "backend": (Kind.BACKEND, backend),
                     "platform": (Kind.PLATFORM, platform), "target": (Kind.TARGET, target)}
            used = {name for _, name in roles.values()}
            feature_layer = self._feature_layer(list(features), used)
            user = {**cli, **gen_config}
            configs: dict[str, ComponentConfig] = {}
            components: dict[str, StageComponent] = {}
            for role, (kind, name) in roles.items():
                cls = registry.get(kind, name)
                configs[name] = build_config(cls, [environment_layer(env, kind, name), feature_layer, user])
                component = cls()
                if not isinstance(component, StageComponent):
                    raise ConfigError(f"component {name!r} is not a {kind.singular}")
                components[role] = component
            explicit = {k: v for k, v in {**env.config, **feature_layer, **user}.items()
                        if k.split(".", 1)[0] in used}
            run = RunSpec(index=len(runs), model=model, frontend=frontend, backend=backend,
                          platform=platform, target=target, features=features,
                          config=explicit, configs=configs, components=components)
            for component in components.values():
                component.check_run(run)
            runs.append(run)
        return runs

    def _check_unused(self, name: str, cli: dict[str, Any], config_sets: list[dict[str, Any]]) -> None:
        """Values for components no run uses (e.g. postprocesses) are still validated."""
        for layer in [cli, *config_sets]:
            if any(k.startswith(name + ".") for k in layer):
                cls = self.registry.find(name)
                if cls is not None:
                    kind = cls.kind
                    build_config(cls, [environment_layer(self.env, kind, name), layer])

    def postprocess_configs(self, request: MatrixRequest) -> list[tuple[str, ComponentConfig]]:
        """Session-level postprocesses in order, configured by the environment and `-c`."""
        cli = parse_assignments(request.config)
        out = []
        for name in request.postprocesses:
            cls = self.registry.get(Kind.POSTPROCESS, name)
            out.append((name, build_config(cls, [environment_layer(self.env, Kind.POSTPROCESS, name), cli])))
        return out

