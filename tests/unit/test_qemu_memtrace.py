"""The QEMU memory trace's pure parts: the spans mcuorch-qemu-run derives from an ELF's symbols
(images/qemu/mcuorch_qemu/memtrace.py), counts.json's `memtrace` as report columns, and the
feature `trace` reaching the QEMU targets' RUN argv."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from orchestrator.components.registry import builtin_registry
from orchestrator.environment import load_environment
from orchestrator.matrix import MatrixBuilder, MatrixRequest
from orchestrator.metrics.counts import load_counts

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "images" / "qemu"))
from mcuorch_qemu.elf import ElfImage  # noqa: E402
from mcuorch_qemu.memtrace import LayoutError, trace_layout  # noqa: E402

# riscv_qemu's layout for the tiny model (sw/ld wrapper: RAM 16 MiB at 0x81000000, 16 KiB stack)
BASE = {"__stack": 0x82000000, "__stack_size": 0x4000, "__bss_end": 0x81000580}


def _image(symbols: dict[str, int], sizes: dict[str, int] | None = None) -> ElfImage:
    return ElfImage(32, 243, (), symbols, (), sizes or {})


def test_spans_without_malloc_follow_picolibc_ld() -> None:
    layout = trace_layout(_image(BASE))
    assert layout.stack == (0x81FFC000, 0x82000000)
    assert layout.heap == (0x81000580, 0x81FFC000)  # __bss_end up to the stack reservation
    assert layout.arena is None
    assert layout.plugin_args() == ["trace_stack=81ffc000:82000000", "trace_region=run",
                                    "trace_heap=81000580:81ffc000"]


def test_heap_symbols_and_the_arena_are_used_when_present() -> None:
    symbols = {**BASE, "__heap_start": 0x81000600, "__heap_end": 0x81FF0000, "mcuorch_arena": 0x81000100}
    layout = trace_layout(_image(symbols, {"mcuorch_arena": 0x400}))
    assert layout.heap == (0x81000600, 0x81FF0000)
    assert layout.arena == (0x81000100, 0x81000500)
    assert "trace_arena=81000100:81000500" in layout.plugin_args()
    assert layout.describe()["arena"] == ["0x81000100", "0x81000500"]


def test_an_elf_without_stack_symbols_is_refused() -> None:
    with pytest.raises(LayoutError, match="__stack_size"):
        trace_layout(_image({"__stack": 0x82000000}))


MEMTRACE = {"region": "run", "region_known": True, "loads": 10, "stores": 7,
            "stack": {"low": "0x81ffc000", "high": "0x82000000", "lowest_write": "0x81ffff00",
                      "high_water": 256, "region_high_water": 160},
            "heap": {"low": "0x81000580", "high": "0x81ffc000", "end_touched": None,
                     "high_water": 0, "region_high_water": 0},
            "arena": {"low": "0x81000100", "high": "0x81000500", "size": 1024, "touched": 900,
                      "region_touched": 800}}


def _counts(tmp_path: Path, memtrace: dict | None) -> Path:
    data = {"format": "mcuorch-insncount-1", "qemu_target": "riscv32", "mode": "inline",
            "total_instructions": 100, "regions": {},
            "stack": {"low": "0x81004580", "high": "0x82000000", "lowest_store": "0x81ffff10",
                      "high_water": 240, "stores": 3}}
    if memtrace is not None:
        data["memtrace"] = memtrace
    path = tmp_path / "counts.json"
    path.write_text(json.dumps(data))
    return path


def test_memtrace_gives_etiss_column_names_and_run_figures(tmp_path: Path) -> None:
    cols = load_counts(_counts(tmp_path, MEMTRACE)).columns()
    assert cols["RAM stack"] == 256  # the traced span's figure replaces the watch's 240
    assert cols["RAM heap"] == 0 and cols["Arena Touched"] == 900
    assert cols["Run RAM stack"] == 160 and cols["Run RAM heap"] == 0 and cols["Run Arena Touched"] == 800
    assert load_counts(_counts(tmp_path, None)).columns()["RAM stack"] == 240
    assert "RAM heap" not in load_counts(_counts(tmp_path, None)).columns()


def test_untraced_spans_and_an_unknown_region_give_no_columns(tmp_path: Path) -> None:
    partial = {**MEMTRACE, "region_known": False}
    del partial["arena"]
    cols = load_counts(_counts(tmp_path, partial)).columns()
    assert "Arena Touched" not in cols and not any(c.startswith("Run RAM") for c in cols)
    assert cols["RAM stack"] == 256


@pytest.mark.parametrize("target", ["riscv_qemu", "mps3_an547", "mps2_an386", "mps2_an385"])
def test_feature_trace_turns_on_the_runner_option(target: str) -> None:
    builder = MatrixBuilder(load_environment("default"), builtin_registry())
    (traced,) = builder.expand(MatrixRequest(models=["aww"], targets=[target], features=["trace"]))
    (plain,) = builder.expand(MatrixRequest(models=["aww"], targets=[target]))
    assert traced.configs[target].trace_memory is True and plain.configs[target].trace_memory is False
