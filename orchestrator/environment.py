"""Environments: Jinja2 templates rendered to validated `Environment` objects.

An environment pins every toolchain (sources by commit or tag, packages by version, the root
OS image) and says which components are enabled with which config defaults. Its template is
rendered in a sandbox with strict undefined variables, parsed as YAML and validated by
pydantic with unknown keys forbidden; any problem becomes one `EnvironmentFileError` line
naming the file, the line and the problem.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import jinja2
import yaml
from jinja2.sandbox import SandboxedEnvironment
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from orchestrator.errors import EnvironmentFileError
from orchestrator.paths import home_paths, project_paths

TEMPLATE_SUFFIX = ".yml.j2"
COMPONENT_KEY = "component"
"""In a component's section: the registered component this environment name stands for."""
COMPONENT_KINDS = ("frontends", "backends", "targets", "platforms", "features", "postprocesses")

_COMMIT = re.compile(r"^[0-9a-f]{40}$")
_TAG = re.compile(r"^(refs/tags/)?v?[0-9][0-9A-Za-z._+-]*$")
_REF = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+/-]*$")
_NAME = re.compile(r"^[a-z][a-z0-9_.-]*$")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Source(_Strict):
    """A pinned upstream source: a git repository at a full commit, or a download (archive URL)
    at a version.

    `ref` is what was asked for (a tag or a commit); `commit` is the full commit it resolves to
    (required for git repositories: tags move, commits do not); `sha256` is the digest of the
    source's archive (`git archive` of the commit, as a mirror's MANIFEST.tsv lists it, or the
    download itself), checked whenever the archive is imported.
    """

    url: str = Field(min_length=1)
    ref: str
    commit: str | None = Field(default=None, pattern=r"^[0-9a-f]{40}$")
    sha256: str | None = Field(default=None, pattern=r"^[0-9a-f]{64}$")

    @model_validator(mode="before")
    @classmethod
    def _commit_from_ref(cls, data: Any) -> Any:
        """A ref that is a full commit is its own commit."""
        if isinstance(data, dict) and data.get("commit") is None and _COMMIT.match(str(data.get("ref", ""))):
            return {**data, "commit": data["ref"]}
        return data

    @model_validator(mode="after")
    def _pinned(self) -> Source:
        if not _REF.match(self.ref):
            raise ValueError(f"ref {self.ref!r} is not a git ref name or version")
        if self.is_git and self.commit is None:
            raise ValueError(f"ref {self.ref!r} is not a full commit: pin the commit it names "
                             "(commit: <40 hex>); tags and branches move, commits do not")
        if not self.is_git and not (_TAG.match(self.ref) or _COMMIT.match(self.ref)):
            raise ValueError(f"ref {self.ref!r} of a download must be its version")
        if _COMMIT.match(self.ref) and self.ref != self.commit:
            raise ValueError(f"ref {self.ref} and commit {self.commit} disagree")
        return self

    @property
    def is_git(self) -> bool:
        """Git repositories end in `.git` (or are local `file://` repositories)."""
        return self.url.rstrip("/").endswith(".git") or self.url.startswith("file://")


class Packages(_Strict):
    """Exact package versions; image recipes install exactly these."""

    apt: dict[str, str] = Field(default_factory=dict)
    pip: dict[str, str] = Field(default_factory=dict)


class BaseImageSpec(_Strict):
    """The root OS image: pulled by reference when possible, else made with debootstrap."""

    pull: str | None = None
    suite: str = "bookworm"
    mirror: str = "http://deb.debian.org/debian"
    variant: str = "minbase"


class ImageSpec(_Strict):
    """One toolchain image: its recipe folder under `images/`, its parent, template args."""

    recipe: str
    parent: str | None = None
    args: dict[str, str | int | float | bool] = Field(default_factory=dict)
    sources: list[str] = Field(default_factory=list)
    """Keys of `repos` whose archives the build context carries (`sources/<key>.tar.gz`)."""


class Defaults(_Strict):
    """What `mcuorch run MODEL` uses when no flag says otherwise."""

    model: str | None = None
    frontend: str | None = None
    backend: str | None = None
    platform: str | None = None
    target: str | None = None


class EnvPaths(_Strict):
    """Search paths; relative entries are relative to the project checkout."""

    models: list[str] = Field(default_factory=lambda: ["models"])


ComponentDefaults = dict[str, dict[str, Any]]


