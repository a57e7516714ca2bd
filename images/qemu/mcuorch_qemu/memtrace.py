"""Where the memory trace looks (`--trace-memory`): the stack, heap and arena spans of an ELF.

The spans come from the symbols picolibc.ld and the board's wrapper script (sw/ld) define, the
same layout the ETISS runner is given (sw/harness/platform_etiss.c), so `RAM stack` and
`RAM heap` mean the same on both simulators:

- stack: [__stack - __stack_size, __stack), the reservation the wrapper script sets;
- heap: [__heap_start, __heap_end); picolibc.ld only PROVIDEs them when something (sbrk) uses
  them, so without malloc the same span follows from its definition: __bss_end (picolibc's
  __end) up to the stack reservation;
- arena: the static array tvmaot generates (`mcuorch_arena`), when the ELF has one.
"""

from __future__ import annotations

from dataclasses import dataclass

from .elf import ElfImage

ARENA_SYMBOL = "mcuorch_arena"


class LayoutError(Exception):
    """The ELF lacks the symbols that bound its stack."""


@dataclass(frozen=True)
class TraceLayout:
    """[lo, hi) spans; `arena` is None when the program has no static arena."""

    stack: tuple[int, int]
    heap: tuple[int, int] | None
    arena: tuple[int, int] | None

    def plugin_args(self, region: str = "run") -> list[str]:
        """The plugin's trace_* arguments (hex addresses)."""
        args = [f"trace_stack={self.stack[0]:x}:{self.stack[1]:x}", f"trace_region={region}"]
        if self.heap is not None:
            args.append(f"trace_heap={self.heap[0]:x}:{self.heap[1]:x}")
        if self.arena is not None:
            args.append(f"trace_arena={self.arena[0]:x}:{self.arena[1]:x}")
        return args

    def describe(self) -> dict[str, list[str] | None]:
        """The spans as hex pairs (for run.json)."""
        def hex_pair(span: tuple[int, int] | None) -> list[str] | None:
            return None if span is None else [f"0x{span[0]:x}", f"0x{span[1]:x}"]
        return {"stack": hex_pair(self.stack), "heap": hex_pair(self.heap), "arena": hex_pair(self.arena)}


def trace_layout(image: ElfImage, arena_symbol: str = ARENA_SYMBOL) -> TraceLayout:
    top, size = image.symbol("__stack"), image.symbol("__stack_size")
    if top is None or not size or size > top:
        raise LayoutError("the ELF defines no __stack and __stack_size (picolibc.ld and sw/ld's wrapper)")
    stack = (top - size, top)
    start = image.symbol("__heap_start")
    if start is None:
        start = image.symbol("__end") if image.symbol("__end") is not None else image.symbol("__bss_end")
    end = image.symbol("__heap_end")
    end = stack[0] if end is None else end
    heap = (start, end) if start is not None and start < end else None
    arena = None
    base, length = image.symbol(arena_symbol), image.sizes.get(arena_symbol, 0)
    if base is not None and length > 0:
        arena = (base, base + length)
    return TraceLayout(stack, heap, arena)
