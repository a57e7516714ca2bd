"""ROM split by origin on real programs: the tiny model compiled by sw/compile.sh for a RISC-V
board, an Arm board and the Linux host. The six buckets add up to `Total ROM` exactly, and each
holds what it should: the tiny model's 216 bytes of constants are its weights on every target."""

from __future__ import annotations

from pathlib import Path

import pytest

from orchestrator.components import collectors
from orchestrator.metrics import elf_metrics
from orchestrator.metrics.rom_split import COLUMNS
from orchestrator.program_size import program_size

from .conftest import compile_sw, need_tools, variant_codegen

TARGETS = ["riscv_qemu", "mps3_an547", "host_x86"]
TINY_WEIGHTS = 128 + 8 * 4 + 32 + 4 * 4 + 2 * 4
"""W1 int8[8x16], B1 int32[8], W2 int8[4x8], B2 int32[4], mcuorch_output_dtype int[2]."""


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    outs = {}
    for target in TARGETS:
        need_tools(target)
        outs[target] = tmp_path_factory.mktemp(f"rom_{target}")
        compile_sw(target, outs[target])
    return outs


@pytest.mark.parametrize("target", TARGETS)
def test_buckets_add_up_to_total_rom(built: dict[str, Path], target: str) -> None:
    out = built[target]
    assert (out / "app.map").is_file()  # compile.sh keeps the linker's map beside the ELF
    columns = collectors.compile_metrics(out / "app.elf", target)
    assert columns == elf_metrics(out / "app.elf", target, link_map=out / "app.map")
    split = {c: columns[c] for c in COLUMNS.values()}
    assert sum(split.values()) == columns["Total ROM"]
    assert split["ROM weights"] == TINY_WEIGHTS
    assert split["ROM kernels"] > 0 and split["ROM harness"] > 0
    assert split["ROM runtime"] == 0  # the tiny model is plain C: no framework runtime
    if target == "host_x86":
        assert split["ROM libc"] == 0  # glibc is a shared library
        assert split["ROM other"] > 500  # the dynamic linking tables (.dynsym, .plt, .got, ...)
    else:
        assert split["ROM libc"] > 1000  # picolibc's printf, memcpy, semihosting
        assert split["ROM other"] < 100  # alignment fill only


@pytest.mark.parametrize("target", TARGETS)
def test_symbols_carry_their_bucket(built: dict[str, Path], target: str) -> None:
    measured = program_size(built[target])
    bucket = {s.name: s.bucket for s in measured.symbols}
    assert bucket["mcuorch_model_invoke"] == "kernels"
    assert bucket["W1"] == "weights" and bucket["B2"] == "weights"
    assert bucket["main"] == "harness" and bucket["mcuorch_validation_add"] == "harness"
    if target != "host_x86":
        assert bucket["memcpy"] == "libc"
    sizes = [s.size for s in measured.symbols]
    assert sizes == sorted(sizes, reverse=True)
    assert measured.split is not None and measured.split.total == measured.memory.total_rom


def test_a_runtime_in_codegen_crt_is_runtime(tmp_path: Path) -> None:
    """microTVM's layout: C runtime sources in codegen/crt/ are linked as the framework runtime."""
    need_tools("riscv_qemu")
    call = "return tiny_invoke() + (rt_checksum((const unsigned char *)\"ab\", 2) < 0);"
    codegen = variant_codegen(tmp_path, "int rt_checksum(const unsigned char *p, int n);\n", invoke=call)
    (codegen / "crt").mkdir()
    (codegen / "crt" / "runtime.c").write_text(
        "static const unsigned char rt_table[64] = {1, 2, 3};\n"
        "int rt_checksum(const unsigned char *p, int n)\n"
        "{\n    int s = 0;\n    for (int i = 0; i < n; i++)\n        s += rt_table[p[i] & 63] * p[i];\n    return s;\n}\n")
    out = tmp_path / "out"
    compile_sw("riscv_qemu", out, codegen)
    columns = elf_metrics(out / "app.elf", "riscv_qemu", link_map=out / "app.map")
    assert columns["ROM runtime"] >= 64  # rt_table and rt_checksum
    assert columns["ROM weights"] == TINY_WEIGHTS  # the runtime's table is not the model's
    assert sum(columns[c] for c in COLUMNS.values()) == columns["Total ROM"]
    bucket = {s.name: s.bucket for s in program_size(out).symbols}
    assert bucket["rt_checksum"] == "runtime" and bucket["rt_table"] == "runtime"
