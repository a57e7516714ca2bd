"""End to end through real `mcuorch` processes, the LOCAL runtime and a tiny real toolchain.

The toy toolchain (tests/e2e/toy) compiles and runs small C programs with host gcc, so every
stage really executes: caching, dedupe, --parallel, timeouts, failure isolation and SIGINT are
observed on real processes.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from tests.conftest import REPO, TOY_ENV, TOY_PLUGIN

HANG = "987654"
pytestmark = [pytest.mark.e2e, pytest.mark.skipif(shutil.which("gcc") is None, reason="needs host gcc")]


def _env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MCUORCH_")}
    env.update(MCUORCH_HOME=str(home), MCUORCH_PLUGINS=str(TOY_PLUGIN), PYTHONPATH=str(REPO))
    return env


def _cmd(*args: str) -> list[str]:
    return [sys.executable, "-m", "orchestrator", "run", "--env", str(TOY_ENV), "--runtime", "local", *args]


def mcuorch(home: Path, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(_cmd(*args), env=_env(home), capture_output=True, text=True, timeout=timeout)


def latest_session(home: Path) -> dict:
    records = [json.loads(p.read_text()) for p in (home / "sessions").glob("*/session.json")]
    return max(records, key=lambda r: r["created"])


def session_report(home: Path, record: dict) -> pd.DataFrame:
    return pd.read_json(home / "sessions" / record["id"] / "report.json", orient="records")


def hanging_processes() -> list[int]:
    pids = []
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                cmdline = (proc / "cmdline").read_bytes().split(b"\0")
            except OSError:
                continue
            if cmdline[:2] == [b"sleep", HANG.encode()]:
                pids.append(int(proc.name))
    return pids


MATRIX = ["toy_sum", "toy_mul", "--config-gen", "toycc.opt=0", "--config-gen", "toycc.opt=2"]


def test_stages_dedupe_and_caching(tmp_path: Path) -> None:
    first = mcuorch(tmp_path, *MATRIX)
    assert first.returncode == 0, first.stderr
    record = latest_session(tmp_path)
    assert record["counts"]["done"] == 14 and record["status"] == "done"  # 2 LOAD, 4 BUILD/COMPILE/RUN
    report = session_report(tmp_path, record)
    assert list(report["Checksum"]) == [500500, 500500, 3628800, 3628800]
    assert list(report["Backend"]) == ["toycc"] * 4 and not report["Failing"].any()
    for stage in ("LOAD", "BUILD", "COMPILE", "RUN"):  # a real job directory per stage
        job = tmp_path / "jobs" / stage / record["runs"][0]["jobs"][stage]
        assert json.loads((job / "job.json").read_text())["stage"] == stage
        assert (job / "stdout.log").is_file() and (job / "exit_code").read_text().strip() == "0"
    second = mcuorch(tmp_path, *MATRIX)
    assert second.returncode == 0
    again = latest_session(tmp_path)
    assert again["id"] != record["id"]
    assert again["counts"]["done"] == 0 and again["counts"]["cached"] == 14
    again_report = session_report(tmp_path, again)
    pd.testing.assert_frame_equal(report.drop(columns=["Session"]), again_report.drop(columns=["Session"]))
    assert "0 executed, 14 cached" in second.stderr


def test_parallel_two_is_faster(tmp_path: Path) -> None:
    work = ["toy_sum", *sum((["--config-gen", f"toyhost.work_ms={800 + i}"] for i in range(4)), [])]
    mcuorch(tmp_path, *work, "--until", "compile")  # warm the shared stages
    start = time.monotonic()
    assert mcuorch(tmp_path, *work, "--parallel", "1", "--rerun").returncode == 0
    serial = time.monotonic() - start
    start = time.monotonic()
    assert mcuorch(tmp_path, *work, "--parallel", "2", "--rerun").returncode == 0
    parallel = time.monotonic() - start
    assert parallel < 0.8 * serial, (serial, parallel)


def test_hanging_job_is_killed_at_its_timeout_and_failures_are_isolated(tmp_path: Path) -> None:
    start = time.monotonic()
    result = mcuorch(tmp_path, "toy_sum", "toy_mul", "--parallel", "2",
                     "--config-gen", "toyhost.hang=1,toyhost.timeout_sec=1",
                     "--config-gen", "toycc.fail=1", "--config-gen", "_")
    elapsed = time.monotonic() - start
    assert result.returncode == 1
    assert elapsed < 30
    report = session_report(tmp_path, latest_session(tmp_path))
    assert list(report["Reason"].fillna("")) == ["timeout @ RUN", "exit code 1 @ BUILD", ""] * 2
    assert list(report["Failing"]) == [True, True, False] * 2
    assert list(report["Checksum"].fillna(-1)) == [-1, -1, 500500, -1, -1, 3628800]
    assert hanging_processes() == []


def test_sigint_gives_partial_report_exit_130_and_no_orphans(tmp_path: Path) -> None:
    proc = subprocess.Popen(_cmd("toy_sum", "toy_mul", "--parallel", "2", "--config-gen", "toyhost.hang=1",
                                 "--config-gen", "_"), env=_env(tmp_path), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while not hanging_processes() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert hanging_processes(), "the hanging RUN job never started"
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "interrupted: partial report" in err
    record = latest_session(tmp_path)
    assert record["status"] == "incomplete"
    report = session_report(tmp_path, record)
    assert report["Incomplete"].any() and not report["Failing"].any()
    assert "Incomplete" in out  # the partial report is printed too
    time.sleep(0.2)
    assert hanging_processes() == []
