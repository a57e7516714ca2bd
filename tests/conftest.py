"""Fixtures shared by every test suite.

`docker_engine`: a reachable Docker engine, or a skip — except under `CI=true`, where a
missing engine is a failure (CI must not silently skip the container tests).
`mcuorch_home`: an empty state home for one test (MCUORCH_HOME).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
TOY_DIR = REPO / "tests" / "e2e" / "toy"
TOY_ENV = TOY_DIR / "toy.yml.j2"
TOY_PLUGIN = TOY_DIR / "plugin.py"


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() in {"1", "true", "yes"}


@pytest.fixture(scope="session")
def docker_engine() -> Iterator[object]:
    """A docker SDK client for a live engine; skip without one, fail under CI=true."""
    try:
        import docker

        client = docker.from_env(timeout=10)
        client.ping()
    except Exception as exc:  # noqa: BLE001 - any failure means "no usable engine"
        message = f"no Docker engine reachable: {type(exc).__name__}: {exc}"
        if in_ci():
            pytest.fail(message + " (CI=true: container tests must run)")
        pytest.skip(message)
    try:
        yield client
    finally:
        client.close()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Tests marked `docker` get the `docker_engine` fixture (and so its skip/fail rule)."""
    for item in items:
        if item.get_closest_marker("docker") and "docker_engine" not in getattr(item, "fixturenames", []):
            item.fixturenames.append("docker_engine")


@pytest.fixture
def mcuorch_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "home"
    monkeypatch.setenv("MCUORCH_HOME", str(home))
    monkeypatch.delenv("MCUORCH_ENV", raising=False)
    monkeypatch.delenv("MCUORCH_MODELS", raising=False)
    return home


@pytest.fixture
def toy_plugin(monkeypatch: pytest.MonkeyPatch) -> Path:
    """The toy toolchain's components registered through MCUORCH_PLUGINS."""
    monkeypatch.setenv("MCUORCH_PLUGINS", str(TOY_PLUGIN))
    return TOY_PLUGIN
