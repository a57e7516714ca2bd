"""`Total ROM` split by origin: weights, kernels, runtime, libc, harness, other.

The split starts from the very sections `elf_memory` counts in `Total ROM` and hands out each
section's bytes to the input sections the link map places inside it (classified by
`rom_origin`). Whatever no input section covers — alignment fill between them, bytes the linker
wrote itself, a section the map does not describe — goes to `other`, so the six buckets add up
to `Total ROM` exactly, by construction. Overlapping map entries (merged string pools) are
counted once, for the first.
"""

from __future__ import annotations

from collections.abc import Iterable

from pydantic import BaseModel, ConfigDict

from .elf_memory import StaticMemory
from .link_map import InputSection
from .rom_origin import BUCKETS, Bucket, classify, model_root

COLUMNS: dict[Bucket, str] = {bucket: f"ROM {bucket}" for bucket in BUCKETS}
"""Report column of each bucket (`ROM weights`, ..., `ROM other`)."""


class Piece(BaseModel):
    """A stretch of ROM with one origin: [start, end) at run addresses of section `output`."""

    model_config = ConfigDict(frozen=True)
    output: str
    start: int
    end: int
    bucket: Bucket
    origin: str
    name: str


class RomSplit(BaseModel):
    model_config = ConfigDict(frozen=True)
    buckets: dict[str, int]
    pieces: list[Piece]

    @property
    def total(self) -> int:
        return sum(self.buckets.values())

    def columns(self) -> dict[str, int]:
        return {COLUMNS[bucket]: self.buckets[bucket] for bucket in BUCKETS}

    def piece_at(self, address: int, section: str) -> Piece | None:
        """The piece holding the byte at `address` of output section `section` (None: `other`)."""
        for piece in self.pieces:
            if piece.output == section and piece.start <= address < piece.end:
                return piece
        return None


def _pieces(output: str, start: int, end: int, inputs: Iterable[InputSection], root: str) -> list[Piece]:
    """Input sections of one output section clipped to [start, end), without overlaps."""
    pieces: list[Piece] = []
    cursor = start
    for sec in sorted(inputs, key=lambda s: s.address):
        lo, hi = max(sec.address, cursor), min(sec.address + sec.size, end)
        if lo >= hi:
            continue
        pieces.append(Piece(output=output, start=lo, end=hi, bucket=classify(sec.origin, sec.name, root),
                            origin=sec.origin, name=sec.name))
        cursor = hi
    return pieces


def rom_split(memory: StaticMemory, link_map: list[InputSection]) -> RomSplit:
    """Split `memory.total_rom` by the origins `link_map` gives (see the module docstring)."""
    by_output: dict[str, list[InputSection]] = {}
    for sec in link_map:
        if sec.size > 0:
            by_output.setdefault(sec.output, []).append(sec)
    root = model_root(sec.origin for sec in link_map)
    buckets = dict.fromkeys(BUCKETS, 0)
    pieces: list[Piece] = []
    for use in memory.sections:
        size = use.rom_bytes
        if size == 0:
            continue
        found = _pieces(use.name, use.address, use.address + size, by_output.get(use.name, []), root)
        for piece in found:
            buckets[piece.bucket] += piece.end - piece.start
        buckets["other"] += size - sum(p.end - p.start for p in found)
        pieces += found
    return RomSplit(buckets=buckets, pieces=pieces)
