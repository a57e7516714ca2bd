"""sw/compile.sh: argument and input errors are one `error:` line with exit code 2; inputs and
the sw/ tree are only read."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from orchestrator.metrics import elf_metrics

from .conftest import (
    GOLDEN,
    SW,
    TINY,
    compile_script,
    compile_sw,
    compiler_image,
    golden_copy,
    need_tools,
    tool,
)


def tree_state(root: Path) -> dict[str, tuple[int, int]]:
    return {str(p.relative_to(root)): (p.stat().st_mtime_ns, p.stat().st_size)
            for p in root.rglob("*")}


@pytest.mark.parametrize(("options", "message"), [
    (["--target", "vax"], r"^error: unknown target 'vax' \(known: .*host_x86 mps2_an385 .*riscv_qemu.*\)$"),
    (["--optimize", "1"], r"^error: --optimize must be 2, 3 or s, not '1'$"),
    (["--validate", "close"], r"^error: --validate must be exact, atol, argmax or none, not 'close'$"),
    (["--atol", "-1"], r"^error: --atol must be a non-negative number, not '-1'$"),
    (["--atol", "1.2.3"], r"^error: --atol must be a non-negative number, not '1.2.3'$"),
    (["--bogus", "1"], r"^error: unknown argument '--bogus'$"),
    (["--arch", "rv64gc"],
     r"^error: target riscv_qemu has no arch 'rv64gc' \(known: rv32gc, rv32gcv, rv32imac, rv32imc\)$"),
    # the vector variant's model compiler is in llvm-riscv, not in the GNU image this runs in
    (["--arch", "rv32gcv"],
     r"^error: compiler clang-16 of arch rv32gcv \(target riscv_qemu\) not found on PATH$"),
    (["--arch", "rv32imc", "--abi", "ilp32d"],
     r"^error: arch rv32imc of target riscv_qemu uses abi 'ilp32', not 'ilp32d'$"),
])
def test_user_errors(tmp_path: Path, options: list[str], message: str) -> None:
    need_tools("riscv_qemu")
    argv = ["--target", "riscv_qemu", "--codegen", str(TINY), "--golden", str(GOLDEN),
            "--out", str(tmp_path / "out")]
    for i in range(0, len(options), 2):  # later options replace earlier ones of the same name
        if options[i] in argv:
            argv[argv.index(options[i]) + 1] = options[i + 1]
        else:
            argv += options[i:i + 2]
    proc = compile_script("riscv_qemu", argv)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and re.match(message, lines[0]), proc.stderr


def test_golden_vectors_must_be_complete(tmp_path: Path) -> None:
    need_tools("host_x86")
    golden = golden_copy(tmp_path)
    (golden / "output_2_1.bin").unlink()
    (golden / "output_2_0.bin").unlink()
    proc = compile_sw("host_x86", tmp_path / "out", TINY, golden, check=False)
    assert proc.returncode == 2
    assert proc.stderr.strip() == (f"error: golden directory {golden} has 3 input vectors but 2 "
                                   "output vectors")
    (golden / "output_2_0.bin").write_bytes(b"\0" * 8)
    proc = compile_sw("host_x86", tmp_path / "out", TINY, golden, check=False)
    assert proc.returncode == 2
    assert proc.stderr.strip() == f"error: golden directory {golden} lacks output_2_1.bin"


def test_codegen_without_the_model_header(tmp_path: Path) -> None:
    (tmp_path / "codegen").mkdir()
    proc = compile_sw("host_x86", tmp_path / "out", tmp_path / "codegen", GOLDEN, check=False)
    assert proc.returncode == 2 and "has no mcuorch_model.h" in proc.stderr


def test_build_failure_is_reported_with_the_compiler_error(tmp_path: Path) -> None:
    need_tools("host_x86")
    codegen = tmp_path / "codegen"
    codegen.mkdir()
    (codegen / "mcuorch_model.h").write_text((TINY / "mcuorch_model.h").read_text())
    (codegen / "broken.c").write_text("int mcuorch_model_init(void) { return undeclared; }\n")
    proc = compile_sw("host_x86", tmp_path / "out", codegen, GOLDEN, check=False)
    assert proc.returncode == 1
    assert proc.stderr.startswith("error: build failed for target host_x86:") and "undeclared" in proc.stderr
    assert "undeclared" in (tmp_path / "out" / "compile.log").read_text()


def test_golden_data_that_overflows_flash_fails_the_link(tmp_path: Path) -> None:
    """AN547's 512 KiB ITCM cannot hold 600 KB of golden data: the linker says so."""
    need_tools("mps3_an547")
    golden = golden_copy(tmp_path)
    for v in range(3, 6):
        for name in ("input_{}_0", "input_{}_1", "output_{}_0", "output_{}_1"):
            src = golden / (name.format(v % 3) + ".bin")
            (golden / (name.format(v) + ".bin")).write_bytes(src.read_bytes())
    (golden / "input_5_0.bin").write_bytes(b"\0" * 600_000)
    proc = compile_sw("mps3_an547", tmp_path / "out", TINY, golden, check=False)
    assert proc.returncode == 1 and "overflow" in proc.stderr


def test_inputs_and_sw_are_only_read(tmp_path: Path) -> None:
    need_tools("riscv_qemu")
    before = {root: tree_state(root) for root in (SW, TINY, GOLDEN)}
    compile_sw("riscv_qemu", tmp_path / "out")
    compile_sw("riscv_qemu", tmp_path / "out", TINY, GOLDEN, "--optimize", "s")  # reconfigure
    assert {root: tree_state(root) for root in (SW, TINY, GOLDEN)} == before
    outputs = sorted(p.name for p in (tmp_path / "out").iterdir())
    assert outputs == ["app.elf", "app.map", "build", "compile.log", "target.json"]


def test_optimisation_level_reaches_the_compiler(tmp_path: Path) -> None:
    need_tools("mps2_an386")
    sizes = {}
    for level in ("3", "s"):
        out = tmp_path / level
        compile_sw("mps2_an386", out, TINY, GOLDEN, "--optimize", level)
        commands = tool(compiler_image("mps2_an386"),
                        ["ninja", "-C", str(out / "build"), "-t", "commands", "app.elf"], check=True).stdout
        assert f" -O{level} " in commands
        sizes[level] = elf_metrics(out / "app.elf", "mps2_an386")["ROM code"]
    assert sizes["s"] < sizes["3"]
