"""Static memory of a program from its ELF, in MLonMCU's columns.

Sections are classified by where they live, not by what `size` guesses from their flags: a
section whose load address lies in the target's flash counts as ROM, one whose run address lies
in RAM counts as RAM (initialised data counts in both: its image sits in flash and is copied to
RAM at start-up). Within ROM, names decide the bucket (MLonMCU's rules). Two picolibc traits are
handled explicitly: picolibc.ld puts read-only data and the constructor tables inside `.text`
after the symbol `__text_end`, and its `.stack`/`.tbss_space` sections only reserve space.
Golden vectors (section `.mcuorch_golden`) are reported apart, as `ROM golden`.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from elftools.common.exceptions import ELFError
from elftools.elf.constants import SH_FLAGS
from elftools.elf.elffile import ELFFile
from elftools.elf.sections import Symbol, SymbolTableSection
from pydantic import BaseModel, ConfigDict

from orchestrator.errors import CollectError

from .targets import MemoryRegion

GOLDEN_SECTION = ".mcuorch_golden"
# Sections that only reserve address space (stack, heap) or mirror another section (.tbss).
PLACEHOLDERS = frozenset({".stack", ".heap", ".tbss_space"})
MISC_NAMES = frozenset({".vectors", ".init", ".fini", ".eh_frame", ".eh_frame_hdr"})
MISC_PREFIXES = (".init_array", ".fini_array", ".preinit_array")
READ_ONLY_PREFIXES = (".rodata", ".srodata", ".rdata")
# picolibc.ld: code ends at __text_end inside .text; read-only data follows; the constructor and
# destructor tables start at __preinit_array_start.
TEXT_END_SYMBOL = "__text_end"
TABLES_START_SYMBOL = "__preinit_array_start"


class ElfMetricsError(CollectError):
    """The file cannot be read as an ELF program."""


@contextmanager
def open_elf(elf_path: Path) -> Iterator[ELFFile]:
    """The parsed ELF. pyelftools parses lazily, so a read or format error may surface while the
    caller walks it: either way it is one ElfMetricsError line."""
    try:
        with open(elf_path, "rb") as stream:
            yield ELFFile(stream)
    except (OSError, ELFError) as exc:
        raise ElfMetricsError(f"cannot read {elf_path} as an ELF file: {exc}") from None


def iter_symbols(elf: ELFFile) -> Iterator[Symbol]:
    """Every symbol of every symbol table of `elf`."""
    for section in elf.iter_sections():
        if isinstance(section, SymbolTableSection):
            yield from section.iter_symbols()


class SectionUse(BaseModel):
    """Where one section's bytes were counted (kept for explanations and debugging)."""

    model_config = ConfigDict(frozen=True)
    name: str
    size: int
    rom: dict[str, int]
    ram: dict[str, int]
    address: int = 0
    """Run address (VMA): where the link map places the section's input sections."""

    @property
    def rom_bytes(self) -> int:
        """Bytes of this section in `Total ROM` (golden vectors are counted apart)."""
        return sum(v for k, v in self.rom.items() if k != "golden")


class StaticMemory(BaseModel):
    model_config = ConfigDict(frozen=True)
    rom_code: int
    rom_read_only: int
    rom_misc: int
    ram_data: int
    ram_zero_init: int
    rom_golden: int
    sections: list[SectionUse]

    @property
    def total_rom(self) -> int:
        return self.rom_code + self.rom_read_only + self.rom_misc

    @property
    def total_ram(self) -> int:
        return self.ram_data + self.ram_zero_init

    def columns(self) -> dict[str, int]:
        """Report columns (MLonMCU's names, plus `ROM golden`)."""
        return {
            "Total ROM": self.total_rom,
            "Total RAM": self.total_ram,
            "ROM read-only": self.rom_read_only,
            "ROM code": self.rom_code,
            "ROM misc": self.rom_misc,
            "RAM data": self.ram_data,
            "RAM zero-init data": self.ram_zero_init,
            "ROM golden": self.rom_golden,
        }


