"""The Docker engine connection shared by image builds and the Docker runtime.

Connecting is where most user-facing Docker problems show up (no daemon, no permission on
the socket), so every failure becomes one `RuntimeUnavailableError` line instead of a
traceback from the SDK.
"""

from __future__ import annotations

import os

import docker
import docker.errors
import requests.exceptions

from orchestrator.errors import RuntimeUnavailableError

DEFAULT_TIMEOUT_SEC = 120
POOL_SIZE = 32
"""Connections kept open: one per streamed exec or build plus the control calls beside them."""


def connect(timeout_sec: int = DEFAULT_TIMEOUT_SEC) -> docker.DockerClient:
    """A client for the engine named by `DOCKER_HOST` (or the default socket), checked by ping."""
    where = os.environ.get("DOCKER_HOST", "the default Docker socket")
    try:
        client = docker.from_env(timeout=timeout_sec, max_pool_size=POOL_SIZE)
        client.ping()
    except (docker.errors.DockerException, requests.exceptions.RequestException) as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise RuntimeUnavailableError(f"no Docker engine reachable at {where} ({reason}); is Docker "
                                      "running? (runs can also use --runtime local)") from None
    return client


def image_exists(client: docker.DockerClient, ref: str) -> bool:
    """Whether the engine has an image under `ref` (tag or ID)."""
    try:
        client.images.get(ref)
        return True
    except docker.errors.ImageNotFound:
        return False
