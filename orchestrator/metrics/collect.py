"""Report columns from what COMPILE and RUN leave behind (the collectors' entry points).

`elf_metrics` reads app.elf with the target's memory map (and app.map, the linker's map, for the
ROM split by origin); `run_metrics` merges the harness's `# Name: value` lines with the plugin's
counts.json. The program's exit code is judged by the
caller (orchestrator.components.collectors), which also turns 0x10/0x11 into failures; here
`Validation` is True when the harness compared outputs in a real mode and exited with 0, and
False when it reported an output mismatch (0x12).
"""

from __future__ import annotations

from pathlib import Path

from orchestrator.errors import CollectError

from .counts import CountsError, instret_counts, load_counts
from .elf_memory import StaticMemory, static_memory
from .harness_output import EXIT_MISMATCH, EXIT_OK, parse_harness_output
from .link_map import read_link_map
from .rom_split import rom_split
from .targets import load_target, target_names

Value = int | float | bool | str


def elf_metrics(elf: Path, target: str, sw_dir: Path | None = None,
                link_map: Path | None = None) -> dict[str, int]:
    """Static memory columns of `elf`, placed by the memory map of `target` (sw/targets).

    A target the target software does not describe (its program was built elsewhere) is
    classified by section flags alone, like the Linux host. With the linker's `link_map` the
    ROM split by origin (`ROM weights` ... `ROM other`) joins them; without one it stays absent."""
    memory = program_memory(elf, target, sw_dir)
    columns = memory.columns()
    sections = read_link_map(link_map) if link_map is not None else []
    if sections:
        columns.update(rom_split(memory, sections).columns())
    return columns


def program_memory(elf: Path, target: str, sw_dir: Path | None = None) -> StaticMemory:
    """`static_memory` of `elf` with `target`'s memory map when sw/targets describes it."""
    if target not in target_names(sw_dir):
        return static_memory(elf)
    spec = load_target(target, sw_dir)
    return static_memory(elf, spec.memory.flash, spec.memory.ram)


def run_metrics(stdout: str, counts: Path | None, target: str, *, complete: bool = False) -> dict[str, Value]:
    """Columns of one run of `target`: everything the harness printed between its markers, the
    instruction counts and stack high-water mark from `counts` (QEMU boards), and `Validation`.
    Nothing is filled in that was not measured; `target` names the run in messages. With
    `complete` (a program that exited normally) output without both harness markers is a
    CollectError: blank columns must never pass as a measured run."""
    harness = parse_harness_output(stdout)
    if complete and not harness.finished:
        where = "no start marker" if not harness.started else "no finish marker after the start"
        raise CollectError(f"{target}: the program's output is incomplete ({where} in "
                           f"{len(stdout.encode())} bytes of stdout)")
    metrics: dict[str, Value] = dict(harness.metrics)
    if counts is not None:
        try:
            metrics.update(load_counts(counts).columns())
        except CountsError as exc:
            raise CountsError(f"{target}: {exc.message}") from None
    elif (counted := instret_counts(stdout, target)) is not None:
        metrics.update(counted.columns())  # Spike, ETISS: the markers' own instret reads
    if harness.harness_exit == EXIT_MISMATCH:
        metrics["Validation"] = False
    checked = "Validation Mismatches" in metrics and harness.validation_mode not in (None, "none")
    if checked and harness.harness_exit == EXIT_OK and harness.finished:
        metrics["Validation"] = True
    if checked:
        metrics["Validation Mode"] = harness.validation_mode
    return metrics
