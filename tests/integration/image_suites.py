"""The in-image test suites (`tests/images/<name>`): where each one runs and how it is judged.

A suite runs as `python3 -m pytest tests/images/<name>` inside its image (see image_exec.py
for the container conventions), with the repository's image code first on PYTHONPATH. A test
that needs the image's Python packages *and* another image's tools (the tvm tests that
cross-compile generated C for Arm and RISC-V) runs in a further *placement*: the tools' image
with the suite image's Python environment (/opt/venv, a self-contained venv over the shared
base image's python3) copied in. The same tests skip where the tools are missing; such a skip
is accepted only when the test passed in another placement of the suite.

A suite passes when every placement exits 0 and every skip is justified (tests/conftest.py
`JUSTIFIED_SKIPS`) or delegated as above: inside an image nothing can legitimately be missing,
so an unexplained skip there is a failure whether or not CI is set.
"""

from __future__ import annotations

import subprocess
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path
from typing import Literal

import pytest
from image_exec import REPO, ImageShell
from pydantic import BaseModel, ConfigDict

SUITES_DIR = REPO / "tests" / "images"
VENV = "/opt/venv"
INNER_TIMEOUT_SEC = 1500.0
SUMMARY_LINES = 150
INNER_RESULTS = pytest.StashKey[list[str]]()
"""Per-placement count lines of the session's in-image runs, printed at its end."""


class Placement(BaseModel):
    """One in-image pytest run of (part of) a suite."""

    model_config = ConfigDict(frozen=True)

    image: str
    python_from: str | None = None
    """Run with this image's Python environment (copied in) instead of the image's own."""
    select: str | None = None
    """A `-k` expression: the tests this placement exists for."""

    @property
    def label(self) -> str:
        return self.image if self.python_from is None else f"{self.image}+{self.python_from}-python"


class Suite(BaseModel):
    """A folder under tests/images and where its tests run."""

    model_config = ConfigDict(frozen=True)

    name: str
    pythonpath: tuple[str, ...]
    """Repository folders put first on PYTHONPATH (the image code under test)."""
    placements: tuple[Placement, ...]
    folder: Path | None = None
    """Where the tests are, when not in tests/images/<name> (tests of this module)."""

    @property
    def path(self) -> str:
        return str(self.folder) if self.folder else f"tests/images/{self.name}"


CROSS_COMPILE = "cross_compiles"
"""Tests of generated C with the bare-metal cross compilers (tests/images/tvm/test_cli.py)."""

SUITES: dict[str, Suite] = {
    "tflite": Suite(name="tflite", pythonpath=("images/tflite",),
                    placements=(Placement(image="tflite"),)),
    # images/tflite too: its model builder and TFLite-Micro reference (tflite-micro is in the
    # tvm lock) let the tvm tests make models and reference outputs live.
    "tvm": Suite(name="tvm", pythonpath=("images/tvm", "images/tflite"), placements=(
        Placement(image="tvm"),
        Placement(image="gnu-riscv", python_from="tvm", select=CROSS_COMPILE),
        Placement(image="gnu-arm", python_from="tvm", select=CROSS_COMPILE),
    )),
}


class CaseResult(BaseModel):
    """One test case of a JUnit report."""

    classname: str
    name: str
    outcome: Literal["passed", "failed", "error", "skipped"]
    message: str = ""

    @property
    def key(self) -> tuple[str, str]:
        return self.classname, self.name

    @property
    def title(self) -> str:
        return f"{self.classname}::{self.name}" if self.classname else self.name


class RunResult(BaseModel):
    """What one placement's in-image pytest run did."""

    placement: Placement
    exit_code: int | None
    """None: killed at the timeout."""
    cases: list[CaseResult]
    output: str
    seconds: float

    def count(self, outcome: str) -> int:
        return sum(case.outcome == outcome for case in self.cases)

    def counts(self) -> str:
        return ", ".join(f"{self.count(o)} {o}" for o in ("passed", "failed", "error", "skipped"))

    def summary(self) -> str:
        """The end of the in-image output: failure tracebacks (short), pytest's short summary
        and its result line, at most SUMMARY_LINES lines."""
        lines = self.output.rstrip().splitlines()
        headers = (" FAILURES ", " ERRORS ", " short test summary info ")
        start = next((i for i, line in enumerate(lines) if line.startswith("=")
                      and any(h in line for h in headers)), 0)
        return "\n".join(lines[max(start, len(lines) - SUMMARY_LINES):])


