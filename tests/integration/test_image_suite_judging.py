"""How in-image suite runs are read and judged: JUnit parsing, delegated and unjustified skips,
and (with Docker) a failing suite that must fail with its in-image summary."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from image_exec import ImageShell
from image_suites import (
    CaseResult,
    Placement,
    RunResult,
    Suite,
    count_lines,
    failure_text,
    judge,
    parse_junit,
    run_placement,
)

from tests.conftest import justified_skip

JUNIT = """<?xml version="1.0" encoding="utf-8"?>
<testsuites><testsuite name="pytest" errors="1" failures="1" skipped="2" tests="6">
<testcase classname="tests.images.x.test_a" name="test_ok" time="0.1"/>
<testcase classname="tests.images.x.test_a" name="test_bad[1]" time="0.1">
  <failure message="assert 1 == 2">trace</failure></testcase>
<testcase classname="tests.images.x.test_a" name="test_setup" time="0.1">
  <error message="failed on setup with &quot;boom&quot;">trace</error></testcase>
<testcase classname="tests.images.x.test_a" name="test_cc" time="0.0">
  <skipped type="pytest.skip" message="arm-none-eabi-gcc not installed">x.py:3: arm-none-eabi-gcc not installed</skipped></testcase>
<testcase classname="tests.images.x.test_a" name="test_kind" time="0.0">
  <skipped type="pytest.skip" message="not a classifier">x.py:9: not a classifier</skipped></testcase>
<testcase classname="" name="tests.images.x.test_b" time="0.0">
  <skipped message="collection skipped">x</skipped></testcase>
</testsuite></testsuites>
"""


def case(name: str, outcome: str, message: str = "") -> CaseResult:
    return CaseResult(classname="t.mod", name=name, outcome=outcome, message=message)  # type: ignore[arg-type]


def run(image: str, exit_code: int | None, *cases: CaseResult) -> RunResult:
    return RunResult(placement=Placement(image=image), exit_code=exit_code, cases=list(cases),
                     output="", seconds=1.0)


def test_parse_junit_reads_every_outcome(tmp_path: Path) -> None:
    path = tmp_path / "junit.xml"
    path.write_text(JUNIT)
    cases = parse_junit(path)
    assert [(c.name, c.outcome) for c in cases] == [
        ("test_ok", "passed"), ("test_bad[1]", "failed"), ("test_setup", "error"),
        ("test_cc", "skipped"), ("test_kind", "skipped"), ("tests.images.x.test_b", "skipped")]
    assert cases[3].message == "arm-none-eabi-gcc not installed"
    assert cases[5].title == "tests.images.x.test_b"
    assert parse_junit(tmp_path / "missing.xml") == []


def test_a_skip_is_delegated_only_when_it_passed_elsewhere() -> None:
    runs = [run("tvm", 0, case("test_cc[arm]", "skipped", "arm-none-eabi-gcc not installed"),
                case("test_cc[rv]", "skipped", "riscv64-unknown-elf-gcc not installed")),
            run("gnu-arm", 0, case("test_cc[arm]", "passed"),
                case("test_cc[rv]", "skipped", "riscv64-unknown-elf-gcc not installed"))]
    problems, delegated = judge(runs, justified_skip)
    assert delegated == 1
    assert len(problems) == 2 and all("unjustified skip of t.mod::test_cc[rv]" in p for p in problems)


def test_justified_skips_pass_and_failures_and_empty_runs_do_not() -> None:
    assert judge([run("tvm", 0, case("a", "passed"), case("b", "skipped", "not a classifier"))],
                 justified_skip) == ([], 0)
    problems, _ = judge([run("tvm", 1, case("a", "failed")), run("tflite", 5), run("x", None)],
                        justified_skip)
    assert problems == ["tvm: pytest exit code 1 (0 passed, 1 failed, 0 error, 0 skipped)",
                        "tflite: no test ran (pytest exit code 5)",
                        "x: pytest was killed at the timeout"]


@pytest.fixture
def demo_suite(tmp_path: Path) -> Suite:
    """A suite outside tests/images: a pass, a failure, a tool skip, a justified skip and a test
    that needs gcc (absent from `tflite`, present in `host`)."""
    folder = tmp_path / "demo_suite"
    folder.mkdir()
    (folder / "test_demo.py").write_text(textwrap.dedent("""
        import shutil, subprocess, pytest

        def test_passes():
            assert 1 + 1 == 2

        def test_fails():
            assert "in-image" == "boom-marker"

        def test_tool_skip():
            pytest.skip("frobnicator not installed")

        def test_justified_skip():
            pytest.skip("not a classifier")

        def test_needs_gcc():
            if shutil.which("gcc") is None:
                pytest.skip("gcc not installed")
            subprocess.run(["gcc", "--version"], check=True, capture_output=True)
        """))
    return Suite(name="demo", pythonpath=(), folder=folder, placements=(
        Placement(image="tflite"), Placement(image="host", python_from="tflite", select="needs_gcc")))


@pytest.mark.docker
def test_a_failing_suite_fails_with_its_in_image_summary(image_shell: ImageShell, demo_suite: Suite,
                                                         tmp_path: Path) -> None:
    runs = [run_placement(image_shell, demo_suite, p, tmp_path / "out") for p in demo_suite.placements]
    in_tflite, in_host = runs
    assert in_tflite.exit_code == 1
    assert (in_tflite.count("passed"), in_tflite.count("failed"), in_tflite.count("skipped")) == (1, 1, 3)
    assert "FAILED" in in_tflite.summary() and "boom-marker" in in_tflite.summary()
    assert in_host.exit_code == 0 and [c.name for c in in_host.cases] == ["test_needs_gcc"]
    assert in_host.cases[0].outcome == "passed"  # the tflite image's Python in the host image
    problems, delegated = judge(runs, justified_skip)
    assert delegated == 1  # test_needs_gcc: skipped in tflite, passed in host
    assert problems[0].startswith("tflite: pytest exit code 1")
    assert problems[1:] == ["tflite: unjustified skip of test_demo::test_tool_skip: frobnicator not installed"]
    lines = count_lines(demo_suite, runs, delegated)
    assert lines[0].startswith(f"{demo_suite.path} in tflite: 1 passed, 1 failed, 0 error, 3 skipped")
    assert lines[1].startswith(f"{demo_suite.path} in host+tflite-python: 1 passed, 0 failed")
    text = failure_text(problems, runs, lines)
    # the failing run's in-image traceback and summary, not the passing run's
    assert "--- tflite (in-image pytest) ---" in text and "boom-marker" in text
    assert "FAILED test_demo.py::test_fails" in text and "host+tflite-python (in-image" not in text
