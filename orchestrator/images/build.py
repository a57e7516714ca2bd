"""Building an environment's images: only missing tags, parents first, root pulled or bootstrapped.

The engine may lack BuildKit, so builds go through the legacy builder's HTTP API with a
context made in memory (`orchestrator.images.context`). A tag that already exists is never
rebuilt: it names the exact inputs, so a warm `images build` only asks the engine whether
each tag exists. Independent images build concurrently (downloads overlap with unpacking).
"""

from __future__ import annotations

import io
import json
import queue
import re
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import docker
import docker.errors
from pydantic import BaseModel, ConfigDict

from orchestrator.environment import Environment
from orchestrator.images import bootstrap as boot
from orchestrator.images.context import BuildSettings, build_context
from orchestrator.images.engine import image_exists
from orchestrator.images.errors import ImageBuildError
from orchestrator.images.locks import pip_pins
from orchestrator.images.progress import BuildProgress, PlainProgress
from orchestrator.images.tags import (
    ImageSet,
    ResolvedImage,
    RootImage,
    bootstrap_root_of,
    namespace_from_env,
    resolve_images,
)
from orchestrator.paths import home_paths
from orchestrator.sources.cache import SourceCache
from orchestrator.sources.fetch import require_cached

DEFAULT_JOBS = 2
_LAYER = re.compile(r"^ ---> ([0-9a-f]{12,64})\s*$")
_STAGE_START = re.compile(r"^Step (\d+)/\d+ : FROM ", re.IGNORECASE)


class BuiltImage(BaseModel):
    """The outcome for one image: its tag and ID, sizes, and whether this call built it."""

    model_config = ConfigDict(frozen=True)

    name: str
    tag: str
    image_id: str
    size_bytes: int
    """Whole image, parents included (what `docker images` shows)."""
    added_bytes: int
    """What this image adds on top of the image it is built FROM."""
    seconds: float
    built: bool


def image_labels(image: ResolvedImage) -> dict[str, str]:
    """Labels on every built image: how `images list/prune` recognise and describe them.

    The pins label carries the apt pins the recipe used and the pip pins of its lock, so
    `images list` shows e.g. the apache-tvm version; the tag already covers both.
    """
    pins = {**image.pins, **pip_pins(image.recipe_dir)}
    return {"mcuorch.managed": "true", "mcuorch.image": image.name,
            "mcuorch.pins": json.dumps(pins, sort_keys=True)}


def _size(client: docker.DockerClient, ref: str) -> int:
    try:
        return int(client.images.get(ref).attrs.get("Size", 0))
    except docker.errors.ImageNotFound:
        return 0


