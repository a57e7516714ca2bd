"""Fixtures and collection rules shared by every test suite (on the host and inside images).

This file is also loaded by the in-image runs of `tests/images/<name>` (their conftests sit
below it), so at module level it imports nothing but the standard library and pytest.

- `tests/images/**` is left out of host collection: those suites import toolchain libraries
  (tvm, tflite-micro) and run inside their images, launched by
  tests/integration/test_image_suites.py. Naming such a path on the command line (as the
  in-image runs do) collects it.
- Under `CI=true` a skip is a failure unless its reason is in `JUSTIFIED_SKIPS`: CI must
  never pass by skipping a test because a tool, package or engine is missing.
- `docker_engine`: a reachable Docker engine, or a skip (a failure under CI=true).
- `mcuorch_home`: an empty state home for one test (MCUORCH_HOME).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
IMAGE_SUITES = REPO / "tests" / "images"
TOY_DIR = REPO / "tests" / "e2e" / "toy"
TOY_ENV = TOY_DIR / "toy.yml.j2"
TOY_PLUGIN = TOY_DIR / "plugin.py"

JUSTIFIED_SKIPS: dict[str, str] = {
    "not a classifier": "argmax agreement only means something for class scores "
                        "(tests/images/tvm/test_models.py: sine_model and toycar are regressors)",
}
"""Skip reasons that do not hide a missing tool or feature, with why. Everything else that
skips fails under CI=true (and fails an image suite whether or not CI is set)."""


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def justified_skip(reason: str) -> bool:
    """Whether a skip with this reason is allowed to stay a skip under CI."""
    reason = reason.removeprefix("Skipped: ").strip()
    return reason in JUSTIFIED_SKIPS


def skip_reason(longrepr: object) -> str:
    """The reason text of a skipped report (pytest stores (path, line, reason))."""
    if isinstance(longrepr, tuple) and len(longrepr) == 3:
        return str(longrepr[2]).removeprefix("Skipped: ")
    return str(longrepr)


def _under(path: Path, folder: Path) -> bool:
    return path == folder or folder in path.parents


def _asked_for_image_suites(config: pytest.Config) -> bool:
    """Whether a path on the command line lies inside tests/images (an in-image run)."""
    base = Path(config.invocation_params.dir)
    for arg in config.args:
        path = (base / arg.split("::", 1)[0]).resolve()
        if _under(path, IMAGE_SUITES):
            return True
    return False


def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    """Host runs never collect tests/images (they would import toolchain libraries)."""
    if _under(collection_path, IMAGE_SUITES) and not _asked_for_image_suites(config):
        return True
    return None


def _fail_unjustified_skip(report: pytest.TestReport | pytest.CollectReport) -> None:
    if not (in_ci() and report.skipped) or hasattr(report, "wasxfail"):
        return
    reason = skip_reason(report.longrepr)
    if justified_skip(reason):
        return
    report.outcome = "failed"
    report.longrepr = (f"CI=true: skipped tests fail here, and this skip is not in "
                       f"tests/conftest.py JUSTIFIED_SKIPS: {reason}")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    """Under CI=true an unjustified skip (in setup or in the test) becomes a failure."""
    outcome = yield
    _fail_unjustified_skip(outcome.get_result())  # type: ignore[attr-defined]


@pytest.hookimpl(hookwrapper=True)
def pytest_make_collect_report(collector: pytest.Collector) -> Iterator[None]:
    """Under CI=true a module-level skip (importorskip) becomes a collection error."""
    outcome = yield
    _fail_unjustified_skip(outcome.get_result())  # type: ignore[attr-defined]


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
