"""The Docker engine connection shared by image builds and the Docker runtime.

Connecting is where most user-facing Docker problems show up (no daemon, no permission on
the socket), so every failure becomes one `RuntimeUnavailableError` line instead of a
traceback from the SDK. An engine that goes away later, mid-session, is `lost_engine`'s.
"""

from __future__ import annotations

import os
import sys

import docker
import docker.errors
import requests.exceptions

from orchestrator.errors import EngineLostError, RuntimeUnavailableError

DEFAULT_TIMEOUT_SEC = 120
POOL_SIZE = 32
"""Connections kept open: one per streamed exec or build plus the control calls beside them."""
DEFAULT_HOST = "npipe:////./pipe/docker_engine" if sys.platform == "win32" else "unix:///var/run/docker.sock"
"""Where the SDK (and the docker CLI) look for the engine when DOCKER_HOST is not set."""
PING_TIMEOUT_SEC = 5.0


def engine_address() -> str:
    """The engine `connect` talks to, as a user would write it: DOCKER_HOST or the default socket."""
    return os.environ.get("DOCKER_HOST") or DEFAULT_HOST


def connect(timeout_sec: int = DEFAULT_TIMEOUT_SEC) -> docker.DockerClient:
    """A client for the engine named by `DOCKER_HOST` (or the default socket), checked by ping."""
    where = engine_address()
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


def engine_answers(client: docker.DockerClient, timeout_sec: float = PING_TIMEOUT_SEC) -> bool:
    """Whether the engine answers a ping within `timeout_sec` (the client's own timeout is
    long enough for a slow build step, far too long to wait for an engine that is gone)."""
    try:
        return bool(client.api.get(f"{client.api.base_url}/_ping", timeout=timeout_sec).ok)
    except requests.exceptions.RequestException:
        return False


def lost_engine(client: docker.DockerClient, exc: BaseException) -> EngineLostError | None:
    """An `EngineLostError` naming the engine when `exc` is a failed connection and the engine
    no longer answers a ping; None for everything else. The ping keeps one dropped connection
    (a stale pooled socket, a proxy hiccup) from ending a session whose engine is fine."""
    if not isinstance(exc, requests.exceptions.ConnectionError) or engine_answers(client):
        return None
    return EngineLostError(engine_address())
