"""Target `spike` bare metal and under the proxy kernel (`spike.pk`): which target software the
COMPILE stage builds, and how the RUN stage and its runner start Spike."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from orchestrator.components.base import Stage, StageContext
from orchestrator.components.registry import builtin_registry
from orchestrator.environment import load_environment
from orchestrator.errors import ConfigError
from orchestrator.matrix import MatrixBuilder, MatrixRequest
from orchestrator.metrics.targets import load_target
from orchestrator.paths import project_paths
from orchestrator.runspec import RunSpec

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "images" / "tumeda-spike"))
from mcuorch_spike import run as runner  # noqa: E402


def _spike(models: Path, *config: str) -> RunSpec:
    builder = MatrixBuilder(load_environment("tumeda"), builtin_registry())
    return builder.expand(MatrixRequest(models=["aww"], backends=["tvmaot"], targets=["spike"], config=list(config)))[0]


def _ctx(run: RunSpec, tmp_path: Path) -> StageContext:
    inputs = {s.value: tmp_path / s.value for s in Stage.jobs()}
    return StageContext(run=run, config=run.configs, inputs=inputs, out=tmp_path / "OUT", project=project_paths())


def _after(argv: list[str], option: str) -> str:
    return argv[argv.index(option) + 1]


def test_pk_only_when_asked(models: Path, tmp_path: Path) -> None:
    bare = _spike(models)
    ctx = _ctx(bare, tmp_path)
    run_argv = bare.components["target"].job(ctx).argv
    assert run_argv[0] == "mcuorch-spike-run" and "--pk" not in run_argv
    assert _after(run_argv, "--isa") == "rv32gc" and _after(run_argv, "--memory") == "0x80000000:0x2000000"
    assert _after(bare.components["platform"].job(ctx).argv, "--target") == "spike"

    pk = _spike(models, "spike.pk=1")
    ctx = _ctx(pk, tmp_path)
    run_argv = pk.components["target"].job(ctx).argv
    assert "--pk" in run_argv and "--memory" not in run_argv and _after(run_argv, "--isa") == "rv32gc"
    compile_argv = pk.components["platform"].job(ctx).argv
    assert _after(compile_argv, "--target") == "spike_pk" and _after(compile_argv, "--arch") == "rv32gc"
    # A different program: the key enters COMPILE (and so every later stage).
    assert pk.components["platform"].key_config(pk) != bare.components["platform"].key_config(bare)

    # pk itself needs the A extension: an rv32imc program runs on an rv32imac Spike.
    imc = _spike(models, "spike.pk=1", "spike.arch=rv32imc")
    assert _after(imc.components["target"].job(_ctx(imc, tmp_path)).argv, "--isa") == "rv32imac"


@pytest.mark.parametrize("value", ["maybe", "2", ""])
def test_bad_pk_values_are_one_line_errors(models: Path, value: str) -> None:
    with pytest.raises(ConfigError, match=f"invalid value '{value}' for spike.pk"):
        _spike(models, f"spike.pk={value}")


def test_pk_memory_map_is_pk_user_space() -> None:
    """pk maps user programs below 0x80000000 (its own kernel space), not in the first page."""
    spec = load_target("spike_pk", REPO / "sw")
    assert spec.platform == "pk" and spec.memory.flash is not None and spec.memory.ram is not None
    assert 0x10000 <= spec.memory.flash.origin and spec.memory.ram.end <= 0x7f000000
    assert set(spec.arch_variants) == set(load_target("spike", REPO / "sw").arch_variants)


def test_runner_starts_pk_only_with_the_flag(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(runner.shutil, "which", lambda name: f"/opt/spike/bin/{name}")
    pk, elf = tmp_path / "pk", tmp_path / "app.elf"
    pk.write_bytes(b"")
    common = ["--elf", str(elf), "--out", str(tmp_path / "out")]
    bare = runner.parse_args([*common, "--isa", "rv32imc", "--memory", "0x80000000:0x2000000"])
    assert runner.spike_argv(bare, pk) == ["/opt/spike/bin/spike", "--isa=rv32imc", "-m0x80000000:0x2000000", str(elf)]
    user = runner.parse_args([*common, "--isa", "rv32gc", "--pk"])
    assert runner.spike_argv(user, pk) == ["/opt/spike/bin/spike", "--isa=rv32gc", str(pk), "-p", str(elf)]
    for isa in ("rv32imc", "rv64gc"):
        with pytest.raises(runner.UsageError, match="needs rv32 with A and C"):
            runner.spike_argv(runner.parse_args([*common, "--isa", isa, "--pk"]), pk)
    with pytest.raises(runner.UsageError, match="missing from this image"):
        runner.spike_argv(user, tmp_path / "none")
