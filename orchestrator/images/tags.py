"""Content tags: every image is named by a hash of everything that decides its content.

`mcuorch/<name>:<hash>` where the hash covers the rendered Dockerfile, every file of the
build context, the parent's tag (and any builder image's tag) and the apt pins the recipe
used. The root OS image is named by its image ID when pulled, or by a hash of the
debootstrap parameters when bootstrapped. Nothing here builds anything, so dry runs and job
keys can use the tags; the CA bundle and proxy settings of the build never enter them.
"""

from __future__ import annotations

import functools
import os
import platform
import re
from pathlib import Path
from typing import Literal

import docker
import docker.errors
import requests.exceptions
from pydantic import BaseModel, ConfigDict

from orchestrator.digest import canonical_json, sha256_text
from orchestrator.environment import BaseImageSpec, Environment, Source
from orchestrator.images.errors import RecipeError
from orchestrator.images.recipe import ContextFile, context_files, render
from orchestrator.paths import project_paths
from orchestrator.runtime.base import ImageRef

TAG_SCHEME = 1
SOURCES_DIR = "sources"
"""Folder of the build context holding the source archives (`sources/<repo key>.tar.gz`)."""
"""Bumped whenever the way tags are computed (or the shared templates' contract) changes."""
HASH_CHARS = 16
DEFAULT_NAMESPACE = "mcuorch"
AUTO_TIMEOUT_SEC = 5
_NAMESPACE = re.compile(r"^[a-z0-9]+(?:[._-][a-z0-9]+)*(?:/[a-z0-9]+(?:[._-][a-z0-9]+)*)*$")
_DEBIAN_ARCH = {"x86_64": "amd64", "amd64": "amd64", "aarch64": "arm64", "arm64": "arm64",
                "armv7l": "armhf", "ppc64le": "ppc64el", "s390x": "s390x", "riscv64": "riscv64"}


def namespace_from_env() -> str:
    """`MCUORCH_IMAGE_NAMESPACE` (tests use their own) or 'mcuorch'."""
    value = os.environ.get("MCUORCH_IMAGE_NAMESPACE", DEFAULT_NAMESPACE)
    if not _NAMESPACE.match(value):
        raise RecipeError(f"MCUORCH_IMAGE_NAMESPACE={value!r} is not a valid Docker repository prefix")
    return value


def debian_arch() -> str:
    """The Debian architecture of this machine (bootstrapped roots differ per architecture)."""
    machine = platform.machine().lower()
    return _DEBIAN_ARCH.get(machine, machine)


class BootstrapParams(BaseModel):
    """What decides a debootstrapped root's content; its hash is the root's tag."""

    model_config = ConfigDict(frozen=True)

    suite: str
    mirror: str
    variant: str
    arch: str
    include: tuple[str, ...] = ()

    def digest(self) -> str:
        return sha256_text(canonical_json({"scheme": TAG_SCHEME, **self.model_dump()}))


class RootImage(BaseModel):
    """The OS image the root recipe builds FROM: pulled (by image ID) or bootstrapped."""

    model_config = ConfigDict(frozen=True)

    source: Literal["pull", "bootstrap"]
    ref: str
    """`<namespace>/rootfs:<identity>`: an immutable name the recipes build FROM."""
    identity: str
    """The pulled image's ID, or the bootstrap parameters' hash."""
    pull: str | None
    params: BootstrapParams
    present: bool
    """Whether `ref` (or, for a pull, the pulled image) already exists in the engine."""


class SourcePin(BaseModel):
    """A source an image is built from, as its tag covers it."""

    model_config = ConfigDict(frozen=True)

    url: str
    ref: str
    commit: str | None
    sha256: str | None

    @classmethod
    def of(cls, source: Source) -> SourcePin:
        return cls(url=source.url, ref=source.ref, commit=source.commit, sha256=source.sha256)

    def template_view(self, key: str) -> dict[str, str]:
        """What a recipe template sees as `sources.<key>`."""
        return {"file": f"{SOURCES_DIR}/{key}.tar.gz", "url": self.url, "ref": self.ref,
                "commit": self.commit or "", "sha256": self.sha256 or ""}


