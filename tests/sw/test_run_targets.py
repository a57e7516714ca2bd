"""The tiny model compiled and run on every target, judged by the host-side metrics code."""

from __future__ import annotations

from pathlib import Path

import pytest

from orchestrator.components import collectors
from orchestrator.errors import CollectError
from orchestrator.metrics import elf_metrics, load_target, run_metrics

from .conftest import (
    EXIT_MISMATCH,
    GOLDEN,
    QEMU_TARGETS,
    SW,
    TARGETS,
    TINY,
    Built,
    compile_sw,
    golden_copy,
    need_tools,
    run_target,
    tiny_build,
    tool,
    variant_codegen,
)


def golden_section_size(golden: Path, vectors: int, inputs: int, outputs: int) -> int:
    """Layout written by sw/cmake/golden.cmake: tensors 16-byte aligned, then a 4-byte aligned
    table of (offset, size) words per tensor."""
    offset = 0
    for v in range(vectors):
        for kind, count in (("input", inputs), ("output", outputs)):
            for i in range(count):
                offset = (offset + 15) // 16 * 16 + (golden / f"{kind}_{v}_{i}.bin").stat().st_size
    return (offset + 3) // 4 * 4 + 8 * vectors * (inputs + outputs)


@pytest.mark.parametrize("target", TARGETS)
def test_tiny_model_runs_and_validates(target: str, tiny_builds: dict[str, Built], plugin: Path,
                                       tmp_path: Path) -> None:
    built = tiny_build(tiny_builds, target)
    ran = run_target(built, tmp_path / "run", plugin)
    assert ran.returncode == 0, ran.stderr
    assert ran.exit_code == 0
    assert ran.stdout.splitlines()[0] == "Program start."
    assert ran.stdout.rstrip().endswith("MLONMCU EXIT: 0")

    metrics = collectors.run_metrics(ran.stdout, ran.exit_code, ran.counts_path, target)
    assert metrics["Validation"] is True
    assert metrics["Validation Mismatches"] == 0 and metrics["Validation Max Diff"] == 0
    assert metrics["Inferences"] == 3
    stack_size = load_target(target, SW).memory.stack_size
    assert 64 <= metrics["RAM stack"] < stack_size  # frames of main, printf and the model
    if target == "host_x86":
        assert metrics["Total Runtime [s]"] > 0 and metrics["Run Runtime [s]"] > 0
        assert not any("Instructions" in name for name in metrics)
    else:
        counts = ran.counts
        run = counts["regions"]["run"]
        assert run["entries"] == 3 and len(run["per_entry"]) == 3 and not run["open"]
        # Two int8 dense layers (16x8 and 8x4 MACs) take more than 1 and less than 20
        # instructions per MAC, plus requantization.
        assert 160 < metrics["Run Instructions"] < 20 * 160 + 1000
        assert metrics["Run Instructions"] == sum(run["per_entry"]) / 3
        assert 0 < metrics["Setup Instructions"] < 200
        assert metrics["Total Instructions"] > metrics["Setup Instructions"] + 3 * min(run["per_entry"])
        assert "Total Cycles" not in metrics

    static = elf_metrics(built.elf, target)
    assert static["ROM golden"] == golden_section_size(GOLDEN, 3, 2, 2)
    assert static["Total ROM"] == static["ROM code"] + static["ROM read-only"] + static["ROM misc"]
    assert static["ROM read-only"] >= 128 + 32 + 32 + 16  # the weights and biases alone


@pytest.mark.parametrize("target", QEMU_TARGETS)
def test_counts_are_identical_across_runs(target: str, tiny_builds: dict[str, Built], plugin: Path,
                                          tmp_path: Path) -> None:
    built = tiny_build(tiny_builds, target)
    first = run_target(built, tmp_path / "a", plugin)
    second = run_target(built, tmp_path / "b", plugin)
    assert first.returncode == second.returncode == 0
    assert first.counts == second.counts
    assert first.stdout == second.stdout


@pytest.mark.parametrize("target", QEMU_TARGETS)
def test_exact_count_modes_agree(target: str, tiny_builds: dict[str, Built], plugin: Path,
                                 tmp_path: Path) -> None:
    """Per-instruction inline adds (default) and per-instruction callbacks count the same;
    per-block adds agree inside the regions (they over-count only around MMIO accesses)."""
    built = tiny_build(tiny_builds, target)
    runs = {mode: run_target(built, tmp_path / mode, plugin, "--count-mode", mode).counts
            for mode in ("inline", "callback", "tb")}
    assert runs["inline"]["total_instructions"] == runs["callback"]["total_instructions"]
    assert runs["inline"]["regions"] == runs["callback"]["regions"] == runs["tb"]["regions"]
    assert 0 <= runs["tb"]["total_instructions"] - runs["inline"]["total_instructions"] < 64


