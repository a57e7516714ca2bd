"""Unit-test helpers: a toy registry and environment, a session runner on the fake runtime,
placeholder models."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from rich.console import Console

from orchestrator.components.registry import Registry, builtin_registry, load_plugins
from orchestrator.matrix import MatrixRequest
from orchestrator.runner import SessionOptions, SessionResult, SessionRunner, prepare
from orchestrator.runtime.fake import FakeRuntime
from orchestrator.session import SessionRecord
from tests.conftest import TOY_ENV, TOY_PLUGIN


def toy_registry() -> Registry:
    registry = builtin_registry()
    load_plugins(registry, env_value=str(TOY_PLUGIN))
    return registry


class FakeSession:
    """Runs toy sessions against one home with a fake runtime (scripted per test)."""

    def __init__(self, runtime: FakeRuntime) -> None:
        self.runtime = runtime
        self.registry = toy_registry()
        self.console = Console(file=open("/dev/null", "w"))

    def run(self, request: MatrixRequest, *, parallel: int = 1, rerun: bool = False,
            cancel: threading.Event | None = None, postprocesses: list[str] | None = None,
            resume: SessionRecord | None = None) -> SessionResult:
        prepared = prepare(str(TOY_ENV), request, registry=self.registry)
        options = SessionOptions(env=str(TOY_ENV), request=request, parallel=parallel, runtime="local",
                                 rerun=rerun, quiet=True)
        runner = SessionRunner(self.console, runtime_factory=lambda *args: self.runtime)
        return runner.run(options, cancel or threading.Event(), resume=resume, prepared=prepared)


@pytest.fixture
def fake_session(mcuorch_home: Path) -> FakeSession:
    return FakeSession(FakeRuntime())


@pytest.fixture
def models(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Two placeholder models, `aww` and `vww`, found through MCUORCH_MODELS."""
    for name in ("aww", "vww"):
        (tmp_path / "models" / name).mkdir(parents=True)
        (tmp_path / "models" / name / "model.tflite").write_bytes(b"TFL3" + name.encode())
    monkeypatch.setenv("MCUORCH_MODELS", str(tmp_path / "models"))
    return tmp_path / "models"