class ResolvedImage(BaseModel):
    """One image of an environment with its tag and everything the tag was made from."""

    model_config = ConfigDict(frozen=True)

    name: str
    recipe: str
    recipe_dir: Path
    tag: str
    """Full reference `<namespace>/<name>:<hash>`."""
    parent: str | None
    """Parent image name; None for the root recipe (which builds FROM the root OS image)."""
    from_ref: str
    dockerfile: str
    files: list[ContextFile]
    pins: dict[str, str]
    uses: list[str]
    """Other images this one's build reads (builder stages)."""
    sources: dict[str, SourcePin] = {}
    """Upstream sources the build context carries, by repo key."""

    @property
    def ref(self) -> ImageRef:
        return ImageRef(name=self.name, tag=self.tag)

    @property
    def deps(self) -> list[str]:
        """Images that must exist before this one can be built."""
        return ([self.parent] if self.parent else []) + [u for u in self.uses if u != self.parent]


class ImageSet(BaseModel):
    """All images of one environment, in build order (every image after what it needs)."""

    model_config = ConfigDict(frozen=True)

    environment: str
    namespace: str
    root: RootImage
    images: dict[str, ResolvedImage]

    def get(self, name: str) -> ResolvedImage:
        if name not in self.images:
            known = ", ".join(self.images) or "none"
            raise RecipeError(f"environment {self.environment!r} has no image {name!r}; known: {known}")
        return self.images[name]

    def closure(self, names: list[str] | None = None) -> list[ResolvedImage]:
        """The named images (all when None) and everything they need, in build order."""
        if not names:
            return list(self.images.values())
        wanted: set[str] = set()
        stack = list(names)
        while stack:
            image = self.get(stack.pop())
            if image.name not in wanted:
                wanted.add(image.name)
                stack.extend(image.deps)
        return [image for name, image in self.images.items() if name in wanted]


def _local_image_id(client: docker.DockerClient | None, ref: str) -> str | None:
    if client is None:
        return None
    try:
        return str(client.images.get(ref).id)
    except docker.errors.ImageNotFound:
        return None


def bootstrap_root_of(base: BaseImageSpec, namespace: str,
                      client: docker.DockerClient | None) -> RootImage:
    """The root as debootstrap would make it: named by the hash of its parameters."""
    params = BootstrapParams(suite=base.suite, mirror=base.mirror, variant=base.variant,
                             arch=debian_arch())
    ref = f"{namespace}/rootfs:{params.digest()[:HASH_CHARS]}"
    return RootImage(source="bootstrap", ref=ref, identity=params.digest(), pull=base.pull,
                     params=params, present=_local_image_id(client, ref) is not None)


def resolve_root(base: BaseImageSpec, namespace: str, client: docker.DockerClient | None) -> RootImage:
    """Pick the root: a pulled image already in the engine wins, else the bootstrap tag.

    Without an engine (or with neither present) the bootstrap tag is predicted; `images
    build` then tries the pull first, so a registry that appears later changes the root.
    """
    boot = bootstrap_root_of(base, namespace, client)
    if base.pull:
        pulled = _local_image_id(client, base.pull)
        if pulled is not None:
            short = pulled.split(":", 1)[-1][:HASH_CHARS]
            return boot.model_copy(update={"source": "pull", "identity": pulled, "present": True,
                                           "ref": f"{namespace}/rootfs:{short}"})
    return boot


