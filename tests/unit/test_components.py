"""Built-in components produce the argv of docs/architecture.md; plugins load."""

from __future__ import annotations

from pathlib import Path

import pytest

from orchestrator.components.base import Kind, Stage, StageContext
from orchestrator.components.facts import target_facts
from orchestrator.components.registry import Registry, builtin_registry, load_plugins
from orchestrator.components.targets import TargetConfig
from orchestrator.environment import load_environment
from orchestrator.errors import UserError
from orchestrator.matrix import MatrixBuilder, MatrixRequest
from orchestrator.paths import project_paths
from orchestrator.runspec import RunSpec


@pytest.fixture
def run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    def make(target: str = "riscv_qemu", **request: object) -> RunSpec:
        folder = tmp_path / "models" / "aww"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "model.tflite").write_bytes(b"TFL3")
        (folder / "definition.yml").write_text("inputs: []\n")
        monkeypatch.setenv("MCUORCH_MODELS", str(tmp_path / "models"))
        builder = MatrixBuilder(load_environment("default"), builtin_registry())
        return builder.expand(MatrixRequest(models=["aww"], targets=[target], **request))[0]
    return make


def _ctx(run: RunSpec, tmp_path: Path) -> StageContext:
    inputs = {s.value: tmp_path / s.value for s in Stage.jobs()}
    return StageContext(run=run, config=run.configs, inputs=inputs, out=tmp_path / "OUT", project=project_paths())


def test_stage_argv_follow_the_contracts(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    spec = run("riscv_qemu", config=["mlif.validate=atol", "mlif.atol=2", "tflite.num_vectors=3"])
    ctx = _ctx(spec, tmp_path)
    load = spec.components["frontend"].job(ctx)
    assert load.image == "tflite"
    assert load.argv == ["mcuorch-load", "--model", str(spec.model.path), "--definition", str(spec.model.definition),
                         "--num-vectors", "3", "--out", str(tmp_path / "OUT")]
    build = spec.components["backend"].job(ctx)
    assert build.image == "tvm" and build.argv == [
        "mcuorch-tvmaot", "--model", str(tmp_path / "LOAD/model.tflite"), "--meta", str(tmp_path / "LOAD/model.json"),
        "--out", str(tmp_path / "OUT"), "--isa", "rv32gc"]
    compile_ = spec.components["platform"].job(ctx)
    sw = project_paths().sw
    assert compile_.image == "gnu-riscv" and compile_.argv == [
        "sh", str(sw / "compile.sh"), "--target", "riscv_qemu", "--codegen", str(tmp_path / "BUILD/codegen"),
        "--golden", str(tmp_path / "LOAD/golden"), "--out", str(tmp_path / "OUT"), "--optimize", "2",
        "--validate", "atol", "--atol", "2", "--arch", "rv32gc"]
    assert set(compile_.inputs) == {tmp_path / "LOAD", tmp_path / "BUILD", sw}
    run_ = spec.components["target"].job(ctx)
    cpu = target_facts("riscv_qemu").get("arch_variants", {}).get("rv32gc", {}).get("qemu_cpu")
    assert run_.image == "qemu" and run_.argv == [
        "mcuorch-qemu-run", "--board", "virt", "--elf", str(tmp_path / "COMPILE/app.elf"),
        *(["--cpu", cpu] if cpu else []), "--out", str(tmp_path / "OUT")]
    assert not run_.network


def test_backend_options_only_when_changed(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    spec = run("host_x86", config=["tvmaot.opt_level=1"])
    argv = spec.components["backend"].job(_ctx(spec, tmp_path)).argv
    assert argv[-2:] == ["--opt-level", "1"]


def test_tvmaot_builds_for_the_target_isa(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """`tvmaot.isa=auto` passes the target's ISA (sw/targets facts; RISC-V: -march) as --isa and
    puts it into the BUILD key; an explicit value wins; a target without one builds generic C."""
    def build(target: str, *config: str) -> tuple[list[str], str]:
        spec = run(target, config=list(config))
        backend = spec.components["backend"]
        return backend.job(_ctx(spec, tmp_path)).argv, backend.key_config(spec)["tvmaot"]["isa"]

    assert build("mps3_an547")[0][-2:] == ["--isa", "cortex-m55+mve"]
    assert build("mps2_an386")[0][-2:] == ["--isa", "cortex-m4+dsp"]
    assert build("mps2_an385")[0][-2:] == ["--isa", "cortex-m3"]
    assert build("riscv_qemu", "riscv_qemu.arch=rv32imc")[0][-2:] == ["--isa", "rv32imc"]
    argv, key = build("host_x86")
    assert "--isa" not in argv and key == "generic"
    argv, key = build("mps3_an547", "tvmaot.isa=generic")
    assert "--isa" not in argv and key == "generic"
    argv, key = build("mps2_an386", "tvmaot.isa=cortex-m55+mve")
    assert argv[-2:] == ["--isa", "cortex-m55+mve"] and key == "cortex-m55+mve"
    assert len({build(t)[1] for t in ("mps3_an547", "mps2_an386", "riscv_qemu", "host_x86")}) == 4


def test_arm_boards_and_host(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    for target, board, toolchain in (("mps3_an547", "mps3-an547", "gnu-arm"), ("mps2_an386", "mps2-an386", "gnu-arm"),
                                     ("mps2_an385", "mps2-an385", "gnu-arm")):
        spec = run(target)
        assert spec.components["target"].job(_ctx(spec, tmp_path)).argv[1:3] == ["--board", board]
        assert spec.components["platform"].image(spec, spec.configs) == toolchain
    host = run("host_x86")
    job = host.components["target"].job(_ctx(host, tmp_path))
    assert job.argv == [str(tmp_path / "COMPILE/app.elf")] and job.image == "host"
    assert job.accepted_exit_codes == frozenset({0, 0x10, 0x11, 0x12})


def test_timeouts_never_enter_keys() -> None:
    assert "timeout_sec" not in TargetConfig.output_keys()
    for kind in Kind:
        for name in builtin_registry().names(kind):
            assert "timeout_sec" not in builtin_registry().get(kind, name).Config.output_keys()


def test_plugins_from_variable(tmp_path: Path) -> None:
    plugin = tmp_path / "myplugin.py"
    plugin.write_text(
        "from orchestrator.components import Feature\n"
        "class Fast(Feature):\n    name = 'fast'\n    sets = {'mlif.optimize': '3'}\n"
        "def register(registry):\n    registry.register(Fast)\n")
    registry = builtin_registry()
    load_plugins(registry, env_value=f" {plugin} ,")
    assert registry.has(Kind.FEATURE, "fast")
    with pytest.raises(UserError, match="cannot import plugin 'no_such_module_x'"):
        load_plugins(Registry(), env_value="no_such_module_x")
    (tmp_path / "empty.py").write_text("x = 1\n")
    with pytest.raises(UserError, match="has no register"):
        load_plugins(Registry(), env_value=str(tmp_path / "empty.py"))
