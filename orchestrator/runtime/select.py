"""Choosing a runtime (`--runtime docker|local`) and naming the images it runs jobs in.

The Docker runtime is imported lazily, so the local runtime, the fake runtime and dry runs
work without the Docker SDK talking to an engine.
"""

from __future__ import annotations

from orchestrator.components.base import Stage
from orchestrator.environment import Environment
from orchestrator.errors import UserError
from orchestrator.paths import ProjectPaths, home_paths
from orchestrator.runtime.base import ImageRef, Mount, Runtime
from orchestrator.runtime.mounts import stage_mount_sets

RUNTIMES = ("docker", "local")
LOCAL_TAG = "local"


def check_runtime_name(name: str) -> str:
    if name not in RUNTIMES:
        raise UserError(f"unknown runtime {name!r}; choose from: {', '.join(RUNTIMES)}")
    return name


def create_runtime(name: str, env: Environment, project: ProjectPaths, session_id: str,
                   verbose: bool = False) -> Runtime:
    """A ready runtime; an unusable one (e.g. no Docker engine) is one UserError line."""
    check_runtime_name(name)
    if name == "local":
        from orchestrator.runtime.local import LocalRuntime

        return LocalRuntime(project)
    from orchestrator.runtime.docker import DockerRuntime  # needs an engine

    return DockerRuntime(env, session_id, verbose=verbose, shared_mount_sets=shared_mount_sets(env, project))


def shared_mount_sets(env: Environment, project: ProjectPaths) -> list[tuple[Mount, ...]]:
    """Mounts the jobs of one stage may share (runtime/mounts.py `stage_mount_sets`): the target
    software and the model folders, earlier stages' outputs, the stage's own staging folder."""
    home = home_paths()
    return stage_mount_sets(home.jobs, [project.sw, *env.model_search_path()],
                            {Stage.COMPILE: [home.compile_cache]})


def image_refs(name: str, env: Environment, images: list[str]) -> dict[str, ImageRef]:
    """Environment image names → references with the runtime's tags."""
    check_runtime_name(name)
    if name == "local":
        return {image: ImageRef(name=image, tag=LOCAL_TAG) for image in images}
    from orchestrator.images.tags import resolve_images

    resolved = resolve_images(env)
    return {image: resolved.get(image).ref for image in images}
