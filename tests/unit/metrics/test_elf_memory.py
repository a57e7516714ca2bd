from __future__ import annotations

from pathlib import Path

import pytest

from orchestrator.errors import CollectError
from orchestrator.metrics.elf_memory import ElfMetricsError, static_memory
from orchestrator.metrics.targets import MemoryRegion, load_target

from .conftest import ELF_DIR, REPO, RUNS, readelf_sections

FLASH = MemoryRegion(origin=0x10000, length=0x10000)
RAM = MemoryRegion(origin=0x20000000, length=0x10000)
MLONMCU_COLUMNS = ["Total ROM", "Total RAM", "ROM read-only", "ROM code", "ROM misc", "RAM data",
                   "RAM zero-init data"]


@pytest.mark.parametrize("elf", ["sized_arm.elf", "sized_rv32.elf"])
def test_sized_image_by_memory_map(elf: str) -> None:
    """sized.S: .init 64 (writable flag, in flash), code 256, rodata 128, .init_array 8 (inside
    .text after __text_end), .data 48 (image in flash), .bss 80, golden 32, .stack 2 KiB."""
    mem = static_memory(ELF_DIR / elf, FLASH, RAM)
    assert (mem.rom_code, mem.rom_read_only, mem.rom_misc) == (256, 128, 64 + 8 + 48)
    assert (mem.ram_data, mem.ram_zero_init, mem.rom_golden) == (48, 80, 32)
    cols = mem.columns()
    assert list(cols) == MLONMCU_COLUMNS + ["ROM golden"]
    assert cols["Total ROM"] == 504 and cols["Total RAM"] == 128
    by_name = {s.name: s for s in mem.sections}
    assert ".stack" not in by_name  # a reservation, not data
    assert by_name[".data"].rom == {"misc": 48} and by_name[".data"].ram == {"data": 48}


def test_without_a_memory_map_flags_decide_and_misplace_the_vector_table() -> None:
    """What `size` does: the writable-flagged table in flash is taken for RAM data."""
    with_map = static_memory(ELF_DIR / "sized_arm.elf", FLASH, RAM)
    flags_only = static_memory(ELF_DIR / "sized_arm.elf")
    assert with_map.ram_data == 48
    assert flags_only.ram_data == 48 + 64
    assert flags_only.total_rom == with_map.total_rom  # ROM is the same either way


@pytest.mark.parametrize("case", ["riscv_qemu", "mps3_an547"])
def test_recorded_picolibc_programs_agree_with_readelf(case: str) -> None:
    run = RUNS / case
    target = load_target(case, REPO / "sw")
    mem = static_memory(run / "app.elf", target.memory.flash, target.memory.ram)
    sections = readelf_sections(run / "sections.txt")
    size = {name: s for name, (_addr, s) in sections.items()}
    data = size[".data"] + size.get(".tdata", 0)
    assert mem.rom_golden == size[".mcuorch_golden"]
    assert mem.ram_data == data
    assert mem.ram_zero_init == size[".bss"] + size.get(".tbss", 0)
    # Flash holds .init, .text (code + read-only data + tables) and the .data image.
    assert mem.total_rom == size[".init"] + size[".text"] + data
    assert mem.rom_code > 0 and mem.rom_read_only > 0
    # picolibc's .stack reservation is not counted as RAM.
    assert mem.total_ram < size[".bss"] + size[".stack"]


def test_recorded_host_program() -> None:
    run = RUNS / "host_x86"
    mem = static_memory(run / "app.elf")
    size = {name: s for name, (_addr, s) in readelf_sections(run / "sections.txt").items()}
    assert mem.rom_golden == size[".mcuorch_golden"]
    assert mem.rom_read_only == size[".rodata"]
    assert mem.ram_zero_init == size[".bss"]
    assert mem.rom_code == size[".text"] + sum(s for n, s in size.items() if n.startswith(".plt"))


def test_a_file_that_is_no_elf(tmp_path: Path) -> None:
    bogus = tmp_path / "app.elf"
    bogus.write_text("not an ELF")
    with pytest.raises(ElfMetricsError, match="cannot read .*app.elf as an ELF file"):
        static_memory(bogus, FLASH, RAM)
    with pytest.raises(CollectError):
        static_memory(tmp_path / "missing.elf")
