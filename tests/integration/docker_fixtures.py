"""Docker fixtures for any test suite: a checked engine, the default environment's images.

Images are built once per test session and reused by tag across sessions (a warm build only
checks that the tags exist). Without an engine the tests are skipped, except under `CI=true`
where a missing engine is a failure: CI must never pass by skipping the Docker tests.

Use from another suite's conftest.py (tests/ has no __init__.py files):

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "integration"))
    from docker_fixtures import *  # built_images, base_image, docker_client, ...

or list "docker_fixtures" in `pytest_plugins` of a root conftest with that folder on sys.path.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import docker
import pytest

from orchestrator.environment import Environment, load_environment
from orchestrator.errors import RuntimeUnavailableError
from orchestrator.images.build import ImageBuilder
from orchestrator.images.engine import connect
from orchestrator.images.progress import PlainProgress
from orchestrator.images.tags import ImageSet, resolve_images
from orchestrator.runtime.owners import LABEL_SESSION, labelled_containers

__all__ = [
    "base_image",
    "built_images",
    "default_env",
    "docker_client",
    "leftover_containers",
    "require_engine",
    "test_session_id",
]


def require_engine() -> docker.DockerClient:
    """A live engine, or skip (fail under CI=true) with the one-line reason."""
    try:
        return connect()
    except RuntimeUnavailableError as exc:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"CI=true but {exc}", pytrace=False)
        pytest.skip(str(exc))


def leftover_containers(client: docker.DockerClient, session_id: str) -> list[str]:
    """IDs of containers still labelled with `session_id` (should always be empty)."""
    return [c.short_id for c in labelled_containers(client, [f"{LABEL_SESSION}={session_id}"])]


@pytest.fixture(scope="session")
def docker_client() -> docker.DockerClient:
    return require_engine()


@pytest.fixture(scope="session")
def default_env() -> Environment:
    return load_environment("default")


def _build(client: docker.DockerClient, env: Environment, names: list[str] | None) -> ImageSet:
    ImageBuilder(client, progress=PlainProgress(quiet=True)).build(env, names)
    return resolve_images(env, client=client)


@pytest.fixture(scope="session")
def built_images(docker_client: docker.DockerClient, default_env: Environment) -> ImageSet:
    """Every image of the default environment, built if missing (cold: minutes; warm: ~1 s)."""
    return _build(docker_client, default_env, None)


@pytest.fixture(scope="session")
def base_image(docker_client: docker.DockerClient, default_env: Environment) -> ImageSet:
    """Only the `base` image (and the root OS image): enough for runtime tests."""
    return _build(docker_client, default_env, ["base"])


@pytest.fixture
def test_session_id(docker_client: docker.DockerClient) -> Iterator[str]:
    """A unique session label; the test fails if any container with it survives the test."""
    session_id = f"it-{uuid.uuid4().hex[:10]}"
    yield session_id
    left = leftover_containers(docker_client, session_id)
    for container_id in left:
        docker_client.containers.get(container_id).remove(force=True)
    assert left == [], f"containers left behind by session {session_id}: {left}"
