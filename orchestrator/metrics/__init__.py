"""Host-side metrics: static memory from ELF files, parsers of the harness output and of the
instruction counts, and the per-target facts shared with the target software (sw/targets)."""

from .collect import elf_metrics, run_metrics
from .counts import Counts, CountsError, load_counts
from .elf_memory import ElfMetricsError, StaticMemory, static_memory
from .harness_output import HarnessOutput, parse_harness_output
from .targets import (
    CompiledTarget,
    MemoryRegion,
    TargetError,
    TargetSpec,
    load_compiled_target,
    load_target,
    target_names,
)

__all__ = [
    "CompiledTarget", "Counts", "CountsError", "ElfMetricsError", "HarnessOutput", "MemoryRegion",
    "StaticMemory", "TargetError", "TargetSpec", "elf_metrics", "load_compiled_target",
    "load_counts", "load_target", "parse_harness_output", "run_metrics", "static_memory",
    "target_names",
]
