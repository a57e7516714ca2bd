"""A normal install, not a checkout: the wheel is built, installed into a fresh virtual
environment, and the demo runs from a folder that has nothing of the project in it.

The wheel must carry environments, image recipes, the target software and the bundled models
as package data; the images it builds must be the ones a checkout builds (same tags).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from tests.conftest import REPO

pytestmark = [pytest.mark.e2e, pytest.mark.docker]


def _run(argv: list[str], cwd: Path, env: dict[str, str], timeout: float = 900) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    root = tmp_path_factory.mktemp("install")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MCUORCH_", "PYTHON", "VIRTUAL_ENV"))}
    built = _run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "-w", str(root / "dist"),
                  str(REPO)], cwd=root, env=env)
    assert built.returncode == 0, built.stderr
    wheel = next((root / "dist").glob("mcuorch-*.whl"))
    names = zipfile.ZipFile(wheel).namelist()
    for member in ("orchestrator/_data/environments/default.yml.j2", "orchestrator/_data/sw/compile.sh",
                   "orchestrator/_data/images/qemu/Dockerfile.j2", "orchestrator/_data/models/aww/model.tflite"):
        assert member in names, f"wheel lacks {member}"
    venv = root / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    pip = _run([str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet", str(wheel)], cwd=root, env=env)
    assert pip.returncode == 0, pip.stderr
    work = root / "elsewhere"
    work.mkdir()
    env.update(MCUORCH_HOME=str(root / "home"), PATH=f"{venv / 'bin'}{os.pathsep}{env['PATH']}")
    return work, env


def test_installed_wheel_lists_environments_from_any_folder(installed: tuple[Path, dict[str, str]]) -> None:
    work, env = installed
    listed = _run(["mcuorch", "env", "list"], cwd=work, env=env)
    assert listed.returncode == 0, listed.stderr
    assert "default" in listed.stdout and "tumeda" in listed.stdout
    version = _run(["mcuorch", "--version"], cwd=work, env=env)
    assert version.returncode == 0 and "0." in version.stdout


def test_installed_wheel_runs_the_demo_model(installed: tuple[Path, dict[str, str]]) -> None:
    work, env = installed
    done = _run(["mcuorch", "run", "sine_model", "-t", "host_x86", "--label", "wheel"], cwd=work, env=env,
                timeout=1800)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    rows = json.loads((Path(env["MCUORCH_HOME"]) / "results" / "wheel.json").read_text())
    assert len(rows) == 1 and rows[0]["Validation"] is True, rows
    assert not any(work.iterdir()), "the run wrote into the current folder"