@pytest.mark.parametrize("target", TARGETS)
def test_wrong_golden_output_is_a_mismatch(target: str, plugin: Path, tmp_path: Path) -> None:
    need_tools(target)
    expected = bytearray((GOLDEN / "output_1_0.bin").read_bytes())
    expected[3] ^= 0x01  # off by one in one element of vector 1
    golden = golden_copy(tmp_path, {"output_1_0.bin": bytes(expected)})
    compile_sw(target, tmp_path / "c", golden=golden)
    ran = run_target(Built(target, tmp_path / "c"), tmp_path / "r", plugin)
    assert ran.returncode == 0 and ran.exit_code == EXIT_MISMATCH
    assert "MLONMCU EXIT: 18" in ran.stdout
    metrics = collectors.run_metrics(ran.stdout, ran.exit_code, ran.counts_path, target)
    assert metrics["Validation"] is False
    assert metrics["Validation Mismatches"] == 1 and metrics["Validation Max Diff"] == 1
    assert run_metrics(ran.stdout, ran.counts_path, target)["Validation"] is False


def test_tolerance_and_argmax_modes(plugin: Path, tmp_path: Path) -> None:
    """An element off by one: exact fails, atol 1 passes, argmax passes while the largest
    element stays the largest."""
    target = "riscv_qemu"
    need_tools(target)
    expected = bytearray((GOLDEN / "output_0_1.bin").read_bytes())
    top = max(range(len(expected)), key=lambda k: int.from_bytes(expected[k:k + 1], "little", signed=True))
    other = (top + 1) % len(expected)
    expected[other] = (expected[other] - 1) % 256
    golden = golden_copy(tmp_path, {"output_0_1.bin": bytes(expected)})
    results = {}
    for mode, extra in (("exact", []), ("atol", ["--atol", "1"]), ("argmax", []), ("none", [])):
        compile_sw(target, tmp_path / mode, TINY, golden, "--validate", mode, *extra)
        ran = run_target(Built(target, tmp_path / mode), tmp_path / f"r_{mode}", plugin)
        results[mode] = (ran.exit_code, run_metrics(ran.stdout, ran.counts_path, target))
    assert results["exact"][0] == EXIT_MISMATCH and results["exact"][1]["Validation Mismatches"] == 1
    assert results["atol"][0] == 0 and results["atol"][1]["Validation Mismatches"] == 0
    assert results["atol"][1]["Validation Max Diff"] == 1 and results["atol"][1]["Validation"] is True
    assert results["argmax"][0] == 0 and results["argmax"][1]["Validation Argmax Mismatches"] == 0
    assert results["none"][0] == 0 and "Validation" not in results["none"][1]
    assert results["none"][1]["Validation Mismatches"] == 1  # still reported


@pytest.mark.parametrize("target", TARGETS)
def test_stack_high_water_sees_a_large_frame(target: str, tiny_builds: dict[str, Built],
                                             plugin: Path, tmp_path: Path) -> None:
    """A 6 KiB buffer on the stack of invoke shows up in `RAM stack` (painted thread on the
    host, store hook in QEMU), on top of what the plain tiny model needs."""
    built = tiny_build(tiny_builds, target)
    base = run_target(built, tmp_path / "base", plugin)
    base_stack = run_metrics(base.stdout, base.counts_path, target)["RAM stack"]
    codegen = variant_codegen(tmp_path, """
__attribute__((noinline)) static int deep(void)
{
    volatile unsigned char buffer[6144];
    for (unsigned i = 0; i < sizeof buffer; i += 64)
        buffer[i] = (unsigned char)i;
    return buffer[0];
}
""", invoke="    return deep() + tiny_invoke();")
    compile_sw(target, tmp_path / "c", codegen)
    ran = run_target(Built(target, tmp_path / "c"), tmp_path / "r", plugin)
    assert ran.exit_code == 0
    deep_stack = run_metrics(ran.stdout, ran.counts_path, target)["RAM stack"]
    assert 6144 <= deep_stack - base_stack + 256 and deep_stack < 6144 + base_stack + 512


