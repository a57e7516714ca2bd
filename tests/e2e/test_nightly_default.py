"""The issue's checks on real images, on the 20-run default matrix (5 models × tvmaot × 4
targets), executed once (the unsharded session):

- unsharded in home `whole`, publishing every job to a bucket on a real S3 API server (moto,
  localhost); homes with empty stores then run it executing zero jobs, a damaged object is
  detected, executed again and replaced;
- `--shard 1/2` and `--shard 2/2` run concurrently in two more homes that read the bucket (so
  they execute nothing: CI time goes to one real execution of the matrix), and `mcuorch merge`
  gives the unsharded report row for row; every figure is compared exactly except wall-clock
  measurements (columns in seconds) and the host's stack depth. The wall times of two shards
  that really execute against one unsharded session are a benchmark: benchmarks/shards.py;
- `mcuorch compare` flags a deliberately regressed run (tvmaot's float kernels against its
  integer ones; -Os against -O2 moves aww by only 0.6 %) and exits 1.
"""

from __future__ import annotations

import json
import math
import os
import re
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest

from tests.conftest import REPO
from tests.e2e.remote_cache_flow import bucket_env, check_publishing_home, check_reuse, counts, report
from tests.e2e.test_default_environment import last_report, mcuorch
from tests.s3_server import S3Server, s3_server  # noqa: F401 - a fixture

pytestmark = [pytest.mark.e2e, pytest.mark.docker]
MODELS = ["sine_model", "aww", "vww", "resnet", "toycar"]
TARGETS = ["host_x86", "riscv_qemu", "mps3_an547", "mps2_an386"]
MATRIX = [*MODELS, "-b", "tvmaot", *(arg for target in TARGETS for arg in ("-t", target))]


@dataclass(frozen=True)
class Unsharded:
    root: Path
    home: Path
    seconds: float
    executed: int
    env: dict[str, str]


def _run(home: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return mcuorch(home, "run", *MATRIX, "--parallel", "2", "-q", extra_env=env, timeout=3600)


@pytest.fixture(scope="module")
def unsharded(tmp_path_factory: pytest.TempPathFactory, s3_server: S3Server) -> Unsharded:
    root = tmp_path_factory.mktemp("nightly")
    env = bucket_env(s3_server)
    start = time.monotonic()
    result = _run(root / "whole", env)
    seconds = time.monotonic() - start
    executed = check_publishing_home(result)
    df = report(root / "whole")
    assert len(df) == 20 and not df["Failing"].any() and df["Validation"].all()
    return Unsharded(root=root, home=root / "whole", seconds=seconds, executed=executed, env=env)


def _comparable(df: pd.DataFrame) -> pd.DataFrame:
    out = df.drop(columns=[c for c in df.columns if "[s]" in c])
    out.loc[out["Target"] == "host_x86", "RAM stack"] = math.nan  # a host thread's stack may vary
    return out


def test_homes_with_empty_stores_download_every_job(unsharded: Unsharded, s3_server: S3Server) -> None:
    check_reuse(unsharded.root, s3_server, unsharded.env, _run, unsharded.home, unsharded.executed, lambda df: df)


def test_two_concurrent_shards_merge_into_the_unsharded_report(unsharded: Unsharded) -> None:
    root = unsharded.root
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MCUORCH_", "AWS_"))}
    env.update(unsharded.env, MCUORCH_REMOTE_CACHE_MODE="read")
    shards = [subprocess.Popen([sys.executable, "-m", "orchestrator", "run", *MATRIX, "--shard", f"{k}/2", "-q"],
                               env={**env, "PYTHONPATH": str(REPO), "MCUORCH_HOME": str(root / f"shard{k}")},
                               cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for k in (1, 2)]
    executed = 0
    for shard in shards:
        _, err = shard.communicate(timeout=3600)
        assert shard.returncode == 0, err[-3000:]
        executed += counts(err)[0]
    assert executed == 0  # read from the bucket the unsharded session filled

    merged = mcuorch(root / "merged", "merge", str(root / "shard1"), str(root / "shard2"))
    assert merged.returncode == 0, merged.stderr[-3000:]
    assert "20 runs merged from 2 shards, ok" in merged.stderr
    pd.testing.assert_frame_equal(_comparable(report(root / "merged")), _comparable(report(unsharded.home)))
    assert sorted(len(report(root / f"shard{k}")) for k in (1, 2)) != [0, 20]  # both shards got runs


def test_compare_flags_the_worse_build(unsharded: Unsharded, tmp_path: Path) -> None:
    # -Os against -O2 moves aww's count by only 0.6 %; the deliberate regression is the float
    # kernels (dequantize, float op, quantize) against the integer ones. The integer run is cached.
    home = unsharded.home
    sessions = {}
    for level in ("int", "float"):
        result = mcuorch(home, "run", "aww", "-b", "tvmaot", "-t", "riscv_qemu", "-c", f"tvmaot.kernels={level}", "-q")
        assert result.returncode == 0, result.stderr[-3000:]
        record, df = last_report(home)
        sessions[level] = (record["id"], float(df["Run Instructions"][0]))
    (o2, o2_instructions), (os_, os_instructions) = sessions["int"], sessions["float"]
    assert abs(os_instructions - o2_instructions) > 0.01 * o2_instructions, sessions
    better, worse = (o2, os_) if o2_instructions < os_instructions else (os_, o2)
    diff = tmp_path / "diff.json"
    regressed = mcuorch(home, "compare", better, worse, "--metric", "Run Instructions", "--threshold", "1%",
                        "--ignore-config", "tvmaot.kernels", "--json", str(diff))
    assert regressed.returncode == 1, regressed.stderr
    # the run's identity, then its config (tvmaot.kernels ignored), then what regressed
    assert re.search(r"^regression: aww tvmaot riscv_qemu\b[^:]*: Run Instructions \S+ → ", regressed.stderr,
                     re.MULTILINE), regressed.stderr
    ((delta,),) = [run["deltas"] for run in json.loads(diff.read_text())["runs"]]
    assert delta["regressed"] and delta["new"] > delta["base"] * 1.01
    improved = mcuorch(home, "compare", worse, better, "--metric", "Run Instructions", "--ignore-config",
                       "tvmaot.kernels")
    assert improved.returncode == 0 and "0 regressed, 1 improved" in improved.stderr, improved.stderr
    against_whole = mcuorch(home, "compare", unsharded_session(home), worse, "--ignore-config", "tvmaot.kernels")
    assert "19 only in base" in against_whole.stderr, against_whole.stderr


def unsharded_session(home: Path) -> str:
    records = [json.loads(p.read_text()) for p in (home / "sessions").glob("*/session.json")]
    return min(records, key=lambda r: r["created"])["id"]
