"""A real S3 API server on localhost for tests: moto's server mode in its own process.

The remote tier of the job store talks HTTP to it exactly as to any S3-compatible store. The
server listens on 127.0.0.1 only, is started by the fixture and stopped (by its own pid) when
the tests that use it are done. Credentials are moto's placeholders, not secrets.
"""

from __future__ import annotations

import os
import secrets
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

PLACEHOLDER_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "moto-test", "AWS_SECRET_ACCESS_KEY": "moto-test",
                           "AWS_DEFAULT_REGION": "us-east-1"}
START_TIMEOUT_SEC = 30


@dataclass(frozen=True)
class S3Server:
    endpoint: str

    def client(self):  # type: ignore[no-untyped-def]
        import boto3

        return boto3.session.Session(aws_access_key_id="moto-test", aws_secret_access_key="moto-test").client(
            "s3", endpoint_url=self.endpoint, region_name="us-east-1")

    def new_bucket(self) -> str:
        name = f"mcuorch-test-{secrets.token_hex(4)}"
        self.client().create_bucket(Bucket=name)
        return name


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="session")
def s3_server() -> Iterator[S3Server]:
    pytest.importorskip("moto.server", reason="needs moto[server] (pip install -e .[test])")
    port = _free_port()
    endpoint = f"http://127.0.0.1:{port}"
    env = {**os.environ, **PLACEHOLDER_CREDENTIALS}
    process = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)], env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + START_TIMEOUT_SEC
        while True:
            try:
                urllib.request.urlopen(endpoint + "/moto-api/", timeout=2).close()  # noqa: S310 - localhost
                break
            except (urllib.error.URLError, OSError):
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"moto server on {endpoint} did not start") from None
                time.sleep(0.2)
        yield S3Server(endpoint=endpoint)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture
def remote_env(s3_server: S3Server, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """A fresh bucket, configured through the variables mcuorch reads (read-write)."""
    bucket = s3_server.new_bucket()
    values = {**PLACEHOLDER_CREDENTIALS, "MCUORCH_REMOTE_CACHE": f"s3://{bucket}/nightly",
              "MCUORCH_REMOTE_CACHE_ENDPOINT": s3_server.endpoint}
    for key, value in values.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("MCUORCH_REMOTE_CACHE_MODE", raising=False)
    return values