class Environment(_Strict):
    """A rendered, validated environment."""

    name: str
    description: str = ""
    base: BaseImageSpec = Field(default_factory=BaseImageSpec)
    repos: dict[str, Source] = Field(default_factory=dict)
    packages: Packages = Field(default_factory=Packages)
    images: dict[str, ImageSpec] = Field(default_factory=dict)
    frontends: ComponentDefaults = Field(default_factory=dict)
    backends: ComponentDefaults = Field(default_factory=dict)
    targets: ComponentDefaults = Field(default_factory=dict)
    platforms: ComponentDefaults = Field(default_factory=dict)
    features: ComponentDefaults = Field(default_factory=dict)
    postprocesses: ComponentDefaults = Field(default_factory=dict)
    config: dict[str, Any] = Field(default_factory=dict)
    defaults: Defaults = Field(default_factory=Defaults)
    paths: EnvPaths = Field(default_factory=EnvPaths)

    @field_validator("name")
    @classmethod
    def _name(cls, name: str) -> str:
        if not _NAME.match(name):
            raise ValueError(f"name {name!r} must be lower-case letters, digits, '_', '-' or '.'")
        return name

    @field_validator(*COMPONENT_KINDS, mode="before")
    @classmethod
    def _empty_sections(cls, value: Any) -> Any:
        """`tflite:` with nothing after it means 'enabled with no overrides'."""
        if isinstance(value, dict):
            return {k: ({} if v is None else v) for k, v in value.items()}
        return value

    @model_validator(mode="after")
    def _references(self) -> Environment:
        for name, image in self.images.items():
            if image.parent is not None and image.parent not in self.images:
                raise ValueError(f"images.{name}.parent: unknown image {image.parent!r}")
            for key in image.sources:
                if key not in self.repos:
                    raise ValueError(f"images.{name}.sources: {key!r} is not in repos")
                if not self.repos[key].is_git and self.repos[key].sha256 is None:
                    raise ValueError(f"repos.{key}: a download needs its sha256 to be used by an image")
        for key in self.config:
            component, _, option = key.partition(".")
            if not option:
                raise ValueError(f"config key {key!r} must look like 'component.key'")
            if component not in self.enabled_names():
                raise ValueError(f"config key {key!r}: component {component!r} is not enabled")
        defaults = (("frontends", self.defaults.frontend), ("backends", self.defaults.backend),
                    ("platforms", self.defaults.platform), ("targets", self.defaults.target))
        for kind, default in defaults:
            if default is not None and default not in getattr(self, kind):
                raise ValueError(f"defaults: {kind[:-1]} {default!r} is not enabled in {kind}")
        return self

    def enabled(self, kind: str) -> ComponentDefaults:
        """The enabled components of one kind (`backends`, ...) with their defaults."""
        if kind not in COMPONENT_KINDS:
            raise KeyError(kind)
        return getattr(self, kind)

    def component_aliases(self, kind: str) -> dict[str, str]:
        """Enabled names bound to a component of another name (`component:` in their section)."""
        return {name: section[COMPONENT_KEY] for name, section in self.enabled(kind).items()
                if COMPONENT_KEY in section}

    def enabled_names(self) -> set[str]:
        """Every enabled component name, whatever its kind."""
        return {name for kind in COMPONENT_KINDS for name in self.enabled(kind)}

    def model_search_path(self) -> list[Path]:
        """Model folders in search order: `MCUORCH_MODELS` entries first, then the environment's
        (relative entries resolved against the project)."""
        root = project_paths().root
        extra = [p for p in os.environ.get("MCUORCH_MODELS", "").split(os.pathsep) if p]
        return [Path(p) for p in extra] + [root / p for p in self.paths.models]


class EnvironmentFile(BaseModel):
    """Where an environment template was found."""

    model_config = ConfigDict(frozen=True)

    name: str
    path: Path


def search_dirs() -> list[Path]:
    """Folders searched for `<name>.yml.j2`: the project's, then the user's under the home."""
    return [project_paths().environments, home_paths().environments]


def list_environments() -> list[EnvironmentFile]:
    """Every environment template found, first one wins for equal names."""
    found: dict[str, EnvironmentFile] = {}
    for folder in search_dirs():
        if not folder.is_dir():
            continue
        for path in sorted(folder.glob(f"*{TEMPLATE_SUFFIX}")):
            name = path.name[: -len(TEMPLATE_SUFFIX)]
            found.setdefault(name, EnvironmentFile(name=name, path=path))
    return list(found.values())


def resolve_environment(name_or_path: str | None) -> Path:
    """`--env` value (or `MCUORCH_ENV`, or 'default') → template path; unknown → UserError."""
    value = name_or_path or os.environ.get("MCUORCH_ENV") or "default"
    candidate = Path(value).expanduser()
    if candidate.suffix in {".j2", ".yml", ".yaml"} or os.sep in value:
        if not candidate.is_file():
            raise EnvironmentFileError(f"environment file {value} does not exist")
        return candidate.resolve()
    known = {f.name: f.path for f in list_environments()}
    if value not in known:
        choices = ", ".join(sorted(known)) or "none"
        raise EnvironmentFileError(f"unknown environment {value!r}; choose from: {choices}")
    return known[value]


