"""The collection rules of tests/conftest.py, observed on real pytest processes: under CI=true
an unjustified skip fails, and host runs leave tests/images alone unless asked for it."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from image_suites import parse_junit

from tests.conftest import REPO

SUITE = """
import pytest

def test_ok():
    pass

def test_tool_missing():
    pytest.skip("frobnicator not installed")

@pytest.mark.skipif(True, reason="needs the widget")
def test_marked():
    pass

def test_justified():
    pytest.skip("not a classifier")

@pytest.fixture
def engine():
    pytest.skip("no engine here")

def test_fixture_skip(engine):
    pass
"""


def pytest_run(folder: Path, ci: str | None) -> dict[str, str]:
    """Outcomes by test name of a pytest process over `folder` (with the root conftest's hooks)."""
    env = {k: v for k, v in os.environ.items() if k != "CI"}
    if ci is not None:
        env["CI"] = ci
    junit = folder / f"junit-{ci}.xml"
    # --continue-on-collection-errors: see every outcome (a collection error would stop the run)
    subprocess.run([sys.executable, "-m", "pytest", str(folder), "-p", "no:cacheprovider", "-q",
                    "--continue-on-collection-errors", "--rootdir", str(folder),
                    f"--junitxml={junit}"], env=env, cwd=folder,
                   capture_output=True, text=True, timeout=120, check=False)
    return {case.name: case.outcome for case in parse_junit(junit)}


@pytest.fixture
def suite(tmp_path: Path) -> Path:
    folder = tmp_path / "policy"
    folder.mkdir()
    (folder / "conftest.py").write_text(textwrap.dedent(f"""
        import sys
        sys.path.insert(0, {str(REPO)!r})
        from tests.conftest import pytest_make_collect_report, pytest_runtest_makereport  # noqa: F401
        """))
    (folder / "test_policy.py").write_text(SUITE)
    (folder / "test_module_skip.py").write_text(
        "import pytest\npytest.importorskip('mcuorch_no_such_module')\n\ndef test_never():\n    pass\n")
    return folder


def test_ci_turns_unjustified_skips_into_failures(suite: Path) -> None:
    outcomes = pytest_run(suite, "true")
    # skipif marks and fixtures skip during setup: failing there is reported as an error
    assert outcomes == {"test_ok": "passed", "test_tool_missing": "failed", "test_marked": "error",
                        "test_justified": "skipped", "test_fixture_skip": "error",
                        "test_module_skip": "error"}


def test_without_ci_skips_stay_skips(suite: Path) -> None:
    outcomes = pytest_run(suite, None)
    assert outcomes == {"test_ok": "passed", "test_tool_missing": "skipped", "test_marked": "skipped",
                        "test_justified": "skipped", "test_fixture_skip": "skipped",
                        "test_module_skip": "skipped"}


def collected(*args: str) -> list[str]:
    proc = subprocess.run([sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider",
                           *args], cwd=REPO, capture_output=True, text=True, timeout=300, check=True)
    return [line for line in proc.stdout.splitlines() if "::" in line]


def test_host_collection_leaves_out_the_image_suites() -> None:
    ids = collected()
    assert ids and not [i for i in ids if i.startswith("tests/images/")]
    assert any(i.startswith("tests/sw/") for i in ids)  # runs on the host, through the images
    # named explicitly (as the in-image runs do), an image suite is collected
    assert all(i.startswith("tests/images/tvm/test_planner.py::")
               for i in collected("tests/images/tvm/test_planner.py"))
