"""Images built from pinned upstream sources: the archive enters the build context from the
source cache (never the network), the tag covers the pin, and a missing source is one line."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import docker
import pytest
from test_image_build import run_in, scratch_images, standin_env  # noqa: F401 - fixture

from orchestrator.environment import Environment
from orchestrator.images.build import ImageBuilder
from orchestrator.images.progress import PlainProgress
from orchestrator.images.tags import ImageSet, resolve_images
from orchestrator.sources import SourceCache, SourceMissingError, fetch_sources

pytestmark = pytest.mark.docker
GIT_ENV = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.org", "GIT_COMMITTER_NAME": "t",
           "GIT_COMMITTER_EMAIL": "t@example.org"}
RECIPE = """{% extends "layout.Dockerfile.j2" %}
{% block stages %}
FROM {{ parent }} AS unpack
COPY {{ sources.demo.file }} /tmp/demo.tar.gz
RUN mkdir /demo && tar -xzf /tmp/demo.tar.gz -C /demo --strip-components=1
{% endblock %}
{% block final %}
COPY --from=unpack /demo /opt/demo
LABEL demo.commit="{{ sources.demo.commit }}"
{% endblock %}
"""


def _commit(repo: Path, text: str) -> str:
    (repo / "VERSION").write_text(text)
    env = {**os.environ, **GIT_ENV}
    subprocess.run(["git", "add", "VERSION"], cwd=repo, check=True, env=env)
    subprocess.run(["git", "commit", "-q", "-m", text], cwd=repo, check=True, env=env)
    return subprocess.run(["git", "rev-parse", "HEAD"], cwd=repo, check=True, env=env,
                          capture_output=True, text=True).stdout.strip()


def _with_source(env: Environment, url: str, commit: str) -> Environment:
    data = env.model_dump()
    data["repos"] = {"demo": {"url": url, "ref": commit}}
    data["images"]["fromsrc"]["sources"] = ["demo"]
    return Environment.model_validate(data)


def test_image_from_a_git_source_carries_exactly_the_pinned_tree(
        docker_client: docker.DockerClient, default_env: Environment, base_image: ImageSet,
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, scratch_images: list[str]) -> None:
    repo = tmp_path / "demo.git"
    repo.mkdir()
    subprocess.run(["git", "init", "-q", "-b", "main"], cwd=repo, check=True)
    first, second = _commit(repo, "1.0\n"), _commit(repo, "2.0\n")
    monkeypatch.setenv("MCUORCH_PROJECT", str(tmp_path))
    plain = standin_env(default_env, tmp_path / "images", "fromsrc", RECIPE, {})
    cache = SourceCache(tmp_path / "sources")
    builder = ImageBuilder(docker_client, progress=PlainProgress(quiet=True), sources=cache)

    env = _with_source(plain, f"file://{repo}", first)
    with pytest.raises(SourceMissingError) as err:  # nothing fetched yet: refused before building
        builder.build(env, ["fromsrc"])
    assert "\n" not in str(err.value) and first in str(err.value) and "sources fetch" in str(err.value)

    fetch_sources(env, cache)
    tag = resolve_images(env, client=docker_client).get("fromsrc").tag
    scratch_images.append(tag)
    builder.build(env, ["fromsrc"])
    assert run_in(docker_client, tag, "cat /opt/demo/VERSION") == "1.0\n"
    assert docker_client.images.get(tag).labels["demo.commit"] == first

    moved = _with_source(plain, f"file://{repo}", second)  # another pin: another tag
    assert resolve_images(moved, client=docker_client).get("fromsrc").tag != tag