def render_template(path: Path, variables: dict[str, Any] | None = None) -> str:
    """Render a template in a sandbox; undefined variables are errors, not empty strings."""
    jinja = SandboxedEnvironment(undefined=jinja2.StrictUndefined, keep_trailing_newline=True)
    context = {"project_dir": str(project_paths().root), "home_dir": str(home_paths().root)}
    context.update(variables or {})
    try:
        return jinja.from_string(path.read_text(encoding="utf-8")).render(**context)
    except jinja2.TemplateSyntaxError as exc:
        raise EnvironmentFileError(f"{path}: line {exc.lineno}: {exc.message}") from None
    except jinja2.TemplateError as exc:  # undefined variables, sandbox violations
        raise EnvironmentFileError(f"{path}: template error: {exc.message}") from None


def _line_index(text: str) -> dict[tuple[str, ...], int]:
    """Map every mapping key path in a YAML document to its 1-based line number."""
    index: dict[tuple[str, ...], int] = {}

    def walk(node: yaml.Node, prefix: tuple[str, ...]) -> None:
        if isinstance(node, yaml.MappingNode):
            for key_node, value_node in node.value:
                path = (*prefix, str(key_node.value))
                index[path] = key_node.start_mark.line + 1
                walk(value_node, path)
        elif isinstance(node, yaml.SequenceNode):
            for i, item in enumerate(node.value):
                index[(*prefix, str(i))] = item.start_mark.line + 1
                walk(item, (*prefix, str(i)))

    root = yaml.compose(text, Loader=yaml.SafeLoader)
    if root is not None:
        walk(root, ())
    return index


def _describe(error: Any, lines: dict[tuple[str, ...], int]) -> str:
    """One pydantic error → 'line N: problem' using the deepest location with a line."""
    loc = tuple(str(part) for part in error["loc"])
    line = next((lines[loc[:n]] for n in range(len(loc), 0, -1) if loc[:n] in lines), None)
    where = f"line {line}: " if line is not None else ""
    dotted = ".".join(loc)
    if error["type"] == "extra_forbidden":
        parent = ".".join(loc[:-1])
        return f"{where}unknown key {loc[-1]!r}" + (f" in {parent}" if parent else "")
    if error["type"] == "missing":
        return f"{where}missing key {dotted!r}"
    message = str(error["msg"]).removeprefix("Value error, ")
    return f"{where}{dotted}: {message}" if dotted else f"{where}{message}"


def _parse_yaml(text: str, source: Path) -> dict[str, Any]:
    """Rendered YAML text → mapping; syntax errors name `source` and the line."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}: " if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise EnvironmentFileError(f"{source}: {where}{problem}") from None
    if not isinstance(data, dict):
        raise EnvironmentFileError(f"{source}: the rendered file is not a YAML mapping")
    return data


def _validated(data: dict[str, Any], text: str, source: Path) -> Environment:
    """Validate merged data; the first problem is reported with its line in `text`."""
    try:
        return Environment.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        more = f" (and {exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
        raise EnvironmentFileError(f"{source}: {_describe(first, _line_index(text))}{more}") from None


def parse_environment(text: str, source: Path) -> Environment:
    """Parse rendered YAML text and validate it; errors name `source` and the line."""
    return _validated(_parse_yaml(text, source), text, source)


EXTENDS = "extends"
"""Top-level key naming a parent environment (a name, or a path relative to the child file)."""


def _deep_merge(parent: dict[str, Any], child: dict[str, Any]) -> dict[str, Any]:
    """The child's values win; mappings merge key by key; an empty child entry keeps the parent's."""
    merged = dict(parent)
    for key, value in child.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _deep_merge(merged[key], value)
        elif value is not None or key not in merged:
            merged[key] = value
    return merged


def _merged_environment(path: Path, chain: tuple[Path, ...] = ()) -> tuple[str, dict[str, Any]]:
    """Rendered text of `path` and its data merged over its `extends` ancestors."""
    if path in chain:
        cycle = " -> ".join(p.name for p in (*chain, path))
        raise EnvironmentFileError(f"{path}: environments extend each other in a cycle: {cycle}")
    text = render_template(path)
    data = _parse_yaml(text, path)
    parent_ref = data.pop(EXTENDS, None)
    if parent_ref is None:
        return text, data
    sibling = path.parent / str(parent_ref)
    parent_path = sibling.resolve() if sibling.is_file() else resolve_environment(str(parent_ref))
    _, parent = _merged_environment(parent_path, (*chain, path))
    return text, _deep_merge(parent, data)


def load_environment(name_or_path: str | None = None) -> Environment:
    """Find, render and validate an environment by name or path, following `extends`."""
    path = resolve_environment(name_or_path)
    text, data = _merged_environment(path)
    return _validated(data, text, path)
