"""Shards and merge with the fake runtime: the split, the merged report, mismatched shards."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from pathlib import Path

import pandas as pd
import pytest
from rich.console import Console

from orchestrator.components.base import Stage
from orchestrator.errors import ConfigError
from orchestrator.matrix import MatrixRequest
from orchestrator.merge import MergeError, find_sessions, merge
from orchestrator.paths import home_paths
from orchestrator.runner import SessionOptions, SessionResult, SessionRunner, dry_run, prepare
from orchestrator.runtime.base import ExecRequest
from orchestrator.runtime.fake import FakeOutcome, FakeRuntime
from orchestrator.shards import ShardSpec, assign_shards, job_cost, shard_runs
from tests.conftest import REPO, TOY_ENV
from tests.unit.conftest import toy_registry

MATRIX = MatrixRequest(models=["toy_sum", "toy_mul"],
                       config_gen=[["toycc.opt=0"], ["toycc.opt=1"], ["toycc.opt=2", "toyhost.work_ms=3"]])


def toy_script(request: ExecRequest) -> FakeOutcome:
    """Deterministic outputs whatever the home: metrics depend on the model and options only."""
    argv = " ".join(request.argv)
    model = "mul" if "toy_mul" in argv else "sum"
    if request.labels["mcuorch.stage"] == "RUN":
        instructions = 1000 + len(model) * 7 + (13 if "sleep 0.003" in argv else 0)
        return FakeOutcome(files={"stdout.txt": f"# Total Instructions: {instructions}\n# Checksum: {len(argv) % 1}\n"})
    if request.labels["mcuorch.stage"] == "BUILD":
        opt = next(part for part in request.argv if part.startswith("-O"))
        return FakeOutcome(files={"model.o": model + opt, "metrics.json": json.dumps({"Code Size": 100 + int(opt[2:])})})
    return FakeOutcome(files={"out.txt": model})


def run_session(home: Path, monkeypatch: pytest.MonkeyPatch, request: MatrixRequest = MATRIX,
                shard: str | None = None, identity: str = "1") -> SessionResult:
    """One session in `home` (its own job store), as `mcuorch run [--shard K/N]` would run it."""
    monkeypatch.setenv("MCUORCH_HOME", str(home))
    runtime = FakeRuntime(toy_script, identity_suffix=identity)
    prepared = prepare(str(TOY_ENV), request, registry=toy_registry())
    options = SessionOptions(env=str(TOY_ENV), request=request, runtime="local", quiet=True,
                             shard=ShardSpec.parse(shard) if shard else None)
    runner = SessionRunner(Console(file=open("/dev/null", "w")), runtime_factory=lambda *args: runtime)
    return runner.run(options, threading.Event(), prepared=prepared)


def test_shard_spec_parsing() -> None:
    assert ShardSpec.parse("2/4") == ShardSpec(index=2, count=4) and str(ShardSpec.parse(" 1 / 1 ")) == "1/1"
    for bad in ("0/2", "3/2", "1", "a/b", "1/0", "-1/2"):
        with pytest.raises(ConfigError, match="must be K/N with 1 <= K <= N"):
            ShardSpec.parse(bad)


def test_split_is_whole_runs_deterministic_and_balanced(mcuorch_home: Path) -> None:
    prepared = prepare(str(TOY_ENV), MATRIX, registry=toy_registry())
    plan = dry_run(prepared)
    for count in (1, 2, 3, 4, 6, 8):
        assignment = assign_shards(plan, count)
        assert sorted(assignment) == [r.index for r in prepared.runs]  # every run exactly once
        assert set(assignment.values()) <= set(range(1, count + 1))
        again = assign_shards(dry_run(prepare(str(TOY_ENV), MATRIX, registry=toy_registry())), count)
        assert again == assignment
    halves = [shard_runs(prepared.runs, plan, ShardSpec(index=k, count=2)) for k in (1, 2)]
    assert sorted(r.index for half in halves for r in half) == list(range(6))
    assert all(half for half in halves)  # 6 runs over 2 shards: nobody idles
    many = [shard_runs(prepared.runs, plan, ShardSpec(index=k, count=8)) for k in range(1, 9)]
    assert sum(len(m) for m in many) == 6 and sum(not m for m in many) == 2  # more shards than runs: empty ones


SPLIT_IN_A_PROCESS = """
from orchestrator.matrix import MatrixRequest
from orchestrator.runner import dry_run, prepare
from orchestrator.shards import assign_shards
request = MatrixRequest(models=["sine_model", "aww", "vww", "resnet", "toycar"], backends=["tvmaot"],
                        targets=["host_x86", "riscv_qemu", "mps3_an547", "mps2_an386"])
