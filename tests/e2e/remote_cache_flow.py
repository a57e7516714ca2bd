"""The issue's remote-cache check as one flow, for any toolchain (local toy, Docker default).

Home A runs the matrix and publishes every job to the bucket; home B, with an empty store,
runs it executing zero jobs; a RUN job's stdout object is then damaged in the bucket; home C
detects it, executes that one job again and replaces it; home D downloads everything again.
"""

from __future__ import annotations

import re
import subprocess
from collections.abc import Callable
from pathlib import Path

import pandas as pd

from tests.s3_server import PLACEHOLDER_CREDENTIALS, S3Server

Mcuorch = Callable[[Path, dict[str, str]], subprocess.CompletedProcess[str]]
_COUNTS = re.compile(r"jobs: (\d+) executed, (\d+) cached, (?:(\d+) downloaded, )?(\d+) failed")


def counts(stderr: str) -> tuple[int, int]:
    """(executed, downloaded) from the closing line of `mcuorch run`."""
    match = _COUNTS.search(stderr)
    if match is None:
        raise AssertionError(f"no job counts in: {stderr[-2000:]}")
    return int(match.group(1)), int(match.group(3) or 0)


def report(home: Path) -> pd.DataFrame:
    newest = max((home / "sessions").glob("*/session.json"), key=lambda p: p.stat().st_mtime)
    return pd.read_json(newest.parent / "report.json", orient="records").drop(columns=["Session"])


def bucket_env(s3: S3Server) -> dict[str, str]:
    """Variables that point mcuorch at a fresh bucket on the test server."""
    return {**PLACEHOLDER_CREDENTIALS, "MCUORCH_REMOTE_CACHE": f"s3://{s3.new_bucket()}/ci",
            "MCUORCH_REMOTE_CACHE_ENDPOINT": s3.endpoint}


def check_publishing_home(result: subprocess.CompletedProcess[str]) -> int:
    """The first home executed its jobs and uploaded every one; returns how many."""
    assert result.returncode == 0, result.stderr[-3000:]
    executed, _ = counts(result.stderr)
    assert executed > 0 and f"remote cache: 0 downloaded, {executed} uploaded" in result.stderr, result.stderr[-2000:]
    return executed


def check_reuse(tmp_path: Path, s3: S3Server, env: dict[str, str], run: Mcuorch, first_home: Path, executed: int,
                comparable: Callable[[pd.DataFrame], pd.DataFrame]) -> None:
    """Homes b, c, d against the bucket `first_home` filled: all downloaded; one damaged object
    detected, its job executed again and replaced; all downloaded again."""
    second = run(tmp_path / "b", env)
    assert second.returncode == 0, second.stderr[-3000:]
    assert counts(second.stderr) == (0, executed), second.stderr[-2000:]  # zero jobs executed: all downloaded
    pd.testing.assert_frame_equal(comparable(report(tmp_path / "b")), comparable(report(first_home)))

    bucket = env["MCUORCH_REMOTE_CACHE"].removeprefix("s3://").split("/")[0]
    client = s3.client()
    keys = [o["Key"] for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket)
            for o in page.get("Contents", [])]
    damaged = sorted(k for k in keys if "/RUN/" in k and k.endswith("/stdout.log"))[0]
    client.put_object(Bucket=bucket, Key=damaged, Body=b"damaged\n")
    third = run(tmp_path / "c", env)
    assert third.returncode == 0, third.stderr[-3000:]
    assert counts(third.stderr) == (1, executed - 1), third.stderr[-2000:]
    assert "is damaged" in third.stderr and "1 uploaded, 1 damaged (executed again)" in third.stderr

    fourth = run(tmp_path / "d", env)
    assert counts(fourth.stderr) == (0, executed) and "damaged" not in fourth.stderr, fourth.stderr[-2000:]


def check_remote_cache_flow(tmp_path: Path, s3: S3Server, run: Mcuorch,
                            comparable: Callable[[pd.DataFrame], pd.DataFrame]) -> None:
    env = bucket_env(s3)
    executed = check_publishing_home(run(tmp_path / "a", env))
    check_reuse(tmp_path, s3, env, run, tmp_path / "a", executed, comparable)
