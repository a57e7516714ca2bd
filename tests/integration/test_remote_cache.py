"""The remote tier of the job store against a real S3 API server (moto, its own process on
localhost): homes with empty stores download what another home published; interrupted
uploads stay invisible; damaged objects are detected, executed again and replaced; read-only
mode writes nothing; an unreachable bucket is one line before anything runs.

Sessions use the fake runtime (no containers): what matters here is what crosses the wire.
"""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from rich.console import Console

from orchestrator.errors import UserError
from orchestrator.matrix import MatrixRequest
from orchestrator.plan import SCHEMA_VERSION
from orchestrator.remote_cache import RemoteCacheError, RemoteFile, RemoteSettings
from orchestrator.runner import SessionOptions, SessionResult, SessionRunner, prepare
from orchestrator.runtime.base import ExecRequest
from orchestrator.runtime.fake import FakeOutcome, FakeRuntime
from tests.conftest import TOY_ENV
from tests.s3_server import PLACEHOLDER_CREDENTIALS, S3Server, remote_env, s3_server  # noqa: F401 - fixtures
from tests.unit.conftest import toy_registry

MATRIX = MatrixRequest(models=["toy_sum", "toy_mul"], config_gen=[["toycc.opt=0"], ["toycc.opt=2"]])
JOBS = 14  # 2 LOAD, 4 BUILD, 4 COMPILE, 4 RUN


def toolchain(request: ExecRequest) -> FakeOutcome:
    """Outputs that depend on the job's inputs (not on the home it runs in); COMPILE leaves an
    executable and a nested folder."""
    stage = request.labels["mcuorch.stage"]
    argv = " ".join(request.argv).replace(os.environ["MCUORCH_HOME"], "<home>")
    if stage == "RUN":
        return FakeOutcome(files={"stdout.txt": f"# Total Instructions: {len(argv) % 97 + 1000}\n"})
    if stage == "COMPILE":
        app = next(m.path for m in request.mounts if not m.read_only) / "app"
        app.write_text("#!/bin/sh\n")
        app.chmod(0o755)
        return FakeOutcome(files={"map/sections.txt": argv}, stdout="linked\n")
    return FakeOutcome(files={"out.txt": argv, "metrics.json": json.dumps({"Code Size": len(argv) % 13})})


class Home:
    """A home with its own empty job store, running the toy matrix on a fake runtime."""

    def __init__(self, root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        self.root = root
        self.monkeypatch = monkeypatch
        self.runtime = FakeRuntime(toolchain)
        self.messages: list[str] = []

    def run(self, request: MatrixRequest = MATRIX, **variables: str) -> SessionResult:
        self.monkeypatch.setenv("MCUORCH_HOME", str(self.root))
        for key, value in variables.items():
            self.monkeypatch.setenv(key, value)
        console = Console(file=open("/dev/null", "w"))
        runner = SessionRunner(console, runtime_factory=lambda *args: self.runtime)
        runner._warn = self.messages.append  # type: ignore[method-assign]
        options = SessionOptions(env=str(TOY_ENV), request=request, runtime="local", quiet=True)
        return runner.run(options, threading.Event(), prepared=prepare(str(TOY_ENV), request, registry=toy_registry()))

    def executed(self) -> list[str]:
        return [r.labels["mcuorch.stage"] for r in self.runtime.requests]


def _objects(s3: S3Server, bucket: str) -> dict[str, bytes]:
    client = s3.client()
    keys = [o["Key"] for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket)
            for o in page.get("Contents", [])]
    return {key: client.get_object(Bucket=bucket, Key=key)["Body"].read() for key in keys}


def _bucket(env: dict[str, str]) -> str:
    return env["MCUORCH_REMOTE_CACHE"].removeprefix("s3://").split("/")[0]


def _manifests(objects: dict[str, bytes]) -> dict[str, dict[str, Any]]:
    return {k: json.loads(v) for k, v in objects.items() if k.endswith("/manifest.json")}


