"""Shards end to end through real `mcuorch` processes on the LOCAL runtime (host gcc): the
toy matrix unsharded, as two concurrent shards in separate homes, merged by `mcuorch merge`."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from tests.conftest import REPO, TOY_ENV, TOY_PLUGIN

pytestmark = [pytest.mark.e2e, pytest.mark.skipif(shutil.which("gcc") is None, reason="needs host gcc")]
MATRIX = ["toy_sum", "toy_mul", "--config-gen", "toycc.opt=0", "--config-gen", "toycc.opt=1",
          "--config-gen", "toycc.opt=2 toyhost.work_ms=20"]


def _env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MCUORCH_")}
    env.update(MCUORCH_HOME=str(home), MCUORCH_PLUGINS=str(TOY_PLUGIN), PYTHONPATH=str(REPO))
    return env


def _run_args(*extra: str) -> list[str]:
    return [sys.executable, "-m", "orchestrator", "run", "--env", str(TOY_ENV), "--runtime", "local", *MATRIX, *extra]


def _report(home: Path) -> pd.DataFrame:
    (session,) = [p.parent for p in (home / "sessions").glob("*/session.json")]
    return pd.read_json(session / "report.json", orient="records")


def test_two_concurrent_shards_merge_into_the_unsharded_report(tmp_path: Path) -> None:
    whole = subprocess.run(_run_args(), env=_env(tmp_path / "whole"), capture_output=True, text=True, timeout=300)
    assert whole.returncode == 0, whole.stderr
    shards = [subprocess.Popen(_run_args("--shard", f"{k}/2", "-q"), env=_env(tmp_path / f"shard{k}"),
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for k in (1, 2)]
    for shard in shards:
        _, err = shard.communicate(timeout=300)
        assert shard.returncode == 0, err
        assert "(shard " in err and "of 6 runs)" in err
    merged = subprocess.run([sys.executable, "-m", "orchestrator", "merge", str(tmp_path / "shard1"),
                             str(tmp_path / "shard2"), "-l", "nightly"], env=_env(tmp_path / "merged"),
                            capture_output=True, text=True, timeout=120)
    assert merged.returncode == 0, merged.stderr
    assert "6 runs merged from 2 shards, ok" in merged.stderr
    expected = _report(tmp_path / "whole").drop(columns=["Session"])
    pd.testing.assert_frame_equal(_report(tmp_path / "merged").drop(columns=["Session"]), expected)
    assert expected["Checksum"].eq(500500).sum() == 3  # toy_sum's runs really ran
    shard_runs = [len(_report(tmp_path / f"shard{k}")) for k in (1, 2)]
    assert sum(shard_runs) == 6 and min(shard_runs) >= 1
    record = json.loads(next((tmp_path / "merged" / "sessions").glob("*/session.json")).read_text())
    assert len(record["merged_from"]) == 2 and record["spec"]["label"] == "nightly"
    assert (tmp_path / "merged" / "results" / "nightly.html").is_file()
