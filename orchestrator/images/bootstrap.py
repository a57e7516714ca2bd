"""The root OS image without a registry: pull it if possible, else debootstrap + import.

Air-gapped engines and CI machines often have no image at all and no reachable registry,
but they can reach a Debian mirror. `debootstrap --variant=minbase` makes the same minimal
Debian a registry would give (about 30 s, 200 MB), `docker import` turns it into an image.
debootstrap needs root (it chroots and creates device nodes); a non-root user runs
`sudo mcuorch images bootstrap` once or makes a registry with debian:bookworm-slim reachable.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import docker
import docker.errors
import requests.exceptions

from orchestrator.images.errors import BootstrapError
from orchestrator.images.progress import BuildProgress
from orchestrator.images.tags import HASH_CHARS, RootImage

ROOTFS_NAME = "rootfs"
_CLEAN = ("var/cache/apt/archives", "var/lib/apt/lists", "var/log", "var/cache/ldconfig")
_DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


def _split(ref: str) -> tuple[str, str]:
    repo, _, tag = ref.rpartition(":")
    return repo, tag


def _split_pull(ref: str) -> tuple[str, str | None]:
    """`debian:bookworm-slim` -> (debian, bookworm-slim); digests and registry ports kept whole."""
    if "@" in ref:
        return ref, None
    repo, sep, tag = ref.rpartition(":")
    return (repo, tag) if sep and "/" not in tag else (ref, None)


def try_pull(client: docker.DockerClient, root: RootImage, namespace: str) -> RootImage | None:
    """Pull `root.pull`; on success tag it `<ns>/rootfs:<id>` and return that root, else None."""
    if not root.pull:
        return None
    repo, tag = _split_pull(root.pull)
    try:
        image = client.images.pull(repo, tag=tag)
    except (docker.errors.DockerException, requests.exceptions.RequestException):
        return None
    image_id = str(image.id)
    ref = f"{namespace}/{ROOTFS_NAME}:{image_id.split(':', 1)[-1][:HASH_CHARS]}"
    image.tag(*_split(ref))
    return root.model_copy(update={"source": "pull", "ref": ref, "identity": image_id,
                                   "present": True})


def ensure_pulled_ref(client: docker.DockerClient, root: RootImage) -> None:
    """A pulled root found locally gets its immutable `<ns>/rootfs:<id>` name if it lacks it."""
    if root.source == "pull" and root.pull:
        image = client.images.get(root.pull)
        if root.ref not in image.tags:
            image.tag(*_split(root.ref))


def _run_debootstrap(root: RootImage, target: Path, progress: BuildProgress) -> None:
    tool = shutil.which("debootstrap") or ("/usr/sbin/debootstrap"
                                           if Path("/usr/sbin/debootstrap").exists() else None)
    if tool is None:
        raise BootstrapError("debootstrap is not installed; run `apt-get install debootstrap` "
                             "(or make a registry with the base image reachable)")
    if os.geteuid() != 0:
        raise BootstrapError("bootstrapping the base image needs root (debootstrap); run "
                             "`sudo mcuorch images bootstrap` once, or make a registry reachable")
    p = root.params
    argv = [tool, f"--variant={p.variant}", f"--arch={p.arch}"]
    if p.include:
        argv.append("--include=" + ",".join(p.include))
    argv += [p.suite, str(target), p.mirror]
    tail: list[str] = []
    with subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                          errors="replace") as proc:
        for line in proc.stdout or ():
            tail = (tail + [line.rstrip()])[-5:]
            progress.step(ROOTFS_NAME, line.strip())
    if proc.returncode != 0:
        last = next((t for t in reversed(tail) if t.strip()), "no output")
        raise BootstrapError(f"debootstrap {p.suite} from {p.mirror} failed "
                             f"(exit {proc.returncode}): {last}")


def _clean(target: Path) -> None:
    """Drop downloaded .debs, package lists and logs: they are large and differ per run."""
    for rel in _CLEAN:
        folder = target / rel
        if folder.is_dir():
            for child in folder.iterdir():
                if child.is_dir() and not child.is_symlink():
                    shutil.rmtree(child)
                else:
                    child.unlink()


def _import(client: docker.DockerClient, root: RootImage, target: Path) -> str:
    repo, tag = _split(root.ref)
    labels = {"mcuorch.managed": "true", "mcuorch.image": ROOTFS_NAME,
              "mcuorch.bootstrap": json.dumps(root.params.model_dump(), sort_keys=True)}
    changes = [f"ENV PATH={_DEFAULT_PATH}", 'CMD ["bash"]',
               "LABEL " + " ".join(f"{k}={json.dumps(v)}" for k, v in labels.items())]
    tar = subprocess.Popen(["tar", "-C", str(target), "--numeric-owner", "--sort=name", "-c", "."],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        client.api.import_image_from_stream(tar.stdout, repository=repo, tag=tag, changes=changes)
    finally:
        _, err = tar.communicate()
    if tar.returncode != 0:
        raise BootstrapError(f"tar of {target} failed: {err.decode(errors='replace').strip()}")
    return str(client.images.get(root.ref).id)


def bootstrap(client: docker.DockerClient, root: RootImage, progress: BuildProgress,
              workdir: Path | None = None) -> str:
    """debootstrap the root into a temporary folder and import it as `root.ref`; its image ID."""
    progress.begin(ROOTFS_NAME, f"debootstrap {root.params.suite} ({root.params.variant}) "
                                f"from {root.params.mirror}")
    target = Path(tempfile.mkdtemp(prefix="mcuorch-rootfs-", dir=workdir))
    ok = False
    try:
        _run_debootstrap(root, target, progress)
        _clean(target)
        progress.step(ROOTFS_NAME, f"importing as {root.ref}")
        image_id = _import(client, root, target)
        ok = True
        return image_id
    finally:
        shutil.rmtree(target, ignore_errors=True)
        progress.end(ROOTFS_NAME, ok)