def parse_junit(path: Path) -> list[CaseResult]:
    """Cases of a pytest JUnit XML file (empty when the file is missing: pytest never ran)."""
    if not path.is_file():
        return []
    cases = []
    for case in ET.parse(path).getroot().iter("testcase"):
        outcome: Literal["passed", "failed", "error", "skipped"] = "passed"
        message = ""
        for tag in ("failure", "error", "skipped"):
            found = case.find(tag)
            if found is not None:
                outcome = "failed" if tag == "failure" else tag  # type: ignore[assignment]
                message = found.get("message", "")
                break
        cases.append(CaseResult(classname=case.get("classname", ""), name=case.get("name", ""),
                                outcome=outcome, message=message))
    return cases


def run_placement(shell: ImageShell, suite: Suite, placement: Placement, out: Path,
                  timeout: float = INNER_TIMEOUT_SEC) -> RunResult:
    """Run the suite's pytest for one placement; the JUnit report goes to `out`."""
    out.mkdir(parents=True, exist_ok=True)
    junit = out / f"{placement.label}.xml"
    python = "python3"
    if placement.python_from is not None:
        python = str(shell.export(placement.python_from, VENV) / "bin" / "python3")
    rootdir = suite.folder or REPO
    argv = [python, "-m", "pytest", suite.path, "-p", "no:cacheprovider", "--rootdir", str(rootdir),
            "--strict-config", "-q", "-rfEs", "--tb=short", f"--junitxml={junit}"]
    if placement.select:
        argv += ["-k", placement.select]
    image_path = shell.image_env(placement.image).get("PYTHONPATH", "")
    pythonpath = ":".join([*(str(REPO / p) for p in suite.pythonpath), *filter(None, [image_path])])
    # CI is not passed in: the host judges the inner skips itself (see `judge`).
    env = {"PYTHONPATH": pythonpath, "PYTHONDONTWRITEBYTECODE": "1"}
    start = time.monotonic()
    exit_code: int | None
    try:
        done = shell.run(placement.image, argv, env=env, workdir=rootdir, timeout=timeout)
        exit_code, output = done.returncode, done.stdout + done.stderr
    except subprocess.TimeoutExpired as exc:
        parts = [p.decode(errors="replace") if isinstance(p, bytes) else p or ""
                 for p in (exc.stdout, exc.stderr)]
        exit_code, output = None, "".join(parts) + f"\nkilled after {timeout:.0f} s"
    return RunResult(placement=placement, exit_code=exit_code, cases=parse_junit(junit),
                     output=output, seconds=time.monotonic() - start)


def judge(runs: list[RunResult], justified: Callable[[str], bool]) -> tuple[list[str], int]:
    """Problems with a suite's runs (empty: it passed) and how many skips were delegated."""
    problems: list[str] = []
    passed_in: dict[tuple[str, str], list[str]] = {}
    for run in runs:
        for case in run.cases:
            if case.outcome == "passed":
                passed_in.setdefault(case.key, []).append(run.placement.label)
    delegated = 0
    for run in runs:
        label = run.placement.label
        if run.exit_code is None:
            problems.append(f"{label}: pytest was killed at the timeout")
        elif run.exit_code == 5 or not run.cases:
            problems.append(f"{label}: no test ran (pytest exit code {run.exit_code})")
        elif run.exit_code != 0:
            problems.append(f"{label}: pytest exit code {run.exit_code} ({run.counts()})")
        for case in run.cases:
            if case.outcome != "skipped" or justified(case.message):
                continue
            elsewhere = [p for p in passed_in.get(case.key, []) if p != label]
            if elsewhere:
                delegated += 1
            else:
                problems.append(f"{label}: unjustified skip of {case.title}: {case.message}")
    return problems, delegated


def count_lines(suite: Suite, runs: list[RunResult], delegated: int) -> list[str]:
    """One line of inner counts per placement, and the delegated skips."""
    lines = [f"{suite.path} in {run.placement.label}: {run.counts()} ({run.seconds:.0f} s)"
             for run in runs]
    lines.append(f"{suite.path}: {delegated} skip(s) delegated to another placement")
    return lines


def failure_text(problems: list[str], runs: list[RunResult], lines: list[str]) -> str:
    """What a failing host test says: the problems, the counts, then the in-image summaries
    of the runs that failed (of all runs when only a skip was wrong)."""
    failing = [run for run in runs if run.exit_code != 0] or runs
    details = "\n\n".join(f"--- {run.placement.label} (in-image pytest) ---\n{run.summary()}"
                           for run in failing)
    return "\n".join([*problems, *lines, "", details])
