"""The issue's remote-cache check on real images: the 20-run default matrix published by one
home to a bucket on a real S3 API server (moto, localhost), then run by homes with empty
stores: zero jobs executed, all downloaded; a damaged object is detected, its job executed
again and replaced. Downloaded jobs are the published bytes, so reports are equal exactly."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.e2e.remote_cache_flow import check_remote_cache_flow
from tests.e2e.test_default_environment import mcuorch
from tests.e2e.test_shards_default import MATRIX
from tests.s3_server import S3Server, s3_server  # noqa: F401 - a fixture

pytestmark = [pytest.mark.e2e, pytest.mark.docker]


def test_twenty_runs_through_the_remote_cache(tmp_path: Path, s3_server: S3Server) -> None:
    def run(home: Path, env: dict[str, str]):  # type: ignore[no-untyped-def]
        return mcuorch(home, "run", *MATRIX, "--parallel", "2", "-q", extra_env=env, timeout=3600)

    check_remote_cache_flow(tmp_path, s3_server, run, lambda df: df)
