"""mcuorch-qemu-run and mcuorch-host-run: outputs, exit statuses and failure handling."""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import pytest

from orchestrator.metrics import load_target, target_names

from .conftest import (
    QEMU_IMAGE,
    SW,
    Built,
    compile_sw,
    compiler_image,
    need_tools,
    qemu_runner,
    run_host,
    run_qemu,
    tiny_build,
    tool,
    variant_codegen,
)

# The runner's own modules (standard library only), imported without leaving bytecode behind.
sys.path.insert(0, str(QEMU_IMAGE))
_write_bytecode, sys.dont_write_bytecode = sys.dont_write_bytecode, True
from mcuorch_qemu.boards import BOARDS
from mcuorch_qemu.elf import read_elf

sys.dont_write_bytecode = _write_bytecode

MARKERS = ["mcuorch_setup_begin", "mcuorch_setup_end", "mcuorch_run_begin", "mcuorch_run_end"]


def test_every_qemu_target_names_a_known_board() -> None:
    for name in target_names(SW):
        spec = load_target(name, SW)
        if spec.run.kind == "qemu":
            assert spec.run.board in BOARDS


@pytest.mark.parametrize("target", ["riscv_qemu", "mps3_an547"])
def test_elf_reader_agrees_with_nm(target: str, tiny_builds: dict[str, Built]) -> None:
    built = tiny_build(tiny_builds, target)
    nm = load_target(target, SW).compiler.replace("gcc", "nm")
    listing = tool(compiler_image(target), [nm, str(built.elf)], check=True).stdout
    from_nm = {parts[2]: int(parts[0], 16) for parts in map(str.split, listing.splitlines())
               if len(parts) == 3}
    image = read_elf(built.elf)
    for name in MARKERS + ["__stack", "mcuorch_golden_blob"]:
        value = image.symbol(name)
        # nm prints Thumb functions with bit 0 set; the plugin needs instruction addresses.
        assert value == from_nm[name] & ~1, name
    assert len({image.symbol(m) for m in MARKERS}) == 4  # no two markers were merged


def test_counts_do_not_depend_on_the_elf_path(tiny_builds: dict[str, Built], plugin: Path,
                                              tmp_path: Path) -> None:
    """The program sees a fixed command line, so the path length cannot change the count."""
    built = tiny_build(tiny_builds, "mps2_an386")
    deep = tmp_path / ("x" * 60) / ("y" * 60)
    deep.mkdir(parents=True)
    shutil.copytree(built.out, deep / "c")
    a = run_qemu(built, tmp_path / "a", plugin)
    b = run_qemu(Built("mps2_an386", deep / "c"), tmp_path / "b", plugin)
    assert a.counts["total_instructions"] == b.counts["total_instructions"]


def test_run_record_and_outputs(tiny_builds: dict[str, Built], plugin: Path, tmp_path: Path) -> None:
    built = tiny_build(tiny_builds, "riscv_qemu")
    ran = run_qemu(built, tmp_path / "r", plugin)
    assert ran.returncode == 0
    assert sorted(p.name for p in ran.out.iterdir()) == ["counts.json", "exit_code", "qemu.log",
                                                          "run.json", "stdout.txt"]
    record = json.loads((ran.out / "run.json").read_text())
    assert record["argv"][0] == "qemu-system-riscv32" and "-icount" in record["argv"]
    assert record["count_mode"] == "inline" and record["returncode"] == 0
    image = read_elf(built.elf)
    assert record["regions"]["run"] == [hex(image.symbol("mcuorch_run_begin")),
                                         hex(image.symbol("mcuorch_run_end"))]
    stack = ran.counts["stack"]
    assert int(stack["high"], 16) == image.symbol("__stack")
    assert int(stack["low"], 16) < int(stack["lowest_store"], 16) < int(stack["high"], 16)


def test_without_the_plugin(tiny_builds: dict[str, Built], plugin: Path, tmp_path: Path) -> None:
    built = tiny_build(tiny_builds, "mps2_an385")
    ran = run_qemu(built, tmp_path / "r", plugin, "--no-plugin")
    assert ran.returncode == 0 and ran.exit_code == 0 and ran.counts_path is None
    assert "MLONMCU EXIT: 0" in ran.stdout


