"""The program's ROM symbols with their size and bucket: what `mcuorch size` lists.

Functions and objects of the ELF symbol table that lie in a section counted in `Total ROM`,
largest first; each gets the bucket of the link-map piece its first byte lies in. Aliases
(several names for one address and size, e.g. picolibc's `vfprintf` and `__i_vfprintf`) are
listed once.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict

from .elf_memory import StaticMemory, iter_symbols, open_elf
from .rom_split import RomSplit

SYMBOL_TYPES = frozenset({"STT_FUNC", "STT_OBJECT"})


class RomSymbol(BaseModel):
    model_config = ConfigDict(frozen=True)
    name: str
    size: int
    address: int
    section: str
    bucket: str
    origin: str


def rom_symbols(elf_path: Path, memory: StaticMemory, split: RomSplit | None) -> list[RomSymbol]:
    """Sized functions and objects in ROM sections of `elf_path`, largest first (then by name).

    Without a `split` (no link map) every bucket and origin is empty."""
    rom_sections = {use.name for use in memory.sections if use.rom_bytes > 0}
    found: dict[tuple[int, int], RomSymbol] = {}
    with open_elf(elf_path) as elf:
        thumb = elf["e_machine"] == "EM_ARM"
        for sym in iter_symbols(elf):
            kind, size, index = sym["st_info"]["type"], sym["st_size"], sym["st_shndx"]
            if kind not in SYMBOL_TYPES or size == 0 or not isinstance(index, int) or not sym.name:
                continue
            section = elf.get_section(index).name
            if section not in rom_sections:
                continue
            address = sym["st_value"] & ~1 if thumb and kind == "STT_FUNC" else sym["st_value"]
            if (address, size) in found:
                continue
            piece = split.piece_at(address, section) if split is not None else None
            found[(address, size)] = RomSymbol(
                name=sym.name, size=size, address=address, section=section,
                bucket=piece.bucket if piece else ("other" if split is not None else ""),
                origin=piece.origin if piece else "")
    return sorted(found.values(), key=lambda s: (-s.size, s.name))


def function_names(elf_path: Path) -> set[str]:
    """Names of the sized functions in the ELF's symbol tables (what a profile can attribute)."""
    with open_elf(elf_path) as elf:
        return {sym.name for sym in iter_symbols(elf)
                if sym["st_info"]["type"] == "STT_FUNC" and sym["st_size"] > 0 and sym.name}
