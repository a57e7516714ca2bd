from __future__ import annotations

import json
from pathlib import Path

import pytest

from orchestrator.errors import ConfigError
from orchestrator.metrics.targets import (
    CompiledTarget,
    TargetError,
    load_compiled_target,
    load_target,
    target_names,
)

from .conftest import REPO, RUNS

SW = REPO / "sw"
EXPECTED = {"host_x86", "riscv_qemu", "mps3_an547", "mps2_an386", "mps2_an385"}


def test_every_target_file_validates() -> None:
    names = target_names(SW)
    assert EXPECTED <= set(names)
    for name in names:
        spec = load_target(name, SW)
        assert spec.name == name
        arch, variant = spec.variant()
        assert arch == spec.default_arch and variant.flags
        if spec.run.kind == "qemu":
            assert spec.memory.flash is not None and spec.memory.ram is not None
            # Flash and RAM must not overlap, or static memory could not be told apart.
            flash, ram = spec.memory.flash, spec.memory.ram
            assert flash.end <= ram.origin or ram.end <= flash.origin
            assert spec.memory.stack_size < spec.memory.ram.length


def test_memory_map_parses_hex_strings() -> None:
    spec = load_target("riscv_qemu", SW)
    raw = json.loads((SW / "targets" / "riscv_qemu.json").read_text())
    assert spec.memory.flash is not None
    assert spec.memory.flash.origin == int(raw["memory"]["flash"]["origin"], 16)
    assert spec.memory.flash.contains(spec.memory.flash.origin)
    assert not spec.memory.flash.contains(spec.memory.flash.end)


def test_variant_selection_follows_the_cmake_rules() -> None:
    spec = load_target("riscv_qemu", SW)
    name, variant = spec.variant("rv32imc", "ilp32")
    assert name == "rv32imc" and variant.qemu_cpu == "rv32,f=false,d=false,a=false"
    with pytest.raises(TargetError, match=r"no arch 'rv64gc' \(known: .*rv32gc"):
        spec.variant("rv64gc")
    with pytest.raises(TargetError, match="uses abi 'ilp32', not 'ilp32d'"):
        spec.variant("rv32imc", "ilp32d")


def test_the_vector_variant_names_its_model_compiler() -> None:
    """rv32gcv: GCC keeps rv32gc for the harness and the link (Debian's picolibc has no rv32gcv
    multilib), clang gets the V extension for the model code."""
    _, variant = load_target("riscv_qemu", SW).variant("rv32gcv")
    assert "-march=rv32gc" in variant.flags and "-DMCUORCH_RISCV_VECTOR=1" in variant.flags
    assert variant.model_compiler is not None and variant.model_compiler.command == "clang-16"
    assert "-march=rv32gcv" in variant.model_compiler.flags and variant.model_compiler.image == "llvm-riscv"
    assert variant.qemu_cpu is not None and "v=true" in variant.qemu_cpu
    assert all(v.model_compiler is None for name, v in load_target("riscv_qemu", SW).arch_variants.items()
               if name != "rv32gcv")


def test_unknown_target_lists_the_known_ones() -> None:
    with pytest.raises(TargetError, match=r"unknown target 'vax' \(known: .*host_x86, .*riscv_qemu"):
        load_target("vax", SW)
    assert issubclass(TargetError, ConfigError)  # a user mistake: one line, no traceback


def _write_target(tmp_path: Path, data: dict[str, object]) -> Path:
    (tmp_path / "targets").mkdir()
    (tmp_path / "targets" / f"{data['name']}.json").write_text(json.dumps(data))
    return tmp_path


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d["memory"].update(ram=None), "give both flash and ram"),
        (lambda d: d["memory"]["flash"].update(origin="0xZZ"), "memory.flash.origin"),
        (lambda d: d.update(default_arch="rv99"), "default_arch 'rv99'"),
        (lambda d: d["run"].update(board=None), "needs a board"),
        (lambda d: d.update(surprise=1), "surprise"),
        (lambda d: d["arch_variants"]["rv32gcv"]["model_compiler"].pop("image"), "model_compiler.image"),
    ],
)
def test_broken_target_files_give_one_line(tmp_path: Path, change, message: str) -> None:
    data = json.loads((SW / "targets" / "riscv_qemu.json").read_text())
    change(data)
    sw = _write_target(tmp_path, data)
    with pytest.raises(TargetError, match=message) as info:
        load_target("riscv_qemu", sw)
    assert "\n" not in str(info.value)


def test_compile_output_records_the_choices() -> None:
    compiled = load_compiled_target(RUNS / "riscv_qemu_rv32imc")
    assert isinstance(compiled, CompiledTarget)
    assert (compiled.arch, compiled.abi) == ("rv32imc", "ilp32")
    assert compiled.qemu_cpu == "rv32,f=false,d=false,a=false"
    assert compiled.validation == "exact" and compiled.optimize == "2"
    argmax = load_compiled_target(RUNS / "mps2_an385_argmax_mismatch")
    assert argmax.validation == "argmax" and argmax.qemu_cpu is None