def test_a_second_home_downloads_everything_and_executes_nothing(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, s3_server: S3Server, remote_env: dict[str, str]) -> None:
    first = Home(tmp_path / "a", monkeypatch).run()
    assert first.record.counts["done"] == JOBS and first.remote is not None and first.remote.uploaded == JOBS
    objects = _objects(s3_server, _bucket(remote_env))
    manifests = _manifests(objects)
    assert len(manifests) == JOBS
    assert all(k.startswith(f"nightly/schema-{SCHEMA_VERSION}/") for k in objects)

    second_home = Home(tmp_path / "b", monkeypatch)
    second = second_home.run()
    assert second_home.executed() == []  # zero jobs executed: all downloaded
    assert second.record.counts["downloaded"] == JOBS and second.remote is not None
    assert second.remote.downloaded == JOBS and second.remote.uploaded == 0
    pd.testing.assert_frame_equal(second.report.drop(columns=["Session"]), first.report.drop(columns=["Session"]))
    app = next((tmp_path / "b" / "jobs" / "COMPILE").glob("*/outputs/app"))
    assert app.stat().st_mode & 0o111, "the executable bit survives the round trip"
    assert not list((tmp_path / "b" / "jobs").glob("*/.staging/*")), "nothing half-downloaded is left"

    third = Home(tmp_path / "b", monkeypatch).run()  # now local: no remote reads needed
    assert third.record.counts["cached"] == JOBS and third.remote is not None and third.remote.downloaded == 0


def test_an_interrupted_upload_stays_invisible(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, s3_server: S3Server,
                                               remote_env: dict[str, str]) -> None:
    """The connection drops in the middle of the uploads: jobs published before it are complete
    and visible; the job being uploaded left files but no manifest, so nobody sees it."""
    import orchestrator.remote_cache as remote_cache
    from botocore.exceptions import EndpointConnectionError

    real_client = remote_cache.make_client
    puts: list[str] = []

    class Dropping:
        def __init__(self, client: Any) -> None:
            self.client = client

        def __getattr__(self, name: str) -> Any:
            return getattr(self.client, name)

        def put_object(self, **kwargs: Any) -> Any:
            puts.append(kwargs["Key"])
            if len(puts) > 20:  # a few jobs in, mid-way through one job's files
                raise EndpointConnectionError(endpoint_url=s3_server.endpoint)
            return self.client.put_object(**kwargs)

    monkeypatch.setattr(remote_cache, "make_client", lambda settings: Dropping(real_client(settings)))
    home = Home(tmp_path / "a", monkeypatch)
    first = home.run()
    assert first.exit_code == 0 and first.record.counts["done"] == JOBS  # local results stand
    assert first.remote is not None and 0 < first.remote.uploaded < JOBS and first.remote.failed_uploads > 0
    assert sum("upload of" in m for m in home.messages) == 1  # warned once, not per job
    monkeypatch.setattr(remote_cache, "make_client", real_client)

    objects = _objects(s3_server, _bucket(remote_env))
    manifests = _manifests(objects)
    visible_uploads = {m["upload"] for m in manifests.values()}
    orphans = [k for k in objects if not k.endswith("/manifest.json") and k.split("/")[4] not in visible_uploads]
    assert orphans, "the interrupted job's files reached the bucket"

    second_home = Home(tmp_path / "b", monkeypatch)
    second = second_home.run()
    assert second.record.counts["downloaded"] == len(manifests)
    assert len(second_home.executed()) == JOBS - len(manifests) > 0
    pd.testing.assert_frame_equal(second.report.drop(columns=["Session"]), first.report.drop(columns=["Session"]))
    assert len(_manifests(_objects(s3_server, _bucket(remote_env)))) == JOBS  # the second home completed it


