"""Instruction counts: counts.json, the result of mcuorch-qemu-run's instruction-count plugin,
and the `mcuorch-instret` line that CSR-counting targets (Spike, ETISS) print at exit
(sw/harness/regions_csr.c), read into the same model."""

from __future__ import annotations

import json
import re
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from orchestrator.errors import CollectError, first_problem

COUNTS_FORMAT = "mcuorch-insncount-1"
# Region name in the plugin (sw/harness/regions.h) -> report column prefix.
REGION_COLUMNS = {"setup": "Setup", "run": "Run"}


class CountsError(CollectError):
    """counts.json is missing or malformed."""


class RegionCounts(BaseModel):
    model_config = ConfigDict(frozen=True)
    begin: str
    end: str
    entries: int = Field(ge=0)
    open: bool
    instructions: int = Field(ge=0)
    per_entry: list[int]


class StackCounts(BaseModel):
    model_config = ConfigDict(frozen=True)
    low: str
    high: str
    lowest_store: str | None
    high_water: int = Field(ge=0)
    stores: int = Field(ge=0)


class TracedSpan(BaseModel):
    """One span of the plugin's memory trace: its whole-program figure and the one counted only
    while the traced region (`memtrace.region`) ran."""

    model_config = ConfigDict(frozen=True, extra="ignore")
    low: str
    high: str
    high_water: int = Field(default=0, ge=0)
    region_high_water: int = Field(default=0, ge=0)
    touched: int = Field(default=0, ge=0)  # arena: bytes written at least once
    region_touched: int = Field(default=0, ge=0)


class MemTrace(BaseModel):
    """counts.json's `memtrace` (mcuorch-qemu-run --trace-memory): summaries, never accesses."""

    model_config = ConfigDict(frozen=True, extra="ignore")
    region: str
    region_known: bool
    loads: int = Field(ge=0)
    stores: int = Field(ge=0)
    stack: TracedSpan | None = None
    heap: TracedSpan | None = None
    arena: TracedSpan | None = None

    def columns(self) -> dict[str, int]:
        """`RAM stack`, `RAM heap` (ETISS's names, same spans) and `Arena Touched`, whole program,
        plus the same prefixed `Run ` for the Run region; a span not traced gives no column."""
        cols: dict[str, int] = {}
        prefix = REGION_COLUMNS.get(self.region, self.region.capitalize())
        for name, span, whole, part in (("RAM stack", self.stack, "high_water", "region_high_water"),
                                        ("RAM heap", self.heap, "high_water", "region_high_water"),
                                        ("Arena Touched", self.arena, "touched", "region_touched")):
            if span is None:
                continue
            cols[name] = getattr(span, whole)
            if self.region_known:
                cols[f"{prefix} {name}"] = getattr(span, part)
        return cols


class Counts(BaseModel):
    model_config = ConfigDict(frozen=True)
    format: str
    qemu_target: str
    mode: str
    total_instructions: int = Field(ge=0)
    regions: dict[str, RegionCounts]
    stack: StackCounts | None = None
    memtrace: MemTrace | None = None

    def columns(self) -> dict[str, int | float]:
        """`Total Instructions`; per region `<Region> Instructions`: Setup sums its entries (one),
        Run is the mean per entry = per inference; `RAM stack` = stack high-water mark in bytes
        from the top of the stack. Regions never entered give no column (absent, not zero)."""
        cols: dict[str, int | float] = {"Total Instructions": self.total_instructions}
        for name, region in self.regions.items():
            prefix = REGION_COLUMNS.get(name, name.capitalize())
            if region.entries == 0:
                continue
            if name == "run":
                mean = region.instructions / region.entries
                cols[f"{prefix} Instructions"] = int(mean) if mean.is_integer() else mean
            else:
                cols[f"{prefix} Instructions"] = region.instructions
        if self.stack is not None and self.stack.lowest_store is not None:
            cols["RAM stack"] = self.stack.high_water
        if self.memtrace is not None:  # the traced stack span replaces the watch's figure
            cols.update(self.memtrace.columns())
        return cols


INSTRET_LINE = re.compile(r"^mcuorch-instret setup=(?P<setup>[\d,]*) run=(?P<run>[\d,]*) total=(?P<total>\d+)\+?\s*$")
MARKERS = {"setup": ("mcuorch_setup_begin", "mcuorch_setup_end"), "run": ("mcuorch_run_begin", "mcuorch_run_end")}


def instret_counts(stdout: str, simulator: str) -> Counts | None:
    """The last `mcuorch-instret` line of a program's output as Counts, or None without one."""
    found = [m for m in map(INSTRET_LINE.match, stdout.splitlines()) if m]
    if not found:
        return None
    match = found[-1]
    regions = {}
    for name, (begin, end) in MARKERS.items():
        values = [int(v) for v in match[name].split(",") if v]
        regions[name] = RegionCounts(begin=begin, end=end, entries=len(values), open=False,
                                     instructions=sum(values), per_entry=values)
    return Counts(format=COUNTS_FORMAT, qemu_target=simulator, mode="instret",
                  total_instructions=int(match["total"]), regions=regions)


def load_counts(path: Path) -> Counts:
    try:
        counts = Counts.model_validate(json.loads(Path(path).read_text()))
    except OSError as exc:
        raise CountsError(f"cannot read {path}: {exc.strerror}") from None
    except ValidationError as exc:
        raise CountsError(f"{path}: {first_problem(exc)}") from None
    except ValueError as exc:
        raise CountsError(f"{path} is not JSON: {exc}") from None
    if counts.format != COUNTS_FORMAT:
        raise CountsError(f"{path} has format {counts.format!r}, expected {COUNTS_FORMAT!r}")
    return counts