print(sorted(assign_shards(dry_run(prepare("default", request)), 2).items()))
"""


def test_split_is_the_same_in_every_process(mcuorch_home: Path) -> None:
    """Each CI machine is its own process with its own string-hash seed (set order). The
    default 20-run matrix has near-ties: with float costs summed in set order, seeds 1 and 7
    gave different shares than seed 0 and two shards ran one run while another ran nowhere."""
    splits = set()
    for seed in ("0", "1", "7", "11"):
        result = subprocess.run([sys.executable, "-c", SPLIT_IN_A_PROCESS], cwd=REPO, capture_output=True, text=True,
                                env={**os.environ, "PYTHONHASHSEED": seed, "PYTHONPATH": str(REPO)}, check=True)
        splits.add(result.stdout)
    assert len(splits) == 1, splits


def test_split_keeps_runs_that_share_a_build_together_when_that_balances(mcuorch_home: Path) -> None:
    """Two models × two targets-worth of RUN configs: 4 runs on 2 BUILDs. Putting each model's
    runs in one shard builds each model once; splitting a model would build it twice."""
    request = MatrixRequest(models=["toy_sum", "toy_mul"], config_gen=[["toyhost.work_ms=1"], ["toyhost.work_ms=2"]])
    prepared = prepare(str(TOY_ENV), request, registry=toy_registry())
    plan = dry_run(prepared)
    assignment = assign_shards(plan, 2)
    by_model: dict[str, set[int]] = {}
    for run in prepared.runs:
        by_model.setdefault(run.model.name, set()).add(assignment[run.index])
    assert all(len(shards) == 1 for shards in by_model.values()), assignment
    assert len({next(iter(s)) for s in by_model.values()}) == 2


def test_expected_cost_grows_with_macs_and_the_simulator(mcuorch_home: Path, tmp_path: Path) -> None:
    prepared = prepare("default", MatrixRequest(models=["sine_model", "resnet"], targets=["host_x86", "riscv_qemu"]))
    cost = {(r.model.name, r.target): job_cost(Stage.RUN, r) for r in prepared.runs}
    assert cost[("resnet", "riscv_qemu")] > cost[("sine_model", "riscv_qemu")]
    assert cost[("resnet", "riscv_qemu")] > cost[("resnet", "host_x86")]
    builds = {r.model.name: job_cost(Stage.BUILD, r) for r in prepared.runs}
    assert builds["resnet"] > builds["sine_model"]


def test_merged_shards_equal_the_unsharded_report(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    whole = run_session(tmp_path / "whole", monkeypatch)
    first = run_session(tmp_path / "shard1", monkeypatch, shard="1/2")
    second = run_session(tmp_path / "shard2", monkeypatch, shard="2/2")
    assert len(first.results) + len(second.results) == len(whole.results) == 6
    assert {r.run.index for r in first.results}.isdisjoint({r.run.index for r in second.results})
    assert first.record.shard is not None and first.record.shard.total_runs == 6

    monkeypatch.setenv("MCUORCH_HOME", str(tmp_path / "merged"))
    sessions = find_sessions([tmp_path / "shard1", tmp_path / "shard2" / "sessions"])
    result = merge(sessions, home_paths(), label="nightly")
    assert result.exit_code == 0 and result.record.merged_from == [first.record.id, second.record.id]
    assert list(result.report["Session"].unique()) == [result.record.id]
    pd.testing.assert_frame_equal(result.report.drop(columns=["Session"]), whole.report.drop(columns=["Session"]))
    assert "Code Size" in result.report and result.report["Total Instructions"].notna().all()

    saved = pd.read_json(tmp_path / "merged" / "sessions" / result.record.id / "report.json", orient="records")
    unsharded = pd.read_json(tmp_path / "whole" / "sessions" / whole.record.id / "report.json", orient="records")
    pd.testing.assert_frame_equal(saved.drop(columns=["Session"]), unsharded.drop(columns=["Session"]))
    assert (tmp_path / "merged" / "results" / "nightly.csv").is_file()
    record = json.loads((tmp_path / "merged" / "sessions" / result.record.id / "session.json").read_text())
    assert record["status"] == "done" and [r["index"] for r in record["runs"]] == list(range(6))
    assert record["counts"]["done"] == first.record.counts["done"] + second.record.counts["done"]


def test_postprocesses_apply_to_the_merged_whole(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, toy_plugin: Path) -> None:
    """filter_cols drop_const drops columns constant over the whole matrix; a shard alone would see
    more of them constant, so postprocesses must run on the merged rows, not per shard."""
    request = MATRIX.model_copy(update={"postprocesses": ["filter_cols"], "config": ["filter_cols.drop_const=1"]})
    whole = run_session(tmp_path / "whole", monkeypatch, request)
    shards = [run_session(tmp_path / f"s{k}", monkeypatch, request, shard=f"{k}/3") for k in (1, 2, 3)]
    monkeypatch.setenv("MCUORCH_HOME", str(tmp_path / "merged"))
    result = merge(find_sessions([tmp_path / "s1", tmp_path / "s2", tmp_path / "s3"]), home_paths())
    assert any(set(shard.report.columns) != set(whole.report.columns) for shard in shards)
    assert list(result.report.columns) == list(whole.report.columns)
    pd.testing.assert_frame_equal(result.report, whole.report)  # Session is constant: dropped by filter_cols


def test_mismatched_shards_are_refused_with_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    run_session(tmp_path / "a1", monkeypatch, shard="1/2")
    run_session(tmp_path / "a2", monkeypatch, shard="2/2")
    other = MATRIX.model_copy(update={"config": ["toycc.fail=0"]})
    run_session(tmp_path / "b2", monkeypatch, other, shard="2/2")
    run_session(tmp_path / "c2", monkeypatch, shard="2/2", identity="2")
    run_session(tmp_path / "d2", monkeypatch, shard="2/3")
    run_session(tmp_path / "whole", monkeypatch)
    monkeypatch.setenv("MCUORCH_HOME", str(tmp_path / "merged"))

    def refused(*folders: str) -> str:
        with pytest.raises(MergeError) as info:
            merge(find_sessions([tmp_path / f for f in folders]), home_paths())
        assert "\n" not in str(info.value)
        return str(info.value)

    assert "a different command: -c/--config [] vs ['toycc.fail=0']" in refused("a1", "b2")
    assert "different image tags: toy fake:toy:1 vs fake:toy:2" in refused("a1", "c2")
    assert "a different split: 1/2 vs 2/3" in refused("a1", "d2")
    assert refused("a1").startswith("shard 2/2 missing")
    assert refused("a1", "a2", "c2").startswith("shard 2/2") and "does not belong" in refused("a1", "a2", "c2")
    assert "holds no shard session" in refused("whole")
    whole_session = next((tmp_path / "whole" / "sessions").iterdir())
    with pytest.raises(MergeError, match="is not a shard"):
        find_sessions([whole_session])
    assert not (tmp_path / "merged" / "sessions").exists()  # nothing written for a refused merge


def test_same_shard_twice_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    run_session(tmp_path / "a1", monkeypatch, shard="1/2")
    run_session(tmp_path / "again1", monkeypatch, shard="1/2")
    run_session(tmp_path / "a2", monkeypatch, shard="2/2")
    monkeypatch.setenv("MCUORCH_HOME", str(tmp_path / "merged"))
    with pytest.raises(MergeError, match=r"^shard 1/2 given twice: sessions \S+ and \S+$"):
        merge(find_sessions([tmp_path / "a1", tmp_path / "again1", tmp_path / "a2"]), home_paths())


def test_an_unfinished_shard_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    first = run_session(tmp_path / "a1", monkeypatch, shard="1/2")
    run_session(tmp_path / "a2", monkeypatch, shard="2/2")
    path = tmp_path / "a1" / "sessions" / first.record.id / "session.json"
    record = json.loads(path.read_text())
    record["runs"] = record["runs"][:-1]  # a shard that died before recording every run
    record["status"] = "running"
    path.write_text(json.dumps(record))
    monkeypatch.setenv("MCUORCH_HOME", str(tmp_path / "merged"))
    with pytest.raises(MergeError, match=f"has no results for some of its runs .*mcuorch run --resume {first.record.id}"):
        merge(find_sessions([tmp_path / "a1", tmp_path / "a2"]), home_paths())


def test_a_resumed_shard_runs_the_same_share(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from orchestrator.runner import options_from_session

    first = run_session(tmp_path / "a", monkeypatch, shard="2/2")
    options = options_from_session(first.record, quiet=True)
    assert options.shard == ShardSpec(index=2, count=2)


def test_more_shards_than_runs_leaves_empty_shards_that_merge(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    request = MatrixRequest(models=["toy_sum", "toy_mul"])
    whole = run_session(tmp_path / "whole", monkeypatch, request)
    shards = [run_session(tmp_path / f"s{k}", monkeypatch, request, shard=f"{k}/3") for k in (1, 2, 3)]
    assert sorted(len(s.results) for s in shards) == [0, 1, 1]
    empty = next(s for s in shards if not s.results)
    assert empty.exit_code == 0 and empty.record.status == "done" and empty.record.shard is not None
    monkeypatch.setenv("MCUORCH_HOME", str(tmp_path / "merged"))
    result = merge(find_sessions([tmp_path / f"s{k}" for k in (1, 2, 3)]), home_paths())
    pd.testing.assert_frame_equal(result.report.drop(columns=["Session"]), whole.report.drop(columns=["Session"]))


def test_shards_of_other_model_files_are_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Same command, same environment, but one runner's toy_sum is another program."""
    import shutil

    from tests.conftest import TOY_DIR

    run_session(tmp_path / "a1", monkeypatch, shard="1/2")
    edited = tmp_path / "models"
    shutil.copytree(TOY_DIR / "models", edited)
    (edited / "toy_sum" / "model.tflite").write_text("int main(void) { return 1; }\n")
    monkeypatch.setenv("MCUORCH_MODELS", str(edited))
    run_session(tmp_path / "b2", monkeypatch, shard="2/2")
    monkeypatch.setenv("MCUORCH_HOME", str(tmp_path / "merged"))
    with pytest.raises(MergeError, match=r"does not belong with shard 1/2 .*: different runs \(model files"):
        merge(find_sessions([tmp_path / "a1", tmp_path / "b2"]), home_paths())
