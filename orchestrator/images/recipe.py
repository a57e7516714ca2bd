"""Recipes: `images/<recipe>/Dockerfile.j2` rendered with the environment's pins and args.

A recipe folder is also the image's build context: every file in it (minus caches) is copied
to `/opt/mcuorch/<name>` and hashed into the content tag. Rendering records which apt pins
and which other images the recipe used, because both belong in the tag.
"""

from __future__ import annotations

import fnmatch
import os
import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import jinja2
from pydantic import BaseModel, ConfigDict

from orchestrator.digest import file_digest
from orchestrator.images.errors import RecipeError

TEMPLATE = "Dockerfile.j2"
SHARED_TEMPLATES = Path(__file__).resolve().parent / "templates"
IGNORED_DIRS = frozenset({"__pycache__", ".pytest_cache", ".mypy_cache", ".ruff_cache", ".git"})
IGNORED_FILES = ("*.pyc", "*.pyo", "*~", ".DS_Store")


class ContextFile(BaseModel):
    """One file of a recipe folder as it enters the build context and the tag."""

    model_config = ConfigDict(frozen=True)

    rel: str
    """Path relative to the recipe folder, '/'-separated."""
    path: Path
    executable: bool
    digest: str
    link: str | None = None
    """Symlink target when the entry is a link (then `digest` is empty)."""


class Rendered(BaseModel):
    """A rendered recipe and what it drew on."""

    model_config = ConfigDict(frozen=True)

    dockerfile: str
    pins: dict[str, str]
    images: list[str]
    """Other images referenced by `image(name)` (builder stages), in first-use order."""


def context_files(recipe_dir: Path) -> list[ContextFile]:
    """Every file of the recipe folder in sorted order, without caches (they would move tags)
    and without the template itself (the rendered Dockerfile is hashed instead, so comments
    in a template do not force rebuilds)."""
    found: list[ContextFile] = []
    for top, dirs, files in os.walk(recipe_dir):
        dirs[:] = sorted(d for d in dirs if d not in IGNORED_DIRS and not d.endswith(".egg-info"))
        for name in sorted(files):
            if any(fnmatch.fnmatch(name, pattern) for pattern in IGNORED_FILES):
                continue
            path = Path(top) / name
            if path == recipe_dir / TEMPLATE:
                continue
            rel = path.relative_to(recipe_dir).as_posix()
            if path.is_symlink():
                found.append(ContextFile(rel=rel, path=path, executable=False, digest="",
                                         link=os.readlink(path)))
            elif path.is_file():
                executable = bool(path.stat().st_mode & 0o111)
                found.append(ContextFile(rel=rel, path=path, executable=executable,
                                         digest=file_digest(path)))
    return sorted(found, key=lambda f: f.rel)


def render(
    *,
    name: str,
    recipe_dir: Path,
    parent: str,
    args: Mapping[str, Any],
    apt_pins: Mapping[str, str],
    files: list[ContextFile],
    image_ref: Callable[[str], str],
    sources: Mapping[str, Mapping[str, str]] | None = None,
) -> Rendered:
    """Render `recipe_dir/Dockerfile.j2`; `image_ref(name)` gives another image's tag.

    `sources` (repo key → file, url, commit) are the archives the build context carries under
    `sources/`; the template reads them as `sources.<key>.file` etc."""
    used_pins: dict[str, str] = {}
    used_images: list[str] = []

    def apt(*packages: str) -> str:
        """`pkg=version ...` for `apt-get install`; a package without a pin is an error."""
        out = []
        for package in packages:
            version = apt_pins.get(package)
            if version is None:
                raise RecipeError(
                    f"images.{name}: apt package {package!r} has no version in packages.apt"
                )
            used_pins[package] = version
            out.append(f"{package}={version}")
        return " ".join(out)

    def image(other: str) -> str:
        if other not in used_images:
            used_images.append(other)
        return image_ref(other)

    def glob(pattern: str) -> list[str]:
        return [f.rel for f in files if fnmatch.fnmatchcase(f.rel, pattern)]

    if not (recipe_dir / TEMPLATE).is_file():
        raise RecipeError(f"images.{name}: recipe folder {recipe_dir} has no {TEMPLATE}")
    jinja = jinja2.Environment(
        loader=jinja2.ChoiceLoader(
            [jinja2.FileSystemLoader(str(recipe_dir)), jinja2.FileSystemLoader(str(SHARED_TEMPLATES))]
        ),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        autoescape=False,
    )
    jinja.globals.update(apt=apt, image=image, glob=glob)
    variables = {
        "name": name,
        "parent": parent,
        "args": dict(args),
        "requirements": any(f.rel == "requirements.txt" for f in files),
        "sources": {key: dict(value) for key, value in (sources or {}).items()},
    }
    where = recipe_dir / TEMPLATE
    try:
        text = jinja.get_template(TEMPLATE).render(**variables)
    except jinja2.TemplateSyntaxError as exc:
        raise RecipeError(f"{exc.filename or where}: line {exc.lineno}: {exc.message}") from None
    except jinja2.UndefinedError as exc:
        raise RecipeError(f"{where}: {exc.message}") from None
    check_copied_paths(name, text, files)
    return Rendered(dockerfile=text, pins=dict(sorted(used_pins.items())), images=used_images)


COPY_LINE = re.compile(r"^\s*(?:COPY|ADD)\s+(?!--from)(?:--\S+\s+)*(?P<args>.+)$", re.MULTILINE)


def check_copied_paths(name: str, dockerfile: str, files: list[ContextFile]) -> None:
    """Every `src/...` a COPY names must be in the recipe folder: a file that exists only in
    one checkout (say, matched by an ignore rule and never committed) fails here, before the
    engine reports it halfway through a build."""
    present = {f.rel for f in files}
    folders = {"/".join(f.rel.split("/")[:depth]) for f in files for depth in range(1, f.rel.count("/") + 1)}
    for match in COPY_LINE.finditer(dockerfile):
        for source in match["args"].split()[:-1]:
            if not source.startswith("src/"):
                continue
            rel = source.removeprefix("src/").rstrip("/")
            if rel and "*" not in rel and rel not in present and rel not in folders:
                raise RecipeError(f"images.{name}: the Dockerfile copies {source} but the recipe "
                                  f"folder has no {rel}")
