"""Just enough ELF reading for the runner: section headers and the symbol table.

The runner needs the addresses of the harness's region markers and the stack bounds, and for a
profile the code range of every named function; the image has no pyelftools, so this reads the
two tables with `struct` (little-endian ELF32/ELF64).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from pathlib import Path

EM_ARM = 40
EM_RISCV = 243
SHT_SYMTAB = 2
SHT_NOBITS = 8
SHF_ALLOC = 0x2
STT_FUNC = 2
STT_FILE = 4
STB_LOCAL = 0
STB_GLOBAL = 1


class ElfError(Exception):
    """The file is not an ELF this runner can read."""


@dataclass(frozen=True)
class Section:
    name: str
    type: int
    flags: int
    addr: int
    size: int


@dataclass(frozen=True)
class Function:
    """A function symbol with its code range [addr, addr + size) (Thumb bit cleared); a local
    (file-static, anonymous-namespace) one with the source file its object was compiled from
    (the STT_FILE symbol before it: the linker keeps each object's locals after its own)."""

    name: str
    addr: int
    size: int
    file: str | None = None


@dataclass(frozen=True)
class ElfImage:
    bits: int
    machine: int
    sections: tuple[Section, ...]
    symbols: dict[str, int]
    functions: tuple[Function, ...] = ()
    sizes: dict[str, int] = field(default_factory=dict)  # st_size of the symbol `symbols` holds

    def symbol(self, name: str) -> int | None:
        return self.symbols.get(name)


def _cstring(table: bytes, offset: int) -> str:
    end = table.find(b"\0", offset)
    return table[offset : end if end >= 0 else len(table)].decode("utf-8", "replace")


def read_elf(path: Path) -> ElfImage:
    """Reads section headers and symbols. Thumb function addresses come back without bit 0."""
    data = Path(path).read_bytes()
    if len(data) < 52 or data[:4] != b"\x7fELF":
        raise ElfError(f"{path} is not an ELF file")
    if data[5] != 1:
        raise ElfError(f"{path} is big-endian; only little-endian ELF is supported")
    bits = {1: 32, 2: 64}.get(data[4])
    if bits is None:
        raise ElfError(f"{path} has an unknown ELF class {data[4]}")
    if bits == 32:
        machine, = struct.unpack_from("<H", data, 18)
        shoff, = struct.unpack_from("<I", data, 32)
        shentsize, shnum, shstrndx = struct.unpack_from("<HHH", data, 46)
        sh_fmt = "<IIIIIIIIII"
    else:
        machine, = struct.unpack_from("<H", data, 18)
        shoff, = struct.unpack_from("<Q", data, 40)
        shentsize, shnum, shstrndx = struct.unpack_from("<HHH", data, 58)
        sh_fmt = "<IIQQQQIIQQ"
    try:
        raw = [struct.unpack_from(sh_fmt, data, shoff + i * shentsize) for i in range(shnum)]
    except struct.error as exc:
        raise ElfError(f"{path} has a truncated section header table") from exc
    if not raw or shstrndx >= len(raw):
        raise ElfError(f"{path} has no section name table")

    def body(header: tuple[int, ...]) -> bytes:
        return data[header[4] : header[4] + header[5]]

    names = body(raw[shstrndx])
    sections = tuple(
        Section(_cstring(names, h[0]), h[1], h[2], h[3], h[5]) for h in raw
    )
    symbols: dict[str, int] = {}
    sizes: dict[str, int] = {}
    functions: list[Function] = []
    for header in raw:
        file: str | None = None
        if header[1] != SHT_SYMTAB:
            continue
        strings = body(raw[header[6]])
        table = body(header)
        entsize = 16 if bits == 32 else 24
        for off in range(entsize, len(table) - entsize + 1, entsize):
            if bits == 32:
                name, value, size, info, _other, _shndx = struct.unpack_from("<IIIBBH", table, off)
            else:
                name, info, _other, _shndx, value, size = struct.unpack_from("<IBBHQQ", table, off)
            if name == 0:
                continue
            if machine == EM_ARM and info & 0xF == STT_FUNC:
                value &= ~1
            key = _cstring(strings, name)
            if info & 0xF == STT_FILE:
                file = key
                continue
            if key not in symbols or info >> 4 == STB_GLOBAL:
                symbols[key] = value
                sizes[key] = size
            if info & 0xF == STT_FUNC and size:
                functions.append(Function(key, value, size, file if info >> 4 == STB_LOCAL else None))
    return ElfImage(bits, machine, sections, symbols, tuple(functions), sizes)
