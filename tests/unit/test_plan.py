"""Job keys: what enters them, their stability, and deduplication."""

from __future__ import annotations

from pathlib import Path

from orchestrator.components.base import Stage
from orchestrator.components.registry import builtin_registry
from orchestrator.environment import load_environment
from orchestrator.matrix import MatrixBuilder, MatrixRequest
from orchestrator.paths import project_paths
from orchestrator.plan import KeyInputs, Planner


def _plan(env: str, until: Stage = Stage.RUN, **request: object):  # type: ignore[no-untyped-def]
    runs = MatrixBuilder(load_environment(env), builtin_registry()).expand(MatrixRequest(**request))
    return Planner(project_paths()).plan(runs, identity=lambda name: f"image:{name}", until=until)


def test_tumeda_matrix_dedupes_to_2_4_8_8(models: Path) -> None:
    plan = _plan("tumeda", models=["aww", "vww"], backends=["tflmi", "tvmaot"], targets=["etiss_pulpino", "host_x86"])
    assert len(plan.runs) == 8
    assert plan.counts() == {Stage.LOAD: 2, Stage.BUILD: 4, Stage.COMPILE: 8, Stage.RUN: 8}
    # shared jobs know every run that uses them
    assert sorted(len(j.runs) for j in plan.jobs if j.stage is Stage.LOAD) == [4, 4]


def test_until_stops_planning(models: Path) -> None:
    plan = _plan("default", until=Stage.BUILD, models=["aww"], targets=["host_x86", "riscv_qemu"])
    # tvmaot builds for the target's ISA: generic C for host_x86, rv32gc for riscv_qemu
    assert plan.counts() == {Stage.LOAD: 1, Stage.BUILD: 2}
    same_isa = _plan("default", until=Stage.BUILD, models=["aww"], targets=["riscv_qemu"],
                     config_gen=[["riscv_qemu.timeout_sec=5"], ["riscv_qemu.timeout_sec=50"]])
    assert same_isa.counts() == {Stage.LOAD: 1, Stage.BUILD: 1}


def test_run_only_config_does_not_change_compile_or_earlier_keys(models: Path) -> None:
    a = _plan("default", models=["aww"], config=["host_x86.timeout_sec=5"])
    b = _plan("default", models=["aww"], config=["host_x86.timeout_sec=50"])
    assert [j.id for j in a.jobs] == [j.id for j in b.jobs]  # timeouts never enter keys
    c = _plan("default", models=["aww"], config=["mlif.optimize=s"])
    changed = [x.stage for x, y in zip(a.jobs, c.jobs, strict=True) if x.id != y.id]
    assert changed == [Stage.COMPILE, Stage.RUN]  # downstream of the change only


def test_target_compile_keys_enter_compile_but_run_keys_do_not(models: Path) -> None:
    plan = _plan("tumeda", models=["aww"], targets=["etiss"], config_gen=[["etiss.fclk=1000"], ["etiss.fclk=2000"]])
    assert plan.counts() == {Stage.LOAD: 1, Stage.BUILD: 1, Stage.COMPILE: 1, Stage.RUN: 2}
    archs = [["etiss.arch=rv32gc"], ["etiss.arch=rv32imc"]]
    plan = _plan("tumeda", models=["aww"], targets=["etiss"], config_gen=archs)
    assert plan.counts() == {Stage.LOAD: 1, Stage.BUILD: 1, Stage.COMPILE: 2, Stage.RUN: 2}


def test_key_inputs_name_everything(models: Path) -> None:
    plan = _plan("default", models=["aww"], targets=["riscv_qemu"])
    compile_job = next(j for j in plan.jobs if j.stage is Stage.COMPILE)
    inputs = compile_job.key_inputs
    assert inputs.components == {"platform": "mlif", "target": "riscv_qemu"}
    assert inputs.config["riscv_qemu"] == {"abi": None, "arch": "rv32gc", "pext": False, "vext": False}
    assert set(inputs.inputs) == {"LOAD", "BUILD", "sw"}   # upstream stand-ins + the target software
    assert inputs.image == "image:gnu-riscv"
    load_job = next(j for j in plan.jobs if j.stage is Stage.LOAD)
    assert "model" in load_job.key_inputs.inputs


def test_key_is_stable_and_sensitive() -> None:
    base = KeyInputs(stage="RUN", components={"target": "t"}, config={"t": {"a": 1, "b": [1, 2]}},
                     inputs={"COMPILE": "d1"}, image="img:1")
    reordered = KeyInputs(stage="RUN", components={"target": "t"}, config={"t": {"b": [1, 2], "a": 1}},
                          inputs={"COMPILE": "d1"}, image="img:1")
    assert base.key() == reordered.key()
    # pinned value: the key recipe (canonical JSON + sha256) must not drift silently
    assert base.key() == "30564806d884e50241d82a17ac280db083211499124db69f41066e625f829319"
    for change in ({"image": "img:2"}, {"inputs": {"COMPILE": "d2"}}, {"config": {"t": {"a": 2, "b": [1, 2]}}},
                   {"stage": "COMPILE"}, {"schema_version": 2}):
        assert base.model_copy(update=change).key() != base.key()


def test_model_content_changes_the_load_key(models: Path) -> None:
    before = _plan("default", models=["aww"]).jobs[0].id
    (models / "aww" / "model.tflite").write_bytes(b"TFL3 changed")
    assert _plan("default", models=["aww"]).jobs[0].id != before
