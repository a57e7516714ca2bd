"""mcuorch-qemu-run --trace-memory with the image's plugin on the tiny model: the traced stack
figure equals the store watch's (today's `RAM stack`) exactly, the trace changes no count, and
known heap and arena use is measured to the byte."""

from __future__ import annotations

from pathlib import Path

import pytest

from .conftest import Built, compile_sw, run_qemu, tiny_build, variant_codegen

TARGETS = ["riscv_qemu", "mps3_an547"]
MALLOC_BYTES = 3000
# malloc's own bookkeeping (a size word and alignment) above the block, at most
HEAP_SLACK = 32

ARENA_VARIANT = f"""
#include <stdint.h>
#include <stdlib.h>
static uint8_t mcuorch_arena[1024] __attribute__((aligned(16)));
static void *volatile kept;

static void fill(unsigned from, unsigned n)
{{
    volatile uint8_t *arena = mcuorch_arena;
    for (unsigned i = 0; i < n; i++)
        arena[from + i] = (uint8_t)(i + 1);
}}
"""
INIT = f"""    fill(1000, 8);
    volatile uint8_t *block = malloc({MALLOC_BYTES});
    if (block == 0)
        return 1;
    block[{MALLOC_BYTES} - 1] = 1;
    kept = (void *)block;
    return tiny_init();"""
INVOKE = "    fill(16, 100);\n    return tiny_invoke();"


@pytest.mark.parametrize("target", TARGETS)
def test_traced_stack_equals_the_watch_and_counts_are_unchanged(target: str, tiny_builds: dict[str, Built],
                                                               plugin: Path, tmp_path: Path) -> None:
    built = tiny_build(tiny_builds, target)
    plain = run_qemu(built, tmp_path / "plain", plugin)
    traced = run_qemu(built, tmp_path / "traced", plugin, "--trace-memory")
    assert traced.returncode == 0 and traced.exit_code == 0, traced.stderr
    counts, before = traced.counts, plain.counts
    assert counts["total_instructions"] == before["total_instructions"]
    assert counts["regions"] == before["regions"]
    trace = counts["memtrace"]
    assert trace["stack"]["high_water"] == before["stack"]["high_water"] == counts["stack"]["high_water"] > 0
    assert 0 < trace["stack"]["region_high_water"] <= trace["stack"]["high_water"]
    assert trace["heap"]["high_water"] == 0 and trace["heap"]["end_touched"] is None  # nothing mallocs
    assert "arena" not in trace  # the tiny model has no static arena
    # QEMU 7.2 also calls a store-only callback for loads; the watch checks, so with or without
    # the trace it counts the same stores to the stack span, a part of all the trace's stores
    assert counts["stack"]["stores"] == before["stack"]["stores"] <= trace["stores"]
    assert "memtrace" not in before


@pytest.mark.parametrize("target", TARGETS)
def test_heap_and_arena_use_is_measured(target: str, plugin: Path, tmp_path: Path) -> None:
    codegen = variant_codegen(tmp_path, ARENA_VARIANT, invoke=INVOKE, init=INIT)
    compile_sw(target, tmp_path / "c", codegen)
    ran = run_qemu(Built(target, tmp_path / "c"), tmp_path / "r", plugin, "--trace-memory")
    assert ran.returncode == 0 and ran.exit_code == 0, ran.stderr
    trace = ran.counts["memtrace"]
    arena = trace["arena"]
    assert arena["size"] == 1024
    assert arena["touched"] == 108 and arena["region_touched"] == 100  # init's 8 bytes are Setup
    heap = trace["heap"]
    assert MALLOC_BYTES <= heap["high_water"] <= MALLOC_BYTES + HEAP_SLACK
    assert heap["region_high_water"] == 0  # malloc ran in Setup only
