"""Building images for real: venv convention, CA kept out, failures, warm no-ops, list, prune."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import docker
import docker.errors
import pytest
import yaml
from typer.testing import CliRunner

from orchestrator.cli.images import app as images_app
from orchestrator.environment import Environment
from orchestrator.images.build import ImageBuilder
from orchestrator.images.errors import ImageBuildError
from orchestrator.images.inventory import environment_references, managed_images, prune
from orchestrator.images.progress import PlainProgress
from orchestrator.images.tags import ImageSet, resolve_images

pytestmark = pytest.mark.docker
PROJECT = Path(__file__).resolve().parents[2]

# A stand-in lock file: one small pure-Python wheel, hash-pinned like the real ones.
REQUIREMENTS = ("iniconfig==2.0.0 \\\n"
                "    --hash=sha256:b6a85871a79d2e3b22d2d1b94ac2824226a63c6b741c88f7ae975f18b6778374\n")


def standin_env(default_env: Environment, recipes: Path, name: str, dockerfile: str,
                files: dict[str, str]) -> Environment:
    """An environment with the real `base` and one extra test image built FROM it."""
    if not (recipes / "base").exists():
        shutil.copytree(PROJECT / "images" / "base", recipes / "base")
    folder = recipes / name
    folder.mkdir(parents=True)
    (folder / "Dockerfile.j2").write_text(dockerfile)
    for rel, text in files.items():
        (folder / rel).parent.mkdir(parents=True, exist_ok=True)
        (folder / rel).write_text(text)
    data = default_env.model_dump()
    data["name"] = "standin"
    data["images"] = {"base": data["images"]["base"], name: {"recipe": name, "parent": "base", "args": {}}}
    return Environment.model_validate(data)


def _dangling_stages(client: docker.DockerClient) -> set[str]:
    return {str(i.id) for i in client.images.list(filters={"dangling": True, "label": "mcuorch.managed=true"})}


@pytest.fixture
def scratch_images(docker_client: docker.DockerClient) -> Iterator[list[str]]:
    """Tags a test creates, and the build stages it leaves; removed afterwards."""
    made: list[str] = []
    before = _dangling_stages(docker_client)
    yield made
    for ref in made + sorted(_dangling_stages(docker_client) - before):
        try:
            docker_client.images.remove(ref, force=True)
        except docker.errors.ImageNotFound:
            pass


def run_in(client: docker.DockerClient, tag: str, script: str) -> str:
    out = client.containers.run(tag, ["sh", "-c", script], remove=True, network_mode="none")
    return out.decode()


def test_requirements_become_a_venv_first_on_path_without_the_ca(
        docker_client: docker.DockerClient, default_env: Environment, base_image: ImageSet,
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, scratch_images: list[str]) -> None:
    recipes = tmp_path / "images"
    env = standin_env(default_env, recipes, "standin", '{% extends "layout.Dockerfile.j2" %}\n',
                      {"requirements.txt": REQUIREMENTS,
                       "bin/standin-hello": "#!/bin/sh\necho hello from $0\n",
                       "standin_pkg/__init__.py": "VALUE = 42\n"})
    (recipes / "standin" / "bin" / "standin-hello").chmod(0o755)
    monkeypatch.setenv("MCUORCH_PROJECT", str(tmp_path))
    images = resolve_images(env, client=docker_client)
    assert images.get("base").tag == base_image.get("base").tag  # the real base is reused
    tag = images.get("standin").tag
    scratch_images.append(tag)
    before = _dangling_stages(docker_client)
    results = ImageBuilder(docker_client, progress=PlainProgress(quiet=True)).build(env)
    assert [r.built for r in results] == [False, True]
    assert _dangling_stages(docker_client) - before == set()  # the fetch stage (and its CA) is gone
    out = run_in(docker_client, tag, "command -v python3; standin-hello; "
                 "python3 -c 'import iniconfig, standin_pkg; print(standin_pkg.VALUE)'; "
                 "ls /tmp/fetch 2>&1 || true; find / -xdev -name ca-bundle.pem 2>/dev/null | wc -l")
    lines = out.split("\n")
    assert lines[0] == "/opt/venv/bin/python3"
    assert lines[1] == "hello from /opt/mcuorch/standin/bin/standin-hello"
    assert lines[2] == "42"
    assert "No such file" in lines[3]
    assert lines[4] == "0"
    labels = docker_client.images.get(tag).labels
    assert labels["mcuorch.image"] == "standin" and labels["mcuorch.managed"] == "true"


def test_a_failing_step_is_one_line_with_the_log(docker_client: docker.DockerClient, default_env: Environment,
                                                 base_image: ImageSet, tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch, scratch_images: list[str]) -> None:
    recipes = tmp_path / "images"
    env = standin_env(default_env, recipes, "broken",
                      '{% extends "layout.Dockerfile.j2" %}\n{% block final %}\n'
                      'RUN echo about to fail && exit 7\n{% endblock %}\n', {})
    monkeypatch.setenv("MCUORCH_PROJECT", str(tmp_path))
    builder = ImageBuilder(docker_client, progress=PlainProgress(quiet=True), log_dir=tmp_path / "logs")
    with pytest.raises(ImageBuildError) as info:
        builder.build(env, ["broken"])
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith("image broken failed at step ")
    assert "returned a non-zero code: 7" in message
    log = Path(message.rsplit("log: ", 1)[1])
    assert "about to fail" in log.read_text()


def test_second_build_of_the_default_environment_does_nothing(docker_client: docker.DockerClient,
                                                              default_env: Environment,
                                                              built_images: ImageSet) -> None:
    start = time.monotonic()
    results = ImageBuilder(docker_client, progress=PlainProgress(quiet=True)).build(default_env)
    elapsed = time.monotonic() - start
    assert not any(r.built for r in results)
    assert {r.name: r.tag for r in results} == {n: i.tag for n, i in built_images.images.items()}
    assert elapsed <= 5.0, elapsed


def test_build_command_prints_one_line_per_image(built_images: ImageSet) -> None:
    result = CliRunner().invoke(images_app, ["build", "--env", "default", "--quiet"])
    assert result.exit_code == 0, result.output
    lines = [line for line in result.output.splitlines() if "up to date" in line]
    assert len(lines) == len(built_images.images)
    assert any(built_images.get("base").tag in line for line in lines)


def test_list_shows_tags_sizes_pins_and_users(docker_client: docker.DockerClient, built_images: ImageSet) -> None:
    refs = environment_references(docker_client, "mcuorch")
    entries = {t: e for e in managed_images(docker_client, "mcuorch", refs) for t in e.tags}
    base = entries[built_images.get("base").tag]
    assert "default" in base.environments and base.size_bytes > 50_000_000
    assert base.pins["python3"] == built_images.get("base").pins["python3"]
    result = CliRunner().invoke(images_app, ["list"])
    assert result.exit_code == 0 and built_images.get("qemu").tag.split(":")[1] in result.output


def test_prune_removes_only_unreferenced_tags_of_its_namespace(docker_client: docker.DockerClient,
                                                               default_env: Environment,
                                                               base_image: ImageSet) -> None:
    namespace = f"mcuorch-it{uuid.uuid4().hex[:8]}"
    image = docker_client.images.get(base_image.get("base").tag)
    wanted = resolve_images(default_env, client=docker_client, namespace=namespace).get("base").tag
    stale = f"{namespace}/base:0123456789abcdef"
    for ref in (wanted, stale):
        image.tag(*ref.rsplit(":", 1))
    try:
        refs = environment_references(docker_client, namespace)
        assert wanted in refs.by_tag and stale not in refs.by_tag
        preview = prune(docker_client, namespace, refs, dry_run=True, stages=False)
        assert stale in preview.removed and wanted not in preview.removed
        assert stale in docker_client.images.get(stale).tags
        prune(docker_client, namespace, refs, stages=False)
        with pytest.raises(docker.errors.ImageNotFound):
            docker_client.images.get(stale)
        assert docker_client.images.get(wanted).id == image.id
        assert base_image.get("base").tag in docker_client.images.get(wanted).tags  # other namespace kept
    finally:
        for ref in (wanted, stale):
            try:
                docker_client.images.remove(ref)
            except docker.errors.ImageNotFound:
                pass


@pytest.mark.parametrize("mode", ["cli", "prepare"])
def test_ctrl_c_stops_a_build_at_once(docker_client: docker.DockerClient, default_env: Environment,
                                      base_image: ImageSet, tmp_path: Path, mode: str,
                                      scratch_images: list[str]) -> None:
    """Ctrl+C during a long build step: the process exits 130 within seconds, the step dies."""
    marker = uuid.uuid4().hex
    standin_env(default_env, tmp_path / "images", "slow",
                '{% extends "layout.Dockerfile.j2" %}\n{% block final %}\n'
                f'RUN sleep 300 && echo {marker}\n{{% endblock %}}\n', {})
    (tmp_path / "environments").mkdir()
    env_text = (PROJECT / "environments" / "default.yml.j2").read_text()
    head = env_text[: env_text.index("\nimages:")].replace("name: default", "name: slowtest", 1)
    images = yaml.safe_dump({"images": {"base": default_env.images["base"].model_dump(),
                                        "slow": {"recipe": "slow", "parent": "base"}}})
    (tmp_path / "environments" / "slowtest.yml.j2").write_text(head + "\n" + images)
    env = {**os.environ, "MCUORCH_PROJECT": str(tmp_path), "MCUORCH_HOME": str(tmp_path / "home"),
           "PYTHONPATH": os.pathsep.join([str(PROJECT), os.environ.get("PYTHONPATH", "")])}
    proc = subprocess.Popen([sys.executable, str(Path(__file__).with_name("build_driver.py")), mode,
                             "slowtest", "slow"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)

    def step_containers() -> list[str]:
        return [c["Id"][:12] for c in docker_client.api.containers(all=True) if marker in c.get("Command", "")]

    try:
        deadline = time.monotonic() + 120
        while not step_containers() and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.2)
        assert step_containers(), proc.communicate(timeout=5)
        sent = time.monotonic()
        proc.send_signal(signal.SIGINT)
        _, stderr = proc.communicate(timeout=30)
        assert time.monotonic() - sent < 15
    finally:
        proc.kill()
    assert proc.returncode == 130, stderr
    if mode == "prepare":
        assert "interrupted" in stderr
    deadline = time.monotonic() + 30
    while step_containers() and time.monotonic() < deadline:  # the engine cancels the step
        time.sleep(0.5)
    assert step_containers() == []