def _rom_bucket(name: str, flags: int) -> str:
    if name.startswith(".text") or name.endswith(".text"):
        return "code"
    if name in MISC_NAMES or name.startswith(MISC_PREFIXES):
        return "misc"
    if name.startswith(READ_ONLY_PREFIXES) or name.endswith(".rodata"):
        return "read-only"
    if flags & SH_FLAGS.SHF_EXECINSTR:
        return "code"
    return "misc"


def _symbols(elf: ELFFile) -> dict[str, int]:
    wanted = (TEXT_END_SYMBOL, TABLES_START_SYMBOL)
    return {sym.name: sym["st_value"] for sym in iter_symbols(elf) if sym.name in wanted}


def _load_address(elf: ELFFile, offset: int, size: int, vma: int) -> int:
    """The address a PROGBITS section is loaded to (its LMA), from the program headers."""
    for seg in elf.iter_segments():
        if seg["p_type"] != "PT_LOAD" or seg["p_filesz"] == 0:
            continue
        if seg["p_offset"] <= offset and offset + size <= seg["p_offset"] + seg["p_filesz"]:
            return seg["p_paddr"] + (offset - seg["p_offset"])
    return vma


def _split_text(addr: int, size: int, symbols: dict[str, int]) -> dict[str, int] | None:
    """picolibc's `.text` = code, then read-only data, then constructor tables."""
    text_end = symbols.get(TEXT_END_SYMBOL)
    if text_end is None or not addr < text_end <= addr + size:
        return None
    tables = symbols.get(TABLES_START_SYMBOL)
    if tables is None or not text_end <= tables <= addr + size:
        tables = addr + size
    return {"code": text_end - addr, "read-only": tables - text_end, "misc": addr + size - tables}


def static_memory(elf_path: Path, flash: MemoryRegion | None = None,
                  ram: MemoryRegion | None = None) -> StaticMemory:
    """Static ROM/RAM use of the program in `elf_path`.

    With `flash`/`ram` (the target's memory map) sections are placed by address. Without them
    (the Linux host) writable sections are RAM and everything else loaded is ROM.
    """
    totals = {"code": 0, "read-only": 0, "misc": 0, "data": 0, "zero-init": 0, "golden": 0}
    uses: list[SectionUse] = []
    with open_elf(elf_path) as elf:
        symbols = _symbols(elf)
        for sec in elf.iter_sections():
            name, size, flags = sec.name, sec["sh_size"], sec["sh_flags"]
            if not flags & SH_FLAGS.SHF_ALLOC or size == 0 or name in PLACEHOLDERS:
                continue
            nobits = sec["sh_type"] == "SHT_NOBITS"
            vma = sec["sh_addr"]
            lma = vma if nobits else _load_address(elf, sec["sh_offset"], size, vma)
            rom: dict[str, int] = {}
            ram_use: dict[str, int] = {}
            if name == GOLDEN_SECTION:
                rom = {"golden": size}
            else:
                if flash is not None and ram is not None:
                    in_rom = not nobits and flash.contains(lma)
                    in_ram = ram.contains(vma)
                else:
                    writable = bool(flags & SH_FLAGS.SHF_WRITE)
                    in_rom = not nobits
                    in_ram = writable or nobits
                if in_ram:
                    ram_use = {"zero-init" if nobits else "data": size}
                if in_rom:
                    if in_ram:  # the initial image of RAM data, copied at start-up
                        rom = {"misc": size}
                    else:
                        split = _split_text(vma, size, symbols) if name == ".text" else None
                        rom = split or {_rom_bucket(name, flags): size}
            for key, value in (rom | ram_use).items():
                totals[key] += value
            uses.append(SectionUse(name=name, size=size, rom=rom, ram=ram_use, address=vma))
    return StaticMemory(
        rom_code=totals["code"], rom_read_only=totals["read-only"], rom_misc=totals["misc"],
        ram_data=totals["data"], ram_zero_init=totals["zero-init"], rom_golden=totals["golden"],
        sections=uses,
    )