def image_digest(*, name: str, dockerfile: str, files: list[ContextFile], from_identity: str,
                 uses: dict[str, str], pins: dict[str, str],
                 sources: dict[str, SourcePin] | None = None) -> str:
    """The hash behind a content tag (exposed so `explain`-style views can show the inputs)."""
    payload = {
        "scheme": TAG_SCHEME,
        "name": name,
        "dockerfile": dockerfile,
        "files": [[f.rel, f.executable, f.digest, f.link] for f in files],
        "from": from_identity,
        "uses": uses,
        "pins": pins,
    }
    if sources:  # absent when empty, so images without sources keep their tags
        payload["sources"] = {k: v.model_dump() for k, v in sorted(sources.items())}
    return sha256_text(canonical_json(payload))


@functools.lru_cache(maxsize=1)
def _auto_client() -> docker.DockerClient | None:
    """The local engine if one answers quickly, else None (tags are then predicted)."""
    try:
        client = docker.from_env(timeout=AUTO_TIMEOUT_SEC)
        client.ping()
        return client
    except (docker.errors.DockerException, requests.exceptions.RequestException):
        return None


def resolve_images(
    env: Environment,
    *,
    client: docker.DockerClient | None | Literal["auto"] = "auto",
    namespace: str | None = None,
    recipes_dir: Path | None = None,
    root: RootImage | None = None,
) -> ImageSet:
    """Tags of every image of `env` (no build); `client` only decides which root is used.

    With "auto" the local engine is asked (if it answers) whether a pulled root exists, so
    the planner, dry runs and the Docker runtime agree on tags; None predicts without asking.
    """
    if isinstance(client, str):
        client = _auto_client() if root is None else None
    ns = namespace or namespace_from_env()
    recipes = recipes_dir or project_paths().images
    root = root or resolve_root(env.base, ns, client)
    roots = [n for n, spec in env.images.items() if spec.parent is None]
    if len(roots) > 1:
        raise RecipeError(f"environment {env.name!r}: only one image may lack a parent, found {roots}")
    resolved: dict[str, ResolvedImage] = {}
    in_progress: list[str] = []

    def resolve(name: str) -> ResolvedImage:
        if name in resolved:
            return resolved[name]
        if name not in env.images:
            raise RecipeError(f"environment {env.name!r}: unknown image {name!r}")
        if name in in_progress:
            cycle = " -> ".join([*in_progress[in_progress.index(name):], name])
            raise RecipeError(f"environment {env.name!r}: images depend on each other: {cycle}")
        in_progress.append(name)
        spec = env.images[name]
        recipe_dir = recipes / spec.recipe
        if not recipe_dir.is_dir():
            raise RecipeError(f"images.{name}: recipe folder {recipe_dir} does not exist")
        if spec.parent is None:
            from_ref, from_identity = root.ref, root.identity
        else:
            parent = resolve(spec.parent)
            from_ref, from_identity = parent.tag, parent.tag
        files = context_files(recipe_dir)
        sources = {key: SourcePin.of(env.repos[key]) for key in spec.sources}
        rendered = render(name=name, recipe_dir=recipe_dir, parent=from_ref, args=spec.args,
                          apt_pins=env.packages.apt, files=files,
                          image_ref=lambda other: resolve(other).tag,
                          sources={key: pin.template_view(key) for key, pin in sources.items()})
        uses = {other: resolve(other).tag for other in rendered.images}
        digest = image_digest(name=name, dockerfile=rendered.dockerfile, files=files,
                              from_identity=from_identity, uses=uses, pins=rendered.pins,
                              sources=sources)
        image = ResolvedImage(
            name=name, recipe=spec.recipe, recipe_dir=recipe_dir,
            tag=f"{ns}/{name}:{digest[:HASH_CHARS]}", parent=spec.parent, from_ref=from_ref,
            dockerfile=rendered.dockerfile, files=files, pins=rendered.pins,
            uses=list(rendered.images), sources=sources,
        )
        in_progress.pop()
        resolved[name] = image
        return image

    for name in env.images:
        resolve(name)
    return ImageSet(environment=env.name, namespace=ns, root=root, images=resolved)
