"""Profile ranges: the code of named functions as PC ranges for the plugin's `ranges=` file.

Each named function gets one ID; its own symbol and the clones GCC splits off it
(`name.part.0`, `name.constprop.0`, `name.isra.0`, `name.cold`) are its ranges, so code the
compiler moved out of a kernel still counts as that kernel. Instructions outside every range
are the plugin's "glue".
"""

from __future__ import annotations

from pathlib import Path

from .elf import ElfImage, Function


class ProfileError(Exception):
    """A named function is missing from the ELF, or two ranges overlap."""


def function_ranges(image: ElfImage, names: list[str]) -> list[tuple[int, int, int, int]]:
    """(ID, entry, lo, hi) per range, IDs in the order of `names`."""
    by_name: dict[str, Function] = {}
    for fn in image.functions:
        by_name.setdefault(fn.name, fn)
    rows: list[tuple[int, int, int, int]] = []
    for index, name in enumerate(names):
        own = by_name.get(name)
        if own is None:
            raise ProfileError(f"function '{name}' is not in the ELF's symbol table (or has no size)")
        clones = [fn for fn in by_name.values() if fn.name.startswith(name + ".")]
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
