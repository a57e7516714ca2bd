"""The generated workflow's jobs run locally in order (tests/e2e/actions_emulator.py): shards
on the local runtime with the toy toolchain (host gcc), the remote cache on a real S3 API
server (moto), artifacts and the Actions cache as folders. Two nights: the first computes and
publishes, the second downloads every job and compares with the first."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml

from tests.conftest import REPO, TOY_ENV, TOY_PLUGIN
from tests.e2e.actions_emulator import ActionsEmulator
from tests.s3_server import PLACEHOLDER_CREDENTIALS, S3Server, s3_server  # noqa: F401 - a fixture

pytestmark = [pytest.mark.e2e, pytest.mark.skipif(shutil.which("gcc") is None, reason="needs host gcc")]
MATRIX = ["toy_sum", "toy_mul", "--config-gen", "toycc.opt=0", "--config-gen", "toycc.opt=2"]


def _env(home: Path | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MCUORCH_", "AWS_", "GITHUB_"))}
    env.update(PYTHONPATH=str(REPO), MCUORCH_PLUGINS=str(TOY_PLUGIN))
    if home is not None:
        env["MCUORCH_HOME"] = str(home)
    return env


def _mcuorch(*args: str, home: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "orchestrator", *args], env=_env(home), capture_output=True,
                          text=True, timeout=300)


def test_the_jobs_of_the_generated_workflow_fit_together(tmp_path: Path, s3_server: S3Server) -> None:
    workflow_file = tmp_path / "mcuorch.yml"
    written = _mcuorch("ci", "github", "--env", str(TOY_ENV), "--runtime", "local", "--shards", "2", "--schedule",
                       "nightly", *MATRIX, "-o", str(workflow_file), home=tmp_path / "generator-home")
    assert written.returncode == 0, written.stderr
    workflow = yaml.safe_load(workflow_file.read_text())
    assert list(workflow["jobs"]) == ["shard", "report"]  # the local runtime needs no images job

    tools = tmp_path / "tools"  # what `pip install .` would put on PATH
    tools.mkdir()
    (tools / "mcuorch").write_text(f'#!/bin/sh\nexec "{sys.executable}" -m orchestrator "$@"\n')
    (tools / "mcuorch").chmod(0o755)
    bucket = s3_server.new_bucket()
    emulator = ActionsEmulator(workflow, tmp_path / "actions", base_env=_env(), tools=tools,
                               variables={"MCUORCH_REMOTE_CACHE": f"s3://{bucket}/nightly",
                                          "MCUORCH_REMOTE_CACHE_ENDPOINT": s3_server.endpoint},
                               secrets={"MCUORCH_REMOTE_CACHE_KEY_ID": PLACEHOLDER_CREDENTIALS["AWS_ACCESS_KEY_ID"],
                                        "MCUORCH_REMOTE_CACHE_SECRET_KEY":
                                            PLACEHOLDER_CREDENTIALS["AWS_SECRET_ACCESS_KEY"]})

    first = emulator.run(run_id=1)
    assert first.results == {"shard": "success", "report": "success"}, [log for log in first.logs if log.returncode]
    shard_lines = first.output_of("shard", "Run this shard")
    assert shard_lines.count("(shard ") == 2 and "remote cache: 0 downloaded" in shard_lines
    summary = first.summaries["report"]
    assert "### mcuorch nightly: 4 runs from 2 shards" in summary and "No previous result to compare with yet." in summary
    merged = pd.read_json(tmp_path / "actions" / "run1-artifacts" / "mcuorch-report" / "report.json")

    unsharded = _mcuorch("run", "--env", str(TOY_ENV), "--runtime", "local", *MATRIX, "-q", home=tmp_path / "whole")
    assert unsharded.returncode == 0, unsharded.stderr
    whole = pd.read_json(next((tmp_path / "whole" / "sessions").glob("*/report.json")))
    pd.testing.assert_frame_equal(merged.drop(columns=["Session"]), whole.drop(columns=["Session"]))

    second = emulator.run(run_id=2)  # the next night: every job from the bucket, compared with night 1
    assert second.results == {"shard": "success", "report": "success"}, [log for log in second.logs if log.returncode]
    shard_lines = second.output_of("shard", "Run this shard")
    assert shard_lines.count(" 0 executed,") == 2 and shard_lines.count("remote cache: ") == 2
    compare = second.summaries["report"]
    assert "### mcuorch compare: 4 runs compared: 0 regressed, 0 improved" in compare
    assert (tmp_path / "actions" / "run2" / "report" / "compare.json").is_file()