class ImageBuilder:
    """Builds what an environment needs; safe to reuse for several environments."""

    def __init__(self, client: docker.DockerClient, *, progress: BuildProgress | None = None,
                 settings: BuildSettings | None = None, jobs: int = DEFAULT_JOBS,
                 log_dir: Path | None = None, namespace: str | None = None,
                 keep_stages: bool = False, sources: SourceCache | None = None) -> None:
        self.client = client
        self.progress = progress or PlainProgress()
        self.settings = settings or BuildSettings.from_environ()
        self.jobs = max(1, jobs)
        self.log_dir = log_dir or home_paths().root / "logs" / "images"
        self.namespace = namespace
        self.keep_stages = keep_stages
        self.sources = sources or SourceCache(home_paths().sources)
        self._archives: dict[str, dict[str, Path]] = {}

    # -- the root OS image -------------------------------------------------------------------

    def ensure_root(self, env: Environment, images: ImageSet) -> ImageSet:
        """Make the root exist: pull when configured and reachable, else bootstrap (one note).

        A successful pull changes the root's identity and so every tag: the returned set is
        re-resolved against it.
        """
        root = images.root
        if root.present:
            boot.ensure_pulled_ref(self.client, root)
            return images
        pulled = boot.try_pull(self.client, root, images.namespace)
        if pulled is not None:
            self.progress.note(f"pulled {root.pull} as {pulled.ref}")
            return resolve_images(env, client=self.client, namespace=images.namespace, root=pulled)
        reason = f"{root.pull} could not be pulled (no registry reachable?)" if root.pull \
            else "no base image to pull is configured"
        self.progress.note(f"{reason}: bootstrapping {root.ref} from {root.params.mirror} "
                           f"({root.params.suite}, {root.params.variant})")
        boot.bootstrap(self.client, root, self.progress)
        return images.model_copy(update={"root": root.model_copy(update={"present": True})})

    def bootstrap_root(self, env: Environment, force: bool = False) -> RootImage:
        """`images bootstrap`: debootstrap the root (unless its tag exists and not `force`)."""
        root = bootstrap_root_of(env.base, self.namespace or namespace_from_env(), self.client)
        if force or not root.present:
            boot.bootstrap(self.client, root, self.progress)
        return root.model_copy(update={"present": True})

    # -- images ---------------------------------------------------------------------------------

    def exists(self, ref: str) -> bool:
        return image_exists(self.client, ref)

    def build(self, env: Environment, names: list[str] | None = None) -> list[BuiltImage]:
        """Build the missing images among `names` (all when None) and what they need."""
        images = resolve_images(env, client=self.client, namespace=self.namespace)
        wanted = images.closure(names)
        missing = [i for i in wanted if not self.exists(i.tag)]
        self._find_sources(env, missing)
        if any(i.parent is None for i in missing):
            images = self.ensure_root(env, images)
            wanted = images.closure(names)
            missing = [i for i in wanted if not self.exists(i.tag)]
        seconds = self._run_builds(missing, done={i.name for i in wanted} - {m.name for m in missing})
        return [self._describe(i, seconds.get(i.name, 0.0), built=i.name in seconds) for i in wanted]

    def _find_sources(self, env: Environment, missing: list[ResolvedImage]) -> None:
        """Every source the missing images need, from the cache (verified), before any build
        starts: a missing one is one line naming the repo, the commit and the fetch command."""
        for image in missing:
            self._archives[image.name] = {
                key: require_cached(key, env.repos[key], self.sources, env.name).archive
                for key in image.sources}

    def _run_builds(self, missing: list[ResolvedImage], done: set[str]) -> dict[str, float]:
        """Build `missing` (in order, up to `jobs` at once once their deps are done).

        Builds run in daemon threads: on Ctrl+C the main thread leaves at once and the engine
        cancels the builds when the process (and so its connections) goes away. A failed
        build stops new ones; those already running finish first.
        """
        todo = {i.name: i for i in missing}
        finished: queue.Queue[tuple[str, float, BaseException | None]] = queue.Queue()
        running: set[str] = set()
        seconds: dict[str, float] = {}
        failure: BaseException | None = None

        def work(image: ResolvedImage) -> None:
            start = time.monotonic()
            try:
                self._build_one(image)
                finished.put((image.name, time.monotonic() - start, None))
            except BaseException as exc:  # noqa: BLE001 - handed to the main thread
                finished.put((image.name, time.monotonic() - start, exc))

        while todo or running:
            if failure is None:
                for name, image in list(todo.items()):
                    if len(running) < self.jobs and all(d in done for d in image.deps):
                        del todo[name]
                        running.add(name)
                        threading.Thread(target=work, args=(image,), name=f"build-{name}",
                                         daemon=True).start()
            if not running:
                if failure is None and todo:
                    failure = ImageBuildError(f"images {sorted(todo)} need images that cannot be built")
                break
            try:
                name, took, error = finished.get(timeout=0.5)
            except queue.Empty:
                continue
            running.discard(name)
            if error is not None:
                failure = failure or error
                continue
            seconds[name] = took
            done.add(name)
        if failure is not None:
            raise failure
        return seconds

    def _drop_stages(self, stage_ids: list[str]) -> None:
        """Remove the untagged results of builder stages (e.g. `fetch`): they hold a second
        copy of the venv and the CA bundle, and the content tag already makes rebuilds rare."""
        for stage_id in stage_ids:
            try:
                if not self.client.images.get(stage_id).tags:
                    self.client.images.remove(stage_id)
            except docker.errors.APIError:
                pass  # in use by a concurrent build, or already gone

    def _describe(self, image: ResolvedImage, seconds: float, built: bool) -> BuiltImage:
        attrs = self.client.images.get(image.tag).attrs
        size = int(attrs.get("Size", 0))
        return BuiltImage(name=image.name, tag=image.tag, image_id=str(attrs["Id"]),
                          size_bytes=size, added_bytes=max(0, size - _size(self.client, image.from_ref)),
                          seconds=round(seconds, 1), built=built)

    def _stream(self, image: ResolvedImage) -> Iterator[dict[str, Any]]:
        context = build_context(image, self.settings, sources=self._archives.get(image.name, {}))
        return self.client.api.build(  # type: ignore[no-any-return]
            fileobj=io.BytesIO(context), custom_context=True, tag=image.tag,
            network_mode="host", buildargs=dict(self.settings.proxy), rm=True, forcerm=True,
            pull=False, decode=True, labels=image_labels(image), timeout=None,
        )

    def _build_one(self, image: ResolvedImage) -> str:
        """Build one image, streaming steps to the progress display and all output to a log."""
        self.log_dir.mkdir(parents=True, exist_ok=True)
        log_path = self.log_dir / f"{image.name}-{image.tag.rpartition(':')[2]}.log"
        self.progress.begin(image.name, f"building {image.tag}")
        step, error, image_id, last_layer = "", "", "", ""
        stages: list[str] = []
        ok = False
        try:
            with log_path.open("w", encoding="utf-8") as log:
                log.write(image.dockerfile + "\n----\n")
                for chunk in self._stream(image):
                    text = chunk.get("stream")
                    if text:
                        log.write(text)
                        layer = _LAYER.match(text)
                        if layer:
                            last_layer = layer.group(1)
                        if text.startswith("Step "):
                            step = text.strip()
                            self.progress.step(image.name, step)
                            if _STAGE_START.match(step) and last_layer:
                                stages.append(last_layer)
                    if "error" in chunk:
                        error = str(chunk.get("error", "")).strip()
                        log.write(f"ERROR: {error}\n")
                    aux = chunk.get("aux")
                    if isinstance(aux, dict) and "ID" in aux:
                        image_id = str(aux["ID"])
            if error or not self.exists(image.tag):
                where = f" at {step.split(' : ')[0].lower()}" if step else ""
                problem = (error or "no image was produced").splitlines()[-1]
                raise ImageBuildError(f"image {image.name} failed{where}: {problem}; log: {log_path}")
            ok = True
            if not self.keep_stages:
                self._drop_stages(stages)
            return image_id
        except docker.errors.APIError as exc:
            raise ImageBuildError(f"image {image.name}: the engine refused the build: "
                                  f"{exc.explanation or exc}; log: {log_path}") from None
        finally:
            self.progress.end(image.name, ok)


_build_lock = threading.Lock()
"""Serialises whole `build` calls in one process (e.g. two runtimes preparing at once)."""


def build_environment(client: docker.DockerClient, env: Environment, names: list[str] | None = None,
                      **options: Any) -> list[BuiltImage]:
    """Convenience: one `ImageBuilder(client, **options).build(env, names)` at a time."""
    with _build_lock:
        return ImageBuilder(client, **options).build(env, names)