@pytest.mark.parametrize("target", ["riscv_qemu", "mps2_an386"])
def test_a_trapping_program_ran_to_its_end(target: str, plugin: Path, tmp_path: Path) -> None:
    """A fault ends the program through picolibc's trap handler: the runner reports the exit
    code (1) and leaves judging it to the host."""
    need_tools(target)
    codegen = variant_codegen(tmp_path, "", invoke="    __builtin_trap();")
    compile_sw(target, tmp_path / "c", codegen)
    ran = run_qemu(Built(target, tmp_path / "c"), tmp_path / "r", plugin)
    assert ran.returncode == 0 and ran.exit_code == 1
    assert "fault" in ran.stdout and "MLONMCU EXIT" not in ran.stdout
    assert ran.counts["regions"]["run"]["open"] is True


def test_timeout_kills_an_endless_program(plugin: Path, tmp_path: Path) -> None:
    target = "riscv_qemu"
    need_tools(target)
    codegen = variant_codegen(tmp_path, "", invoke="    for (;;) { __asm__ volatile(\"\"); }")
    compile_sw(target, tmp_path / "c", codegen)
    ran = run_qemu(Built(target, tmp_path / "c"), tmp_path / "r", plugin, "--timeout", "2")
    assert ran.returncode == 124
    assert ran.stderr.strip().endswith("did not finish within 2 s")
    assert sorted(p.name for p in ran.out.iterdir()) == ["qemu.log", "stdout.txt"]


@pytest.mark.parametrize(("board", "message"), [
    ("mps2-an505", "unknown board 'mps2-an505' (known: mps2-an385, mps2-an386, mps3-an547, spike, virt)"),
    ("virt", "board 'virt' cannot run a 32-bit ELF for machine 40"),
])
def test_board_errors(board: str, message: str, tiny_builds: dict[str, Built], plugin: Path,
                      tmp_path: Path) -> None:
    built = tiny_build(tiny_builds, "mps2_an386")
    proc = qemu_runner("--board", board, "--elf", str(built.elf), "--out", str(tmp_path / "r"),
                       plugin=plugin)
    assert proc.returncode == 2 and proc.stderr.strip() == f"error: {message}"


def test_missing_plugin_is_a_usage_error(tiny_builds: dict[str, Built], tmp_path: Path) -> None:
    built = tiny_build(tiny_builds, "mps2_an386")
    ran = run_qemu(built, tmp_path / "r", tmp_path / "nowhere.so")
    assert ran.returncode == 2 and "instruction-count plugin" in ran.stderr


def test_qemu_failure_is_not_a_program_result(tiny_builds: dict[str, Built], plugin: Path,
                                              tmp_path: Path) -> None:
    built = tiny_build(tiny_builds, "mps2_an386")
    ran = run_qemu(built, tmp_path / "r", plugin, "--cpu", "cortex-z9")
    assert ran.returncode == 3
    assert sorted(p.name for p in ran.out.iterdir()) == ["qemu.log", "run.json", "stdout.txt"]
    assert ran.stderr.startswith("error: QEMU ended (exit code 1) without the plugin's result: "
                                 "qemu-system-arm: unable to find CPU model 'cortex-z9'")


def test_host_runner(tiny_builds: dict[str, Built], tmp_path: Path) -> None:
    built = tiny_build(tiny_builds, "host_x86")
    ran = run_host(built, tmp_path / "r")
    assert ran.returncode == 0 and ran.exit_code == 0
    assert json.loads((ran.out / "run.json").read_text())["wall_time_s"] > 0
    codegen = variant_codegen(tmp_path, "#include <stdlib.h>\n", invoke="    abort();")
    compile_sw("host_x86", tmp_path / "c", codegen)
    crashed = run_host(Built("host_x86", tmp_path / "c"), tmp_path / "r2")
    assert crashed.returncode == 3 and "killed by signal 6" in crashed.stderr
    assert not (crashed.out / "exit_code").exists()
