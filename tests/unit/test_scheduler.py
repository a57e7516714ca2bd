"""Scheduling with the fake runtime: order, dedupe, caching, failures, timeouts, cancel."""

from __future__ import annotations

import threading
import time

import pandas as pd

from orchestrator.matrix import MatrixRequest
from orchestrator.runtime.base import ExecRequest
from orchestrator.runtime.fake import FakeOutcome, FakeRuntime
from tests.unit.conftest import FakeSession

TWO_MODELS = MatrixRequest(models=["toy_sum", "toy_mul"], config_gen=[["toycc.opt=0"], ["toycc.opt=2"]])


def toy_script(request: ExecRequest) -> FakeOutcome:
    """Plays the toy toolchain: RUN prints a metric; `fail`/`hang` configs act out."""
    script = " ".join(request.argv)
    if "deliberate failure" in script:
        return FakeOutcome(exit_code=1, stderr="toycc: deliberate failure\n")
    if "sleep 987654" in script:
        return FakeOutcome(hang=True)
    own = {"argv.txt": script}  # outputs differ whenever the argv (and so the inputs) differ
    if request.labels["mcuorch.stage"] == "RUN":
        return FakeOutcome(files={**own, "stdout.txt": "# Checksum: 7\n"}, delay_sec=0.05)
    return FakeOutcome(files={**own, "metrics.json": '{"Stage Metric": 1}'}, delay_sec=0.02)


def _session(fake_session: FakeSession) -> FakeSession:
    fake_session.runtime.script = toy_script
    return fake_session


def test_dependency_order_and_dedupe(fake_session: FakeSession) -> None:
    session = _session(fake_session)
    result = session.run(TWO_MODELS, parallel=2)
    stages = [r.labels["mcuorch.stage"] for r in session.runtime.requests]
    # 2 LOAD, 4 BUILD (opt differs), 4 COMPILE, 4 RUN: each executed once
    assert sorted(stages) == sorted(["LOAD"] * 2 + ["BUILD"] * 4 + ["COMPILE"] * 4 + ["RUN"] * 4)
    by_key: dict[str, int] = {}
    for index, request in enumerate(session.runtime.requests):
        by_key[request.labels["mcuorch.key"]] = index
    for outcome in result.results[0].outcomes.values():  # every job ran after the jobs it reads
        for upstream in outcome.job.upstream.values():
            up_key = result.results[0].outcomes[upstream.stage].key
            assert by_key[up_key] < by_key[outcome.key]
    assert result.exit_code == 0
    assert list(result.report["Checksum"]) == [7, 7, 7, 7]
    assert list(result.report["Stage Metric"]) == [1, 1, 1, 1]  # OUT/metrics.json merged


def test_second_identical_session_executes_nothing_and_reports_the_same(fake_session: FakeSession) -> None:
    session = _session(fake_session)
    first = session.run(TWO_MODELS)
    executed = len(session.runtime.requests)
    second = session.run(TWO_MODELS)
    assert len(session.runtime.requests) == executed
    assert second.record.counts["cached"] == 14 and second.record.counts["done"] == 0
    pd.testing.assert_frame_equal(first.report.drop(columns=["Session"]), second.report.drop(columns=["Session"]))
    third = session.run(TWO_MODELS, rerun=True)
    assert len(session.runtime.requests) == 2 * executed
    assert third.record.counts["done"] == 14


def test_failure_is_isolated_to_its_runs(fake_session: FakeSession) -> None:
    session = _session(fake_session)
    request = MatrixRequest(models=["toy_sum", "toy_mul"], config_gen=[["toycc.fail=1"], ["_"]])
    result = session.run(request, parallel=2)
    df = result.report
    assert list(df["Failing"]) == [True, False, True, False]
    assert list(df["Reason"][df["Failing"]]) == ["exit code 1 @ BUILD"] * 2
    assert df["Checksum"].isna().tolist() == [True, False, True, False]  # absent, never 0
    assert result.exit_code == 1
    failed_logs = result.results[0].outcomes[next(iter(result.results[0].outcomes))]
    assert failed_logs is not None
    log_dirs = [o.log_dir for r in result.results for o in r.outcomes.values() if o.log_dir]
    assert log_dirs and all((d / "stderr.log").read_text() == "toycc: deliberate failure\n" for d in log_dirs)


def test_timeout_is_marked_on_the_stage(fake_session: FakeSession) -> None:
    session = _session(fake_session)
    request = MatrixRequest(models=["toy_sum"], config_gen=[["toyhost.hang=1", "toyhost.timeout_sec=0.3"], ["_"]])
    start = time.monotonic()
    result = session.run(request, parallel=2)
    assert time.monotonic() - start < 5
    assert result.report["Reason"][0] == "timeout @ RUN" and pd.isna(result.report["Reason"][1])
    assert list(result.report["Failing"]) == [True, False]


def test_equal_outputs_make_equal_downstream_keys(fake_session: FakeSession) -> None:
    """Keys use the content of upstream outputs: two BUILDs with identical output share COMPILE."""
    fake_session.runtime.script = lambda request: FakeOutcome(files={"stdout.txt": "# Checksum: 1\n"})
    result = fake_session.run(MatrixRequest(models=["toy_sum"], config_gen=[["toycc.opt=0"], ["toycc.opt=2"]]))
    stages = sorted(r.labels["mcuorch.stage"] for r in fake_session.runtime.requests)
    assert stages == ["BUILD", "BUILD", "COMPILE", "LOAD", "RUN"]
    assert result.results[0].keys["COMPILE"] == result.results[1].keys["COMPILE"]


def test_parallel_workers_overlap(fake_session: FakeSession) -> None:
    session = _session(fake_session)
    session.run(TWO_MODELS, parallel=3)
    assert session.runtime.max_active >= 2
    serial = FakeSession(FakeRuntime(toy_script))
    serial.run(MatrixRequest(models=["toy_sum", "toy_mul"], config_gen=[["toycc.opt=1"], ["toycc.opt=3"]]), parallel=1)
    assert serial.runtime.max_active == 1


def test_cancel_gives_incomplete_runs_and_exit_130(fake_session: FakeSession) -> None:
    session = _session(fake_session)
    cancel = threading.Event()
    request = MatrixRequest(models=["toy_sum", "toy_mul"], config_gen=[["toyhost.hang=1"], ["toyhost.work_ms=1"]])
    timer = threading.Timer(0.5, cancel.set)
    timer.start()
    result = session.run(request, parallel=1, cancel=cancel)
    timer.cancel()
    assert result.cancelled and result.exit_code == 130
    assert result.report["Incomplete"].any()
    assert not result.report["Failing"].any()  # cancelled is not failing
    assert result.record.status == "incomplete"
    assert session.runtime.requests  # it had started


def test_job_record_has_argv_image_and_timings(fake_session: FakeSession) -> None:
    session = _session(fake_session)
    result = session.run(MatrixRequest(models=["toy_sum"]))
    outcome = next(iter(result.results[0].outcomes.values()))
    record = outcome.published.record
    assert record.argv[0] == "sh" and record.image.name == "toy" and record.image.identity == "fake:toy:1"
    assert record.duration_sec >= 0 and record.finished >= record.started
    assert record.key_inputs.key() == record.key


def test_image_identity_change_invalidates_everything(fake_session: FakeSession) -> None:
    session = _session(fake_session)
    session.run(MatrixRequest(models=["toy_sum"]))
    session.runtime.identity_suffix = "2"
    result = session.run(MatrixRequest(models=["toy_sum"]))
    assert result.record.counts["done"] == 4
