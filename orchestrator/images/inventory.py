"""What mcuorch images the engine holds, which environments use them, and pruning the rest.

Images are recognised by the `mcuorch.managed` label and the namespace prefix of their tags.
An image is *referenced* when some environment's resolution (root included) names its tag;
prune removes the unreferenced ones and the untagged build stages (e.g. `fetch`) left by
multi-stage builds. Images another namespace owns (tests use their own) are never touched.
"""

from __future__ import annotations

import json
from pathlib import Path

import docker
import docker.errors
from pydantic import BaseModel, ConfigDict

from orchestrator.environment import list_environments, load_environment
from orchestrator.errors import McuorchError
from orchestrator.images.errors import RecipeError
from orchestrator.images.tags import resolve_images

MANAGED = "mcuorch.managed=true"


class ImageEntry(BaseModel):
    """One mcuorch image in the engine."""

    model_config = ConfigDict(frozen=True)

    tags: list[str]
    image_id: str
    size_bytes: int
    name: str
    pins: dict[str, str]
    environments: list[str]


class References(BaseModel):
    """Tags every environment needs, and environments whose tags are unknown."""

    model_config = ConfigDict(frozen=True)

    by_tag: dict[str, list[str]]
    broken: dict[str, str]
    """Environment -> why it does not load (its images are unknown: pruning is unsafe)."""
    unbuildable: dict[str, str] = {}
    """Environment -> why its recipes do not render (none of its images can be built here)."""


def environment_references(client: docker.DockerClient | None, namespace: str,
                           files: list[Path] | None = None) -> References:
    """Which tags each known environment (or each given file) uses, root image included."""
    by_tag: dict[str, list[str]] = {}
    broken: dict[str, str] = {}
    unbuildable: dict[str, str] = {}
    sources = [str(p) for p in files] if files else [f.name for f in list_environments()]
    for source in sources:
        try:
            env = load_environment(source)
        except McuorchError as exc:
            broken[source] = str(exc)
            continue
        try:
            images = resolve_images(env, client=client, namespace=namespace)
        except RecipeError as exc:
            unbuildable[source] = str(exc)
            continue
        for tag in [images.root.ref, *(i.tag for i in images.images.values())]:
            by_tag.setdefault(tag, [])
            if env.name not in by_tag[tag]:
                by_tag[tag].append(env.name)
    return References(by_tag=by_tag, broken=broken, unbuildable=unbuildable)


def _in_namespace(tag: str, namespace: str) -> bool:
    return tag.startswith(namespace + "/") and tag.count("/") == namespace.count("/") + 1


def managed_images(client: docker.DockerClient, namespace: str, refs: References) -> list[ImageEntry]:
    """Tagged mcuorch images of `namespace`, by image name."""
    entries = []
    for image in client.images.list(filters={"label": MANAGED}):
        tags = [t for t in image.tags if _in_namespace(t, namespace)]
        if not tags:
            continue
        labels = image.labels or {}
        try:
            pins = json.loads(labels.get("mcuorch.pins", "{}"))
        except json.JSONDecodeError:
            pins = {}
        envs = sorted({e for t in tags for e in refs.by_tag.get(t, [])})
        entries.append(ImageEntry(tags=sorted(tags), image_id=str(image.id),
                                  size_bytes=int(image.attrs.get("Size", 0)),
                                  name=labels.get("mcuorch.image", "?"), pins=pins,
                                  environments=envs))
    return sorted(entries, key=lambda e: (e.name, e.tags))


class PruneResult(BaseModel):
    removed: list[str]
    kept_in_use: list[str]
    """Unreferenced images the engine refused to remove (a container still uses them)."""
    reclaimed_bytes: int


def prune(client: docker.DockerClient, namespace: str, refs: References,
          dry_run: bool = False, stages: bool = True) -> PruneResult:
    """Remove unreferenced tags of `namespace` and (with `stages`) dangling build stages."""
    removed: list[str] = []
    in_use: list[str] = []
    before = 0 if dry_run else _layers_size(client)
    for entry in managed_images(client, namespace, refs):
        stale = [t for t in entry.tags if t not in refs.by_tag]
        for tag in stale:
            if dry_run:
                removed.append(tag)
                continue
            try:
                client.images.remove(tag, noprune=False)
                removed.append(tag)
            except docker.errors.APIError:
                in_use.append(tag)
    dangling = client.images.list(filters={"dangling": True, "label": MANAGED}) if stages else []
    for image in dangling:
        if dry_run:
            removed.append(image.short_id)
            continue
        try:
            client.images.remove(image.id, noprune=False)
            removed.append(image.short_id)
        except docker.errors.APIError:
            in_use.append(image.short_id)
    reclaimed = 0 if dry_run else max(0, before - _layers_size(client))
    return PruneResult(removed=removed, kept_in_use=in_use, reclaimed_bytes=reclaimed)


def _layers_size(client: docker.DockerClient) -> int:
    """Bytes of all image layers in the engine (shared layers counted once)."""
    return int(client.df().get("LayersSize") or 0)
