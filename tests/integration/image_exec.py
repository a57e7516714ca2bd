"""Run commands inside the default environment's toolchain images from host tests.

The commands run under the stage-job conventions, through the project's own Docker runtime:
the invoking user's uid, no network, a read-only root filesystem with a fresh /tmp, the
repository mounted read-only and one scratch folder (the pytest session's temporary root)
mounted read-write, both at their host paths, so argv and files name host paths. One warm
container per image serves every command (an exec costs ~0.1 s, a new container ~1 s).

`image_shell` (session fixture) gives an `ImageShell`; tests/sw and the in-image suites use it
so that the CI host needs nothing but Docker.
"""

from __future__ import annotations

import shutil
import subprocess
import threading
import uuid
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import IO, cast

import docker
import docker.errors
import pytest

from orchestrator.environment import Environment, load_environment
from orchestrator.images.build import ImageBuilder
from orchestrator.images.engine import connect
from orchestrator.images.progress import PlainProgress
from orchestrator.images.tags import ImageSet, resolve_images
from orchestrator.runtime.base import ExecRequest, Mount
from orchestrator.runtime.docker import DockerRuntime
from orchestrator.runtime.owners import LABEL_IMAGE, LABEL_SESSION

REPO = Path(__file__).resolve().parents[2]
DEFAULT_TIMEOUT_SEC = 600.0

__all__ = ["ImageShell", "image_shell", "standalone_shell"]


class ImageShell:
    """Runs argv in any image of `images`; results look like `subprocess.run`'s."""

    def __init__(self, client: docker.DockerClient, env: Environment, images: ImageSet,
                 scratch: Path, session_id: str | None = None) -> None:
        self.client = client
        self.images = images
        self.scratch = scratch.resolve()
        self.session_id = session_id or f"tests-{uuid.uuid4().hex[:10]}"
        self.mounts = [Mount(path=REPO), Mount(path=self.scratch, read_only=False)]
        self._logs = self.scratch / "image-shell-logs"
        self._logs.mkdir(parents=True, exist_ok=True)
        self._exports: dict[tuple[str, str], Path] = {}
        self._lock = threading.Lock()
        self.runtime = DockerRuntime(env, self.session_id, client=client, shared_mounts=self.mounts,
                                     build_missing=False, progress=PlainProgress(quiet=True))

    def tag(self, image: str) -> str:
        return self.images.get(image).tag

    def image_env(self, image: str) -> dict[str, str]:
        """The image's configured environment (`ENV` lines), e.g. PATH and PYTHONPATH."""
        config = self.client.images.get(self.tag(image)).attrs.get("Config") or {}
        pairs = (item.split("=", 1) for item in config.get("Env") or [])
        return {key: value for key, value in pairs}

    def run(self, image: str, argv: Sequence[str], *, env: Mapping[str, str] | None = None,
            workdir: Path | None = None, timeout: float = DEFAULT_TIMEOUT_SEC,
            check: bool = False) -> subprocess.CompletedProcess[str]:
        """argv in a container of `image`; raises `subprocess.TimeoutExpired` on timeout and,
        with `check`, `subprocess.CalledProcessError` on a non-zero exit."""
        name = uuid.uuid4().hex[:12]
        stdout_path, stderr_path = self._logs / f"{name}.out", self._logs / f"{name}.err"
        request = ExecRequest(image=self.images.get(image).ref, argv=list(argv), mounts=self.mounts,
                              env=dict(env or {}), workdir=workdir or self.scratch,
                              timeout_sec=timeout, stdout_path=stdout_path, stderr_path=stderr_path)
        try:
            result = self.runtime.run(request, threading.Event())
            stdout = stdout_path.read_text(errors="replace")
            stderr = stderr_path.read_text(errors="replace")
        finally:
            stdout_path.unlink(missing_ok=True)
            stderr_path.unlink(missing_ok=True)
        if result.exit_code is None:
            raise subprocess.TimeoutExpired(list(argv), timeout, stdout, stderr)
        done = subprocess.CompletedProcess(list(argv), result.exit_code, stdout, stderr)
        if check:
            done.check_returncode()
        return done

    def export(self, image: str, path: str) -> Path:
        """A copy of directory `path` of `image` under the scratch folder (made once), owned by
        the invoking user; mounted with the scratch folder into every container."""
        key = (image, path)
        with self._lock:
            if key in self._exports:
                return self._exports[key]
            dest = self.scratch / "image-exports" / image
            dest.mkdir(parents=True, exist_ok=True)
            container = self.client.containers.create(
                self.tag(image), command=["true"], network_mode="none",
                labels={LABEL_SESSION: self.session_id, LABEL_IMAGE: image})
            try:
                chunks, _ = container.get_archive(path)
                # --no-same-owner: the files belong to the invoking user, whatever the image says
                with subprocess.Popen(["tar", "-x", "--no-same-owner", "-C", str(dest)],
                                      stdin=subprocess.PIPE, stderr=subprocess.PIPE) as tar:
                    stdin, stderr = cast(IO[bytes], tar.stdin), cast(IO[bytes], tar.stderr)
                    for chunk in chunks:
                        stdin.write(chunk)
                    stdin.close()
                    error = stderr.read().decode(errors="replace")
                if tar.returncode != 0:
                    raise RuntimeError(f"extracting {path} of {image} failed: {error.strip()}")
            finally:
                container.remove(force=True)
            exported = dest / Path(path).name
            self._exports[key] = exported
            return exported

    def close(self) -> None:
        """Remove every container this shell started and the exported copies (hundreds of MB)."""
        self.runtime.close()
        shutil.rmtree(self.scratch / "image-exports", ignore_errors=True)


@pytest.fixture(scope="session")
def image_shell(docker_client: docker.DockerClient, default_env: Environment, built_images: ImageSet,
                tmp_path_factory: pytest.TempPathFactory) -> Iterator[ImageShell]:
    """An `ImageShell` over the default environment's (built) images for the whole session."""
    shell = ImageShell(docker_client, default_env, built_images, tmp_path_factory.getbasetemp())
    try:
        yield shell
    finally:
        shell.close()


@contextmanager
def standalone_shell(scratch: Path, images: list[str] | None = None) -> Iterator[ImageShell]:
    """An `ImageShell` for scripts outside pytest; the `images` it needs (all when None) are
    built first when missing, with progress on stderr."""
    client = connect()
    env = load_environment("default")
    ImageBuilder(client, progress=PlainProgress()).build(env, images)
    shell = ImageShell(client, env, resolve_images(env, client=client), scratch)
    try:
        yield shell
    finally:
        shell.close()
