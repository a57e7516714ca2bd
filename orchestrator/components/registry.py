"""The component registry: built-in components plus third-party plugins.

Plugins come from the entry-point group `mcuorch.components` and from the modules listed in
`MCUORCH_PLUGINS` (comma separated module names or `.py` file paths). A plugin is either a
callable taking the registry, or a module whose `register(registry)` function adds classes.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import sys
from collections.abc import Iterable, Mapping
from importlib.metadata import entry_points
from pathlib import Path
from types import ModuleType
from typing import Any

from orchestrator.components.base import Component, Kind
from orchestrator.errors import ConfigError, UserError

ENTRY_POINT_GROUP = "mcuorch.components"


class Registry:
    """Component classes by kind and name."""

    def __init__(self) -> None:
        self._classes: dict[Kind, dict[str, type[Component]]] = {kind: {} for kind in Kind}

    def register(self, cls: type[Component]) -> type[Component]:
        """Add a component class; a later registration of the same name replaces the earlier."""
        self._classes[cls.kind][cls.name] = cls
        return cls

    def register_all(self, classes: Iterable[type[Component]]) -> None:
        for cls in classes:
            self.register(cls)

    def names(self, kind: Kind) -> list[str]:
        return sorted(self._classes[kind])

    def has(self, kind: Kind, name: str) -> bool:
        return name in self._classes[kind]

    def get(self, kind: Kind, name: str) -> type[Component]:
        try:
            return self._classes[kind][name]
        except KeyError:
            choices = ", ".join(self.names(kind)) or "none"
            raise ConfigError(f"no {kind.singular} component named {name!r}; known: {choices}") from None

    def create(self, kind: Kind, name: str) -> Any:
        """A fresh instance (components are stateless)."""
        return self.get(kind, name)()

    def bind(self, aliases: Mapping[Kind, Mapping[str, str]]) -> Registry:
        """A copy where each `alias → component` pair makes `alias` a name of that component's
        class (a subclass named `alias`, so its config keys are `alias.*`). Every target is
        looked up in this registry, so two aliases can swap names (`tvmaot` → the fork's AOT,
        `relaxaot` → the class that was `tvmaot`)."""
        bound = Registry()
        bound._classes = {kind: dict(classes) for kind, classes in self._classes.items()}
        for kind, pairs in aliases.items():
            for alias, target in pairs.items():
                cls = self.get(kind, target)
                if alias != target:
                    bound._classes[kind][alias] = type(cls.__name__, (cls,), {"name": alias, "__doc__": cls.__doc__})
        return bound

    def find(self, name: str) -> type[Component] | None:
        """A component of any kind by name (config keys name components without a kind)."""
        for kind in Kind:
            if name in self._classes[kind]:
                return self._classes[kind][name]
        return None


def _import_plugin(spec: str) -> ModuleType:
    """Import a plugin by module name or by path to a `.py` file."""
    if spec.endswith(".py"):
        path = Path(spec).expanduser().resolve()
        if not path.is_file():
            raise UserError(f"MCUORCH_PLUGINS: plugin file {spec} does not exist")
        name = f"mcuorch_plugin_{path.stem}"
        module_spec = importlib.util.spec_from_file_location(name, path)
        if module_spec is None or module_spec.loader is None:
            raise UserError(f"MCUORCH_PLUGINS: cannot load {spec}")
        module = importlib.util.module_from_spec(module_spec)
        sys.modules[name] = module
        module_spec.loader.exec_module(module)
        return module
    try:
        return importlib.import_module(spec)
    except ImportError as exc:
        raise UserError(f"MCUORCH_PLUGINS: cannot import plugin {spec!r}: {exc}") from None


def _apply_plugin(obj: Any, registry: Registry, origin: str) -> None:
    hook = getattr(obj, "register", None) if isinstance(obj, ModuleType) else obj
    if not callable(hook):
        raise UserError(f"plugin {origin} has no register(registry) function")
    hook(registry)


def load_plugins(registry: Registry, env_value: str | None = None) -> None:
    """Register components from entry points and from `MCUORCH_PLUGINS`."""
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        _apply_plugin(ep.load(), registry, f"entry point {ep.name}")
    value = os.environ.get("MCUORCH_PLUGINS", "") if env_value is None else env_value
    for spec in (s.strip() for s in value.split(",")):
        if spec:
            _apply_plugin(_import_plugin(spec), registry, spec)


def builtin_registry() -> Registry:
    """A registry with only the components shipped in this package."""
    from orchestrator.components import builtin

    registry = Registry()
    registry.register_all(builtin.ALL)
    return registry


def default_registry() -> Registry:
    """Built-in components plus every plugin."""
    registry = builtin_registry()
    load_plugins(registry)
    return registry