def test_a_damaged_object_is_detected_executed_again_and_replaced(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, s3_server: S3Server, remote_env: dict[str, str]) -> None:
    first = Home(tmp_path / "a", monkeypatch).run()
    bucket = _bucket(remote_env)
    client = s3_server.client()
    objects = _objects(s3_server, bucket)
    stdout_keys = sorted(k for k in objects if k.endswith("/outputs/stdout.txt") and "/RUN/" in k)
    damaged_key = stdout_keys[0]
    client.put_object(Bucket=bucket, Key=damaged_key, Body=b"# Total Instructions: 1\n")  # bit rot, or tampering
    damaged_job = damaged_key.split("/")[3]

    second_home = Home(tmp_path / "b", monkeypatch)
    second = second_home.run()
    assert second_home.executed() == ["RUN"]  # only the damaged job ran again
    assert second.remote is not None and second.remote.damaged == 1 and second.remote.uploaded == 1
    assert any("is damaged" in m and damaged_job[:12] in m for m in second_home.messages)
    pd.testing.assert_frame_equal(second.report.drop(columns=["Session"]), first.report.drop(columns=["Session"]))
    assert (second.report["Total Instructions"] != 1).all()

    after = _objects(s3_server, bucket)
    manifest_key = "/".join(damaged_key.split("/")[:4]) + "/manifest.json"
    replaced = json.loads(after[manifest_key])
    assert replaced["upload"] != json.loads(objects[manifest_key])["upload"]
    assert damaged_key not in after, "the damaged upload's files are removed once replaced"

    third_home = Home(tmp_path / "c", monkeypatch)
    third = third_home.run()
    assert third_home.executed() == [] and third.remote is not None and third.remote.damaged == 0


def test_a_manifest_of_another_schema_is_never_trusted(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, s3_server: S3Server, remote_env: dict[str, str]) -> None:
    Home(tmp_path / "a", monkeypatch).run(MatrixRequest(models=["toy_sum"]))
    bucket = _bucket(remote_env)
    client = s3_server.client()
    manifests = _manifests(_objects(s3_server, bucket))
    (load_key,) = [k for k in manifests if "/LOAD/" in k]
    client.put_object(Bucket=bucket, Key=load_key, Body=json.dumps({**manifests[load_key], "schema_version": 999}))
    second_home = Home(tmp_path / "b", monkeypatch)
    second_home.run(MatrixRequest(models=["toy_sum"]))
    assert second_home.executed() == ["LOAD"]


def test_read_only_mode_downloads_but_never_writes(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, s3_server: S3Server, remote_env: dict[str, str]) -> None:
    bucket = _bucket(remote_env)
    pull_request = Home(tmp_path / "pr", monkeypatch).run(MCUORCH_REMOTE_CACHE_MODE="read")
    assert pull_request.remote is not None and pull_request.remote.uploaded == 0
    assert _objects(s3_server, bucket) == {}
    Home(tmp_path / "nightly", monkeypatch).run(MCUORCH_REMOTE_CACHE_MODE="readwrite")
    published = _objects(s3_server, bucket)
    later_home = Home(tmp_path / "pr2", monkeypatch)
    later = later_home.run(MCUORCH_REMOTE_CACHE_MODE="read")
    assert later_home.executed() == [] and later.record.counts["downloaded"] == JOBS
    assert _objects(s3_server, bucket) == published


def test_a_local_result_the_remote_lacks_is_shared(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                   s3_server: S3Server, remote_env: dict[str, str]) -> None:
    """A home that computed jobs before the remote tier was configured publishes its hits."""
    home = Home(tmp_path / "a", monkeypatch)
    home.run(MCUORCH_REMOTE_CACHE_MODE="off")
    assert _objects(s3_server, _bucket(remote_env)) == {}
    again = home.run(MCUORCH_REMOTE_CACHE_MODE="readwrite")
    assert again.record.counts["cached"] == JOBS and again.remote is not None and again.remote.uploaded == JOBS
    assert len(_manifests(_objects(s3_server, _bucket(remote_env)))) == JOBS


