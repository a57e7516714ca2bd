"""Config keys `component.key=value`: parsing, checking and layering.

Precedence, lowest first: component defaults < environment (component section, then the
`config:` section) < features < CLI `-c` < `--config-gen`. Every key and value is checked
against the component's pydantic config model; a problem is one `ConfigError` line.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from pydantic import ValidationError

from orchestrator.components.base import Component, ComponentConfig, Kind
from orchestrator.components.registry import Registry
from orchestrator.environment import COMPONENT_KEY, Environment
from orchestrator.errors import ConfigError

ConfigLayer = Mapping[str, Any]
"""Flat `component.key → value` mapping."""


def parse_assignment(text: str) -> tuple[str, Any]:
    """`"mlif.optimize=s"` → `("mlif.optimize", "s")`; a malformed item is a ConfigError."""
    key, sep, value = text.partition("=")
    key = key.strip()
    component, dot, option = key.partition(".")
    if not sep or not dot or not component or not option:
        raise ConfigError(f"config {text!r} must look like component.key=value")
    return key, value.strip()


def parse_assignments(items: Iterable[str]) -> dict[str, Any]:
    return dict(parse_assignment(item) for item in items)


def _component_of(key: str, env: Environment, registry: Registry) -> type[Component]:
    name = key.split(".", 1)[0]
    if name not in env.enabled_names():
        choices = ", ".join(sorted(env.enabled_names()))
        raise ConfigError(f"unknown component {name!r} in config key {key!r}; choose from: {choices}")
    cls = registry.find(name)
    if cls is None:
        raise ConfigError(f"environment {env.name} enables {name!r} but no component provides it")
    return cls


def check_keys(layer: ConfigLayer, env: Environment, registry: Registry) -> None:
    """Every key names an enabled component and one of its config keys."""
    for key in layer:
        cls = _component_of(key, env, registry)
        option = key.split(".", 1)[1]
        known = cls.Config.keys()
        if option not in known:
            choices = ", ".join(sorted(known)) or "none"
            raise ConfigError(f"unknown config key {key!r}; valid keys for {cls.name}: {choices}")


def component_values(name: str, layers: Iterable[ConfigLayer]) -> dict[str, Any]:
    """Merge the layers' `name.*` keys (later layers win) into `{key: value}`."""
    merged: dict[str, Any] = {}
    prefix = name + "."
    for layer in layers:
        merged.update({k[len(prefix):]: v for k, v in layer.items() if k.startswith(prefix)})
    return merged


def environment_layer(env: Environment, kind: Kind, name: str) -> dict[str, Any]:
    """The environment's defaults for one component: its section, then `config:` keys."""
    section = {f"{name}.{k}": v for k, v in env.enabled(kind.value).get(name, {}).items() if k != COMPONENT_KEY}
    section.update({k: v for k, v in env.config.items() if k.startswith(name + ".")})
    return section


def build_config(cls: type[Component], layers: Iterable[ConfigLayer]) -> ComponentConfig:
    """Validate the merged layers into the component's config model (one error line on failure)."""
    values = component_values(cls.name, layers)
    try:
        return cls.Config.model_validate(values)
    except ValidationError as exc:
        err = exc.errors()[0]
        key = ".".join(str(p) for p in err["loc"]) or "?"
        if err["type"] == "extra_forbidden":
            choices = ", ".join(sorted(cls.Config.keys()))
            raise ConfigError(f"unknown config key '{cls.name}.{key}'; valid keys for {cls.name}: {choices}") from None
        given = values.get(key, err.get("input"))
        message = str(err["msg"]).removeprefix("Value error, ")
        raise ConfigError(f"invalid value {given!r} for {cls.name}.{key}: {message}") from None


def environment_registry(env: Environment, registry: Registry) -> Registry:
    """The registry as `env` names components: its `component:` bindings applied."""
    aliases = {kind: env.component_aliases(kind.value) for kind in Kind}
    for kind, pairs in aliases.items():
        for alias, target in pairs.items():
            if not isinstance(target, str) or not registry.has(kind, target):
                known = ", ".join(registry.names(kind)) or "none"
                raise ConfigError(f"environment {env.name}: {kind.value}.{alias}.{COMPONENT_KEY}: no {kind.singular} "
                                  f"component {target!r}; known: {known}")
    return registry.bind(aliases)


def check_environment(env: Environment, registry: Registry) -> Registry:
    """Every enabled component exists and the environment's own config values are valid; returns
    the registry as the environment names components (`environment_registry`)."""
    registry = environment_registry(env, registry)
    for kind in Kind:
        for name in env.enabled(kind.value):
            if not registry.has(kind, name):
                known = ", ".join(registry.names(kind)) or "none"
                raise ConfigError(f"environment {env.name}: no {kind.singular} component {name!r}; known: {known}")
            build_config(registry.get(kind, name), [environment_layer(env, kind, name)])
    check_keys(env.config, env, registry)
    return registry
