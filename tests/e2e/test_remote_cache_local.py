"""The remote tier end to end: real `mcuorch` processes on the LOCAL runtime (host gcc) and a
real S3 API server (moto, on localhost), homes with empty stores sharing one bucket."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from tests.conftest import REPO, TOY_ENV, TOY_PLUGIN
from tests.e2e.remote_cache_flow import check_remote_cache_flow
from tests.s3_server import S3Server, s3_server  # noqa: F401 - a fixture

pytestmark = [pytest.mark.e2e, pytest.mark.skipif(shutil.which("gcc") is None, reason="needs host gcc")]


def _run(home: Path, extra: dict[str, str]) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MCUORCH_", "AWS_"))}
    env.update(MCUORCH_HOME=str(home), MCUORCH_PLUGINS=str(TOY_PLUGIN), PYTHONPATH=str(REPO), **extra)
    return subprocess.run([sys.executable, "-m", "orchestrator", "run", "--env", str(TOY_ENV), "--runtime", "local",
                           "toy_sum", "toy_mul", "--config-gen", "toycc.opt=0", "--config-gen", "toycc.opt=2", "-q"],
                          env=env, capture_output=True, text=True, timeout=300)


def test_homes_share_one_bucket(tmp_path: Path, s3_server: S3Server) -> None:
    check_remote_cache_flow(tmp_path, s3_server, _run, lambda df: df)
    assert (pd.read_json(next((tmp_path / "d" / "sessions").glob("*/report.json")))["Checksum"] > 0).all()
