"""Static arena planning by tensor lifetimes with offset packing (pure Python, no TVM).

Every buffer has a size and a closed lifetime ``[first, last]`` measured in kernel steps
``0..n_steps-1``. Two buffers may share bytes only when their lifetimes are disjoint. The
conventions that make the arena safe for the AOT harness:

* a graph input is written by the caller *before* ``invoke``: its life starts at step -1 and
  ends at its last reader, so no kernel clobbers it before every reader ran;
* a graph output is read by the caller *after* ``invoke``: its life ends at step ``n_steps``,
  so nothing overwrites it once produced;
* a kernel's output is live at the step that produces it and its inputs at the step that
  reads them, so a kernel never writes over its own operands (kernels are not in-place safe).

Placement is greedy: buffers are taken in some order and each goes to the lowest aligned
offset that does not collide with an already placed buffer whose lifetime overlaps. No single
order is best (largest-first, TFLite-Micro's choice, loses 17 % on a MobileNet whose input is
larger than most activations; first-use order wins there), so several orders are tried and the
smallest arena is kept; ties go to the earlier strategy, which keeps the result deterministic.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class BufferLife:
    """A storage request: ``size`` bytes used from step ``first`` through step ``last``."""

    name: str
    size: int
    first: int
    last: int

    def overlaps(self, other: BufferLife) -> bool:
        return self.first <= other.last and other.first <= self.last


@dataclass(frozen=True)
class Placement:
    """A planned buffer: its request and its byte offset in the arena."""

    name: str
    size: int
    first: int
    last: int
    offset: int

    @property
    def end(self) -> int:
        return self.offset + self.size


@dataclass(frozen=True)
class ArenaPlan:
    """The placements (in input order) and the arena size they need."""

    placements: tuple[Placement, ...]
    size: int
    alignment: int
    strategy: str = "size"

    def offset_of(self, name: str) -> int:
        for p in self.placements:
            if p.name == name:
                return p.offset
        raise KeyError(name)

    def to_json(self) -> dict:
        return {
            "arena_size": self.size,
            "alignment": self.alignment,
            "strategy": self.strategy,
            "lower_bound": peak_live_bytes(
                [BufferLife(p.name, p.size, p.first, p.last) for p in self.placements]
            ),
            "buffers": [asdict(p) for p in self.placements],
        }


def _align(value: int, alignment: int) -> int:
    return (value + alignment - 1) // alignment * alignment


# Orders tried by plan_arena, by name: key(index, buffer) sorted ascending.
STRATEGIES = {
    "size": lambda i, b: (-b.size, b.first, i),
    "first_use": lambda i, b: (b.first, -b.size, i),
    "area": lambda i, b: (-b.size * (b.last - b.first + 1), b.first, i),
    "duration": lambda i, b: (-(b.last - b.first), -b.size, i),
}


def _place(buffers: list[BufferLife], order: list[int], alignment: int) -> dict[int, int]:
    offsets: dict[int, int] = {}
    for i in order:
        b = buffers[i]
        if b.size == 0:
            offsets[i] = 0
            continue
        busy = sorted(
            (offsets[j], offsets[j] + buffers[j].size)
            for j in offsets
            if buffers[j].size and buffers[j].overlaps(b)
        )
        candidate = 0
        for start, end in busy:
            if candidate + b.size <= start:
                break
            candidate = max(candidate, _align(end, alignment))
        offsets[i] = candidate
    return offsets


def plan_arena(
    buffers: list[BufferLife], alignment: int = 16, strategies: tuple[str, ...] | None = None
) -> ArenaPlan:
    """Place ``buffers`` in one arena (best of ``strategies``); deterministic for an input."""
    if alignment < 1 or alignment & (alignment - 1):
        raise ValueError(f"alignment must be a power of two, got {alignment}")
    names = [b.name for b in buffers]
    if len(set(names)) != len(names):
        raise ValueError("buffer names must be unique")
    for b in buffers:
        if b.size < 0 or b.first > b.last:
            raise ValueError(f"buffer {b.name}: invalid size or lifetime")
    chosen = tuple(STRATEGIES) if strategies is None else strategies
    best: ArenaPlan | None = None
    for strategy in chosen:
        key = STRATEGIES[strategy]
        order = sorted(range(len(buffers)), key=lambda i: key(i, buffers[i]))
        offsets = _place(buffers, order, alignment)
        placements = tuple(
            Placement(b.name, b.size, b.first, b.last, offsets[i]) for i, b in enumerate(buffers)
        )
        size = _align(max((p.end for p in placements), default=0), alignment)
        if best is None or size < best.size:
            best = ArenaPlan(placements, size, alignment, strategy)
    if best is None:
        raise ValueError("no planning strategy given")
    return best


def peak_live_bytes(buffers: list[BufferLife]) -> int:
    """Largest sum of sizes live at one step: no plan can use a smaller arena."""
    if not buffers:
        return 0
    steps = range(min(b.first for b in buffers), max(b.last for b in buffers) + 1)
    return max(sum(b.size for b in buffers if b.first <= s <= b.last) for s in steps)


def check_plan(plan: ArenaPlan) -> None:
    """Raise ValueError if two buffers with overlapping lifetimes share bytes."""
    ps = [p for p in plan.placements if p.size]
    for i, a in enumerate(ps):
        if a.offset % plan.alignment or a.end > plan.size:
            raise ValueError(f"buffer {a.name} misaligned or outside the arena")
        for b in ps[i + 1 :]:
            live = a.first <= b.last and b.first <= a.last
            if live and a.offset < b.end and b.offset < a.end:
                raise ValueError(f"buffers {a.name} and {b.name} overlap while both live")
