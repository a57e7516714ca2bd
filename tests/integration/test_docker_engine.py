"""No engine: one clear line, a skip on a laptop, a failure under CI=true."""

from __future__ import annotations

import os
from pathlib import Path

import docker
import pytest
from docker_fixtures import require_engine

from orchestrator.environment import Environment
from orchestrator.errors import McuorchError, RuntimeUnavailableError
from orchestrator.images import bootstrap as boot
from orchestrator.images.build import ImageBuilder
from orchestrator.images.engine import connect
from orchestrator.images.errors import BootstrapError
from orchestrator.images.progress import PlainProgress
from orchestrator.images.tags import ImageSet, resolve_images
from orchestrator.runtime.base import ImageRef
from orchestrator.runtime.docker import DockerRuntime

NO_ENGINE = "unix:///nonexistent/mcuorch-test/docker.sock"


def test_missing_engine_is_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DOCKER_HOST", NO_ENGINE)
    with pytest.raises(RuntimeUnavailableError) as info:
        connect()
    assert "\n" not in str(info.value) and NO_ENGINE in str(info.value)


def test_missing_engine_fails_under_ci_and_skips_otherwise(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DOCKER_HOST", NO_ENGINE)
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="CI=true but no Docker engine"):
        require_engine()
    monkeypatch.setenv("CI", "false")
    with pytest.raises(pytest.skip.Exception):
        require_engine()


def test_tags_are_predicted_without_an_engine(monkeypatch: pytest.MonkeyPatch, default_env: Environment) -> None:
    monkeypatch.setenv("DOCKER_HOST", NO_ENGINE)
    images = resolve_images(default_env, client=None)
    assert images.root.source == "bootstrap" and not images.root.present
    assert set(images.images) == set(default_env.images)


def test_bootstrap_without_root_says_so(monkeypatch: pytest.MonkeyPatch, default_env: Environment,
                                        tmp_path: Path) -> None:
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    monkeypatch.setattr(boot.shutil, "which", lambda name: "/usr/sbin/debootstrap")
    root = resolve_images(default_env, client=None).root
    with pytest.raises(BootstrapError, match="needs root .*sudo mcuorch images bootstrap"):
        boot._run_debootstrap(root, tmp_path, PlainProgress(quiet=True))


@pytest.mark.docker
def test_prepare_checks_tags_and_says_how_to_build(docker_client: docker.DockerClient, default_env: Environment,
                                                   base_image: ImageSet) -> None:
    runtime = DockerRuntime(default_env, "it-prepare", client=docker_client, build_missing=False,
                            progress=PlainProgress(quiet=True))
    try:
        runtime.prepare([base_image.get("base").ref])
        with pytest.raises(McuorchError, match="asked for mcuorch/base:0000 but environment 'default' gives"):
            runtime.prepare([ImageRef(name="base", tag="mcuorch/base:0000")])
        data = default_env.model_dump()
        data["images"]["base"]["args"]["source_date_epoch"] = 1  # a base nobody has built
        changed = Environment.model_validate(data)
        other = DockerRuntime(changed, "it-prepare", client=docker_client, build_missing=False)
        try:
            ref = other.image_set().get("base").ref
            with pytest.raises(McuorchError, match="not built; run `mcuorch images build --env default`"):
                other.prepare([ref])
        finally:
            other.close()
    finally:
        runtime.close()


@pytest.mark.docker
def test_bootstrap_command_is_a_no_op_when_the_root_exists(docker_client: docker.DockerClient,
                                                           default_env: Environment, base_image: ImageSet) -> None:
    root = ImageBuilder(docker_client, progress=PlainProgress(quiet=True)).bootstrap_root(default_env)
    assert root.ref == base_image.root.ref or base_image.root.source == "pull"
