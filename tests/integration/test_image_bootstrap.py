"""The root OS image without a registry: pull fails -> debootstrap + import, in a private namespace.

The namespace is unique per test run, so "from an empty engine" holds for it without
touching the images other people (or other tests) use.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import uuid
from collections.abc import Iterator

import docker
import docker.errors
import pytest

from orchestrator.environment import Environment
from orchestrator.images.build import ImageBuilder
from orchestrator.images.progress import PlainProgress
from orchestrator.images.tags import ImageSet, resolve_images

pytestmark = pytest.mark.docker
needs_root = pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() != 0 or not (
    shutil.which("debootstrap") or os.path.exists("/usr/sbin/debootstrap")),
    reason="bootstrap needs root and debootstrap")


@pytest.fixture
def namespace(docker_client: docker.DockerClient) -> Iterator[str]:
    ns = f"mcuorch-it{uuid.uuid4().hex[:8]}"
    yield ns
    for image in docker_client.images.list():
        for tag in image.tags:
            if tag.startswith(ns + "/"):
                docker_client.images.remove(tag, force=True)


def unreachable_pull(env: Environment) -> Environment:
    data = env.model_dump()
    data["base"]["pull"] = "mcuorch-no-such-registry.invalid/debian:bookworm-slim"
    return Environment.model_validate(data)


@needs_root
def test_failed_pull_falls_back_to_bootstrap(docker_client: docker.DockerClient, default_env: Environment,
                                             namespace: str) -> None:
    env = unreachable_pull(default_env)
    stream = io.StringIO()
    builder = ImageBuilder(docker_client, progress=PlainProgress(stream, quiet=True), namespace=namespace)
    images = resolve_images(env, client=docker_client, namespace=namespace)
    assert not images.root.present and images.root.source == "bootstrap"
    images = builder.ensure_root(env, images)
    notes = stream.getvalue().strip().splitlines()
    assert len(notes) == 1 and "could not be pulled" in notes[0] and "bootstrapping" in notes[0]
    image = docker_client.images.get(images.root.ref)
    assert json.loads(image.labels["mcuorch.bootstrap"])["suite"] == env.base.suite
    out = docker_client.containers.run(images.root.ref, ["cat", "/etc/debian_version"], remove=True,
                                       network_mode="none").decode()
    assert out.startswith("12.")
    again = resolve_images(env, client=docker_client, namespace=namespace)
    assert again.root.present and again.root.ref == images.root.ref
    # the CLI-level bootstrap is a no-op now that the tag exists
    assert builder.bootstrap_root(env).ref == images.root.ref


def test_a_pulled_root_is_named_by_its_image_id(docker_client: docker.DockerClient, default_env: Environment,
                                                base_image: ImageSet, namespace: str) -> None:
    """Pretend the configured pull ref is present (any local image): it wins over bootstrap."""
    fake_pull = f"{namespace}/pulled:1"
    source = docker_client.images.get(base_image.root.ref)
    source.tag(f"{namespace}/pulled", "1")
    data = default_env.model_dump()
    data["base"]["pull"] = fake_pull
    env = Environment.model_validate(data)
    images = resolve_images(env, client=docker_client, namespace=namespace)
    assert images.root.source == "pull" and images.root.identity == source.id
    assert images.root.ref == f"{namespace}/rootfs:{source.id.split(':')[1][:16]}"
    predicted = resolve_images(env, client=None, namespace=namespace)
    assert predicted.root.source == "bootstrap"
    assert predicted.get("base").tag != images.get("base").tag  # the root is part of every tag
    ImageBuilder(docker_client, progress=PlainProgress(quiet=True), namespace=namespace).ensure_root(env, images)
    assert docker_client.images.get(images.root.ref).id == source.id
