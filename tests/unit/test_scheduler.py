"""Scheduling with the fake runtime: order, dedupe, caching, failures, timeouts, cancel."""

from __future__ import annotations

import threading
import time

import pandas as pd

from orchestrator.components.base import Stage
from orchestrator.errors import EngineLostError, ImageMissingError, JobError
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


class LoseEngineAt:
    """Plays the toy toolchain until the `nth` RUN job, which finds the engine gone."""

    def __init__(self, nth: int) -> None:
        self.nth = nth
        self.runs = 0
        self.requests_at_loss: int | None = None
        self._lock = threading.Lock()

    def __call__(self, request: ExecRequest) -> FakeOutcome:
        if request.labels["mcuorch.stage"] == "RUN":
            with self._lock:
                self.runs += 1
                if self.runs == self.nth:
                    return FakeOutcome(raises=EngineLostError("unix:///gone/docker.sock"))
        return toy_script(request)


def test_a_lost_engine_stops_the_session_keeps_finished_runs_and_resume_finishes(fake_session: FakeSession) -> None:
    script = LoseEngineAt(nth=2)
    fake_session.runtime.script = script
    result = fake_session.run(TWO_MODELS, parallel=1)
    # 14 jobs: LOAD 2, BUILD 4, COMPILE 4 and the first RUN ran; the second RUN met the lost
    # engine and nothing was tried after it
    assert len(fake_session.runtime.requests) == 12
    assert result.engine_lost is not None and result.engine_lost.address == "unix:///gone/docker.sock"
    assert result.exit_code == 3 and not result.cancelled
    assert result.finished_runs == 1
    df = result.report
    assert list(df["Incomplete"]).count(False) == 1 and not df["Failing"].any()
    assert df.loc[~df["Incomplete"], "Checksum"].tolist() == [7]  # the finished run's result is kept
    reasons = {o.reason for r in result.results for o in r.outcomes.values()}
    assert "lost the Docker engine at unix:///gone/docker.sock @ RUN" in reasons
    assert result.record.status == "incomplete" and result.record.engine_lost == "unix:///gone/docker.sock"
    assert result.record.counts["cancelled"] == 3

    fake_session.runtime.script = toy_script  # the engine is back
    resumed = fake_session.run(TWO_MODELS, parallel=1, resume=result.record)
    assert resumed.record.id == result.record.id
    assert resumed.exit_code == 0 and resumed.engine_lost is None and resumed.record.engine_lost is None
    assert resumed.record.counts["done"] == 3 and resumed.record.counts["cached"] == 11
    assert list(resumed.report["Checksum"]) == [7, 7, 7, 7]


def test_a_lost_engine_with_parallel_workers_starts_nothing_more(fake_session: FakeSession) -> None:
    script = LoseEngineAt(nth=1)
    fake_session.runtime.script = script
    result = fake_session.run(TWO_MODELS, parallel=3)
    assert result.exit_code == 3 and result.record.status == "incomplete"
    started_runs = sum(r.labels["mcuorch.stage"] == "RUN" for r in fake_session.runtime.requests)
    assert started_runs <= 3  # at most the ones already running beside the one that met the loss
    assert result.report["Incomplete"].any() and not result.report["Failing"].any()


def test_a_removed_image_leaves_its_runs_incomplete_and_the_others_finish(fake_session: FakeSession) -> None:
    missing = ImageMissingError("mcuorch/toy:0123456789abcdef")
    runs = []

    def script(request: ExecRequest) -> FakeOutcome:
        if request.labels["mcuorch.stage"] == "RUN":
            runs.append(request)
            if len(runs) == 1:
                return FakeOutcome(raises=missing)
        return toy_script(request)

    fake_session.runtime.script = script
    result = fake_session.run(MatrixRequest(models=["toy_sum", "toy_mul"]), parallel=1)
    assert result.image_missing is missing and result.exit_code == 1 and result.engine_lost is None
    assert len(runs) == 2  # the other run still ran
    df = result.report
    assert list(df["Incomplete"]) == [True, False] and not df["Failing"].any()
    assert pd.isna(df["Checksum"][0]) and df["Checksum"][1] == 7
    assert result.results[0].outcomes[Stage.RUN].reason == (
        "image mcuorch/toy:0123456789abcdef is missing (removed during the session?); run the command again, "
        "missing images are rebuilt @ RUN")
    assert result.record.status == "incomplete"


def test_an_mcuorch_error_is_its_own_reason_not_an_internal_error(fake_session: FakeSession) -> None:
    def script(request: ExecRequest) -> FakeOutcome:
        if request.labels["mcuorch.stage"] == "BUILD":
            return FakeOutcome(raises=JobError("docker exec in mcuorch/toy:1 failed: boom"))
        return toy_script(request)

    fake_session.runtime.script = script
    result = fake_session.run(MatrixRequest(models=["toy_sum"]))
    assert result.report["Reason"][0] == "docker exec in mcuorch/toy:1 failed: boom @ BUILD"
    assert result.exit_code == 1
