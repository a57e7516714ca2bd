"""Profile ranges: the code of named functions as PC ranges for the plugin's `ranges=` file.

Each named function gets one ID; its own symbol and the clones GCC splits off it
(`name.part.0`, `name.constprop.0`, `name.isra.0`, `name.cold`) are its ranges, so code the
compiler moved out of a kernel still counts as that kernel. Instructions outside every range
are the plugin's "glue".

A name `FILE:SYMBOL` is the local function SYMBOL of the object compiled from the source file
FILE (the STT_FILE name: its base name): C++ code has file-local functions of one mangled name in
many objects (TFLite-Micro's kernels' `Eval` in an anonymous namespace). A plain name is looked
up among every function, the first one in the symbol table.
"""

from __future__ import annotations

from pathlib import Path

from .elf import ElfImage, Function


class ProfileError(Exception):
    """A named function is missing from the ELF, or two ranges overlap."""


def _candidates(image: ElfImage, name: str) -> tuple[str, list[Function]]:
    """The symbol `name` means and the functions it may be (one file's locals for FILE:SYMBOL)."""
    file, sep, symbol = name.rpartition(":")
    if not sep:
        return name, list(image.functions)
    local = [fn for fn in image.functions if fn.file == file]
    if not local:
        raise ProfileError(f"no local functions of a source file '{file}' in the ELF's symbol table")
    return symbol, local


def function_ranges(image: ElfImage, names: list[str]) -> list[tuple[int, int, int, int]]:
    """(ID, entry, lo, hi) per range, IDs in the order of `names`."""
    rows: list[tuple[int, int, int, int]] = []
    for index, name in enumerate(names):
        symbol, functions = _candidates(image, name)
        by_name: dict[str, Function] = {}
        for fn in functions:
            by_name.setdefault(fn.name, fn)
        own = by_name.get(symbol)
        if own is None:
            raise ProfileError(f"function '{name}' is not in the ELF's symbol table (or has no size)")
        if ":" in name and sum(fn.name == symbol for fn in functions) > 1:
            raise ProfileError(f"function '{name}': more than one object compiled from a file of that name")
        clones = [fn for fn in by_name.values() if fn.name.startswith(symbol + ".")]
        for fn in [own, *clones]:
            rows.append((index, own.addr, fn.addr, fn.addr + fn.size))
    spans = sorted((lo, hi) for _, _, lo, hi in rows)
    for (lo1, hi1), (lo2, _hi2) in zip(spans, spans[1:]):
        if lo2 < hi1:
            raise ProfileError(f"function ranges overlap at 0x{lo2:x}")
    return rows


def write_ranges(rows: list[tuple[int, int, int, int]], path: Path) -> None:
    """The plugin's `ranges=` file: `ID ENTRY LO HI` per line, addresses in hex."""
    path.write_text("".join(f"{i} {entry:x} {lo:x} {hi:x}\n" for i, entry, lo, hi in rows))


def describe(names: list[str], rows: list[tuple[int, int, int, int]]) -> list[dict[str, object]]:
    """What counts.json's `profile.functions` says about every ID: name and ranges (hex)."""
    return [{"name": name, "ranges": [[f"0x{lo:x}", f"0x{hi:x}"] for i, _, lo, hi in rows if i == index]}
            for index, name in enumerate(names)]
