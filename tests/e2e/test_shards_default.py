"""The issue's check on real images: the 20-run default matrix (5 models × tvmaot × 4 targets)
unsharded, then as `--shard 1/2` and `--shard 2/2` run concurrently in two separate homes,
merged by `mcuorch merge`: the merged report equals the unsharded one row for row.

Every figure is compared exactly, except wall-clock measurements (columns in seconds) and the
host's stack depth, which differ between any two executions (see test_default_environment).
The wall times of the unsharded session and of the two concurrent shards are printed
(`pytest -s`) and written to `<tmp>/wall_times.json`.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from tests.conftest import REPO
from tests.e2e.test_default_environment import mcuorch

pytestmark = [pytest.mark.e2e, pytest.mark.docker]
MODELS = ["sine_model", "aww", "vww", "resnet", "toycar"]
TARGETS = ["host_x86", "riscv_qemu", "mps3_an547", "mps2_an386"]
MATRIX = [*MODELS, "-b", "tvmaot", *(arg for target in TARGETS for arg in ("-t", target))]


def _report(home: Path) -> pd.DataFrame:
    (session,) = [p.parent for p in (home / "sessions").glob("*/session.json")]
    return pd.read_json(session / "report.json", orient="records")


def _comparable(df: pd.DataFrame) -> pd.DataFrame:
    timed = [c for c in df.columns if "[s]" in c]
    out = df.drop(columns=["Session", *timed])
    out.loc[out["Target"] == "host_x86", "RAM stack"] = math.nan  # a host thread's stack may vary
    return out


def test_twenty_runs_in_two_shards_merge_into_the_unsharded_report(tmp_path: Path) -> None:
    start = time.monotonic()
    whole = mcuorch(tmp_path / "whole", "run", *MATRIX, "--parallel", "2", "-q")
    whole_sec = time.monotonic() - start
    assert whole.returncode == 0, whole.stderr[-3000:]
    unsharded = _report(tmp_path / "whole")
    assert len(unsharded) == 20 and not unsharded["Failing"].any() and unsharded["Validation"].all()

    start = time.monotonic()
    env = {k: v for k, v in os.environ.items() if not k.startswith("MCUORCH_")}
    shards = [subprocess.Popen([sys.executable, "-m", "orchestrator", "run", *MATRIX, "--shard", f"{k}/2", "-q"],
                               env={**env, "PYTHONPATH": str(REPO), "MCUORCH_HOME": str(tmp_path / f"shard{k}")},
                               cwd=REPO,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for k in (1, 2)]
    for shard in shards:
        _, err = shard.communicate(timeout=3600)
        assert shard.returncode == 0, err[-3000:]
    shards_sec = time.monotonic() - start

    merged = mcuorch(tmp_path / "merged", "merge", str(tmp_path / "shard1"), str(tmp_path / "shard2"))
    assert merged.returncode == 0, merged.stderr[-3000:]
    assert "20 runs merged from 2 shards, ok" in merged.stderr
    pd.testing.assert_frame_equal(_comparable(_report(tmp_path / "merged")), _comparable(unsharded))
    times = {"unsharded --parallel 2 [s]": round(whole_sec, 1), "2 concurrent shards [s]": round(shards_sec, 1),
             "runs per shard": [len(_report(tmp_path / f"shard{k}")) for k in (1, 2)]}
    (tmp_path / "wall_times.json").write_text(json.dumps(times, indent=2))
    print(f"\nwall times: {times}")
