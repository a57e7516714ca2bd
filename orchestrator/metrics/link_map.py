"""GNU ld's link map (`-Wl,-Map`): which object file every input section came from.

The ELF keeps symbols but not their origin; the map lists, per output section, each input
section with its address, size and object (`lib.a(member.o)` for archive members). Only the part
after "Linker script and memory map" is read; script patterns, symbol lines, `*fill*` and
"size before relaxing" notes are skipped.
"""

from __future__ import annotations

import re
from pathlib import Path

from pydantic import BaseModel, ConfigDict

MAP_START = "Linker script and memory map"
_OUTPUT = re.compile(r"^(?P<name>[^\s*]\S*)(?:\s+0x[0-9a-fA-F]+\s+0x[0-9a-fA-F]+.*)?$")
_INPUT = re.compile(r"^ (?P<name>[^\s*]\S*)"
                    r"(?:\s+0x(?P<addr>[0-9a-fA-F]+)\s+0x(?P<size>[0-9a-fA-F]+)\s+(?P<file>\S.*))?$")
_PLACED = re.compile(r"^\s+0x(?P<addr>[0-9a-fA-F]+)\s+0x(?P<size>[0-9a-fA-F]+)\s+(?P<file>\S.*)$")


class InputSection(BaseModel):
    """One input section as placed by the linker (address = run address, VMA)."""

    model_config = ConfigDict(frozen=True)
    output: str
    name: str
    address: int
    size: int
    origin: str


def parse_link_map(text: str) -> list[InputSection]:
    """Every placed input section of the map in `text`, in map order (zero sizes included)."""
    lines = text.splitlines()
    try:
        start = next(i for i, line in enumerate(lines) if line.startswith(MAP_START)) + 1
    except StopIteration:
        return []
    found: list[InputSection] = []
    output = ""
    pending: str | None = None  # an input section whose address is on the next line
    for line in lines[start:]:
        if not line.strip():
            pending = None
            continue
        if not line[0].isspace():
            match = _OUTPUT.match(line)
            output, pending = (match["name"] if match else ""), None
            continue
        if pending is not None:
            placed = _PLACED.match(line)
            if placed and not placed["file"].startswith("load address"):
                found.append(_section(output, pending, placed))
            pending = None
            continue
        match = _INPUT.match(line)
        if match is None:
            continue
        if match["addr"] is None:
            pending = match["name"]
        elif not match["file"].startswith("load address"):
            found.append(_section(output, match["name"], match))
    return found


def _section(output: str, name: str, match: re.Match[str]) -> InputSection:
    return InputSection(output=output, name=name, address=int(match["addr"], 16),
                        size=int(match["size"], 16), origin=match["file"].strip())


def read_link_map(path: Path) -> list[InputSection]:
    """`parse_link_map` of the file at `path` (an unreadable map reads as an empty one)."""
    try:
        return parse_link_map(path.read_text(errors="replace"))
    except OSError:
        return []