def test_an_unreachable_or_missing_bucket_stops_before_anything_runs(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, s3_server: S3Server, remote_env: dict[str, str]) -> None:
    home = Home(tmp_path / "a", monkeypatch)
    with pytest.raises(RemoteCacheError, match=r"^remote cache s3://no-such-bucket at http://127\.0\.0\.1:\d+ cannot "
                                               r"be used: ClientError: .*\(unset MCUORCH_REMOTE_CACHE"):
        home.run(MCUORCH_REMOTE_CACHE="s3://no-such-bucket")
    with pytest.raises(RemoteCacheError, match="cannot be used: EndpointConnectionError"):
        home.run(MCUORCH_REMOTE_CACHE_ENDPOINT="http://127.0.0.1:9")
    assert home.executed() == [] and not (tmp_path / "a" / "sessions").exists()


@pytest.mark.parametrize(("variables", "message"), [
    ({"MCUORCH_REMOTE_CACHE": "bucket/prefix"}, "must look like s3://bucket/prefix"),
    ({"MCUORCH_REMOTE_CACHE": "s3://b", "MCUORCH_REMOTE_CACHE_MODE": "sometimes"}, "choose from readwrite, read, off"),
    ({"MCUORCH_REMOTE_CACHE": "s3://b", "MCUORCH_REMOTE_CACHE_ENDPOINT": "localhost:9000"}, "must be an http(s)://"),
])
def test_malformed_settings_are_user_errors(variables: dict[str, str], message: str) -> None:
    with pytest.raises(UserError, match=message.replace("(", r"\(").replace(")", r"\)")):
        RemoteSettings.from_environ(variables)


def test_settings_from_the_environment() -> None:
    assert RemoteSettings.from_environ({}) is None
    assert RemoteSettings.from_environ({"MCUORCH_REMOTE_CACHE": "s3://b/p", "MCUORCH_REMOTE_CACHE_MODE": "off"}) is None
    settings = RemoteSettings.from_environ({"MCUORCH_REMOTE_CACHE": "s3://jobs/ci/nightly/",
                                            "MCUORCH_REMOTE_CACHE_MODE": "read"})
    assert settings is not None and (settings.bucket, settings.prefix, settings.writable) == ("jobs", "ci/nightly", False)


@pytest.mark.parametrize("path", ["../escape", "/etc/passwd", "outputs/../../x", "", "a//b"])
def test_a_manifest_cannot_name_paths_outside_the_job(path: str) -> None:
    with pytest.raises(ValueError, match="leaves the job folder"):
        RemoteFile(path=path)


def test_the_cli_says_so_in_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, toy_plugin: Path,
                                     capsys: pytest.CaptureFixture[str]) -> None:
    from orchestrator.cli.main import main

    monkeypatch.setenv("MCUORCH_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("MCUORCH_REMOTE_CACHE", "s3://nightly-jobs/ci")
    monkeypatch.setenv("MCUORCH_REMOTE_CACHE_ENDPOINT", "http://127.0.0.1:9")
    for variable in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_PROFILE", "AWS_SHARED_CREDENTIALS_FILE"):
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    said = []
    for credentials in ({}, PLACEHOLDER_CREDENTIALS):
        for key, value in credentials.items():
            monkeypatch.setenv(key, value)
        with pytest.raises(SystemExit) as exit_info:
            main(["run", "--env", str(TOY_ENV), "--runtime", "local", "toy_sum"])
        err = capsys.readouterr().err
        assert exit_info.value.code == 2 and err.count("\n") == 1, err
        said.append(err)
    prefix = "error: remote cache s3://nightly-jobs/ci at http://127.0.0.1:9 cannot be used: "
    assert said[0].startswith(prefix + "NoCredentialsError: Unable to locate credentials"), said[0]
    assert said[1].startswith(prefix + "EndpointConnectionError"), said[1]
    assert not (tmp_path / "home" / "sessions").exists()
