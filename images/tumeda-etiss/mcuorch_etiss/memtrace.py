"""ETISS's data-bus trace (`time;r|w;addr;len` per access, addr in hex) summarised while it is
written: which bytes were touched, kept as one bit per byte in 64-byte buckets, so a model's
millions of accesses need memory per touched bucket, not per access. From that, after the run,
the stack and heap high-water marks within the program's layout (its `mcuorch-layout` line).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

BUCKET = 64
LAYOUT = re.compile(r"^mcuorch-layout stack=(?P<slo>[0-9a-f]+):(?P<shi>[0-9a-f]+) "
                    r"heap=(?P<hlo>[0-9a-f]+):(?P<hhi>[0-9a-f]+)\s*$")


class TraceError(ValueError):
    """A line that is not an ETISS bus access, or no layout to judge the trace by."""


@dataclass(frozen=True)
class Layout:
    """[lo, hi) of the stack (it grows down from hi) and of the heap (it grows up from lo)."""

    stack: tuple[int, int]
    heap: tuple[int, int]


def parse_layout(stdout: str) -> Layout:
    found = [m for m in map(LAYOUT.match, stdout.splitlines()) if m]
    if not found:
        raise TraceError("the program printed no mcuorch-layout line")
    m = found[-1]
    return Layout((int(m["slo"], 16), int(m["shi"], 16)), (int(m["hlo"], 16), int(m["hhi"], 16)))


@dataclass
class TouchMap:
    """Bytes touched by the traced accesses (one int bitmask per 64-byte bucket)."""

    buckets: dict[int, int] = field(default_factory=dict)
    accesses: int = 0
    writes: int = 0

    def add(self, addr: int, length: int) -> None:
        end = addr + max(length, 1)
        while addr < end:
            bucket, offset = divmod(addr, BUCKET)
            span = min(end - addr, BUCKET - offset)
            self.buckets[bucket] = self.buckets.get(bucket, 0) | (((1 << span) - 1) << offset)
            addr += span

    def add_line(self, line: str) -> None:
        parts = line.strip().split(";")
        if len(parts) != 4 or parts[1] not in ("r", "w"):
            raise TraceError(f"not an ETISS bus access: {line.strip()[:80]!r}")
        try:
            addr, length = int(parts[2], 16), int(parts[3])
        except ValueError:
            raise TraceError(f"not an ETISS bus access: {line.strip()[:80]!r}") from None
        self.accesses += 1
        self.writes += parts[1] == "w"
        self.add(addr, length)

    def lowest(self, lo: int, hi: int) -> int | None:
        """The lowest touched address in [lo, hi), or None."""
        for bucket in sorted(b for b in self.buckets if b * BUCKET < hi and (b + 1) * BUCKET > lo):
            mask = self.buckets[bucket]
            for bit in range(BUCKET):
                addr = bucket * BUCKET + bit
                if mask >> bit & 1 and lo <= addr < hi:
                    return addr
        return None

    def highest(self, lo: int, hi: int) -> int | None:
        """The highest touched address in [lo, hi), or None."""
        for bucket in sorted((b for b in self.buckets if b * BUCKET < hi and (b + 1) * BUCKET > lo), reverse=True):
            mask = self.buckets[bucket]
            for bit in reversed(range(BUCKET)):
                addr = bucket * BUCKET + bit
                if mask >> bit & 1 and lo <= addr < hi:
                    return addr
        return None


def summarise(lines: Iterable[str]) -> TouchMap:
    touched = TouchMap()
    for line in lines:
        if line.strip():
            touched.add_line(line)
    return touched


def high_water(touched: TouchMap, layout: Layout) -> dict[str, int]:
    """`RAM stack`: bytes from the stack top down to its deepest touched byte; `RAM heap`: bytes
    from the heap start up to its highest touched byte (0 when the program used no heap)."""
    s_lo, s_hi = layout.stack
    h_lo, h_hi = layout.heap
    deepest = touched.lowest(s_lo, s_hi)
    highest = touched.highest(h_lo, h_hi)
    return {"RAM stack": s_hi - deepest if deepest is not None else 0,
            "RAM heap": highest + 1 - h_lo if highest is not None else 0}