def test_rv32imc_runs_on_a_core_without_f_d_a(plugin: Path, tmp_path: Path) -> None:
    need_tools("riscv_qemu")
    compile_sw("riscv_qemu", tmp_path / "c", TINY, GOLDEN, "--arch", "rv32imc", "--abi", "ilp32")
    built = Built("riscv_qemu", tmp_path / "c")
    assert built.facts["arch"] == "rv32imc"
    ran = run_target(built, tmp_path / "r", plugin)
    assert ran.exit_code == 0
    qemu_argv = (tmp_path / "r" / "run.json").read_text()
    assert "rv32,f=false,d=false,a=false" in qemu_argv


RVV_CHECK = """
#include <riscv_vector.h>
/* sum of squares of 37 bytes on the vector unit (a 64-lane strip, then the tail) against C */
static int vector_sum_is_right(void)
{
    static int8_t a[37];
    int32_t want = 0;
    for (int i = 0; i < 37; i++) {
        a[i] = (int8_t)(i * 7 - 100);
        want += a[i] * a[i];
    }
    vint32m1_t sum = __riscv_vmv_s_x_i32m1(0, 1);
    for (size_t i = 0, vl; i < 37; i += vl) {
        vl = __riscv_vsetvl_e8m4(37 - i);
        vint8m4_t v = __riscv_vle8_v_i8m4(a + i, vl);
        sum = __riscv_vwredsum_vs_i16m8_i32m1(__riscv_vwmul_vv_i16m8(v, v, vl), sum, vl);
    }
    return __riscv_vmv_x_s_i32m1_i32(sum) == want;
}
"""


def test_rv32gcv_builds_the_model_code_with_clang_and_runs_it_on_the_vector_unit(plugin: Path,
                                                                                 tmp_path: Path) -> None:
    """The model code (vector intrinsics) through clang in llvm-riscv, the harness through GCC
    with the vector unit switched on before main, QEMU's core with V: the tiny model validates."""
    need_tools("riscv_qemu")
    codegen = variant_codegen(tmp_path, RVV_CHECK, invoke="    return vector_sum_is_right() ? tiny_invoke() : 5;")
    out = tmp_path / "c"
    proc = tool("llvm-riscv", ["sh", str(SW / "compile.sh"), "--target", "riscv_qemu", "--codegen", str(codegen),
                               "--golden", str(GOLDEN), "--out", str(out), "--arch", "rv32gcv"])
    assert proc.returncode == 0, proc.stderr + (out / "compile.log").read_text()[-3000:]
    built = Built("riscv_qemu", out)
    assert built.facts["arch"] == "rv32gcv"
    assert "model/model.c.obj with clang-16" in (out / "compile.log").read_text()
    ran = run_target(built, tmp_path / "r", plugin)
    assert ran.exit_code == 0, ran.stdout
    assert "v=true" in (tmp_path / "r" / "run.json").read_text()
    assert run_metrics(ran.stdout, ran.counts_path, "riscv_qemu")["Validation"] is True


@pytest.mark.parametrize(("init", "invoke", "code", "message"), [
    ("    return 7;", None, 0x10, "mcuorch_model_init returned 7"),
    (None, "    return 3;", 0x10, "mcuorch_model_invoke returned 3 for vector 0"),
])
def test_model_errors_exit_0x10(plugin: Path, tmp_path: Path, init: str | None, invoke: str | None,
                                code: int, message: str) -> None:
    target = "mps2_an385"
    need_tools(target)
    codegen = variant_codegen(tmp_path, "", invoke=invoke, init=init)
    compile_sw(target, tmp_path / "c", codegen)
    ran = run_target(Built(target, tmp_path / "c"), tmp_path / "r", plugin)
    assert ran.returncode == 0 and ran.exit_code == code
    assert f"error: {message}" in ran.stdout
    with pytest.raises(CollectError, match="program exit code 16"):
        collectors.run_metrics(ran.stdout, ran.exit_code, ran.counts_path, target)


def test_golden_of_the_wrong_size_exits_0x11(plugin: Path, tmp_path: Path) -> None:
    target = "host_x86"
    need_tools(target)
    golden = golden_copy(tmp_path, {"input_2_1.bin": b"\x01\x02\x03"})
    compile_sw(target, tmp_path / "c", golden=golden)
    ran = run_target(Built(target, tmp_path / "c"), tmp_path / "r", plugin)
    assert ran.exit_code == 0x11
    assert "error: golden input 1 of vector 2 has 3 bytes, the model expects 4" in ran.stdout
    assert run_metrics(ran.stdout, None, target)["Inferences"] == 2
