"""A generic schedule that leaves fused kernels without any intermediate tensor in memory.

A fused PrimFunc straight out of ``FuseTIR`` materialises every stage (dequantized input,
padded input, float accumulator, bias add, ...) as a full-size buffer; on a CPU target TVM
turns those into ``TVMBackendAllocWorkspace`` calls (80-156 KB for the MLPerf Tiny models).
This schedule removes them:

1. every non-reduction stage that is not the kernel output is inlined into its consumers
   (dequantize, pad, bias add, requantize, exp of softmax, ...);
2. the remaining epilogue of each reduction is computed under the reduction's innermost spatial
   loop, so the accumulator shrinks to a scalar;
3. reduction initialisation is hoisted out of the reduction loops.

Optionally, reduction loops up to a given extent are fully unrolled (a speed/size trade-off).
"""

from __future__ import annotations

from dataclasses import dataclass

import tvm
from tvm import s_tir, tirx
from tvm.s_tir.schedule.analysis import is_output_block

from .errors import InternalError


@dataclass(frozen=True)
class ScheduleOptions:
    """Variants selectable from the command line (``tvmaot.<key>`` on the host)."""

    unroll_reduction: int = 0  # fully unroll reduction loops with extent <= this (0 = never)


_SPATIAL = 0  # IterVar.DataPar
_REDUCE = 2  # IterVar.CommReduce


def _iter_types(sch: s_tir.Schedule, block) -> list[int]:
    return [int(iv.iter_type) for iv in sch.get(block).iter_vars]


def _is_reduction(sch: s_tir.Schedule, block) -> bool:
    return _REDUCE in _iter_types(sch, block)


def _blocks(sch: s_tir.Schedule) -> list:
    return list(sch.get_child_blocks(sch.get_sblock("root")))


def _inline_all(sch: s_tir.Schedule) -> None:
    """Inline non-reduction, non-output blocks until nothing changes."""
    changed = True
    while changed:
        changed = False
        for block in _blocks(sch):
            if is_output_block(sch, block) or _is_reduction(sch, block):
                continue
            try:
                sch.compute_inline(block)
            except s_tir.ScheduleError:
                try:
                    sch.reverse_compute_inline(block)
                except s_tir.ScheduleError:
                    continue
            changed = True
            break


def _attach_epilogues(sch: s_tir.Schedule, opts: ScheduleOptions) -> None:
    """Move each reduction's single consumer under its spatial loops; hoist the init."""
    for block in _blocks(sch):
        if not _is_reduction(sch, block):
            continue
        types = _iter_types(sch, block)
        n_spatial = len(types) - types.count(_REDUCE)
        loops = sch.get_loops(block)
        consumers = sch.get_consumers(block)
        if n_spatial > 0 and len(consumers) == 1 and not _is_reduction(sch, consumers[0]):
            try:
                sch.reverse_compute_at(consumers[0], loops[n_spatial - 1], preserve_unit_loops=False)
            except s_tir.ScheduleError:
                pass
        loops = sch.get_loops(block)
        if len(loops) > n_spatial:
            sch.decompose_reduction(block, loops[n_spatial])
            if opts.unroll_reduction > 0:
                for loop in loops[n_spatial:]:
                    extent = sch.get(loop).extent
                    if isinstance(extent, tirx.IntImm) and int(extent) <= opts.unroll_reduction:
                        sch.unroll(loop)


def schedule_kernel(func: tirx.PrimFunc, opts: ScheduleOptions) -> tirx.PrimFunc:
    """Return ``func`` scheduled so that it needs no workspace beyond a few scalars."""
    try:
        sch = s_tir.Schedule(func)
        _inline_all(sch)
        _attach_epilogues(sch, opts)
        return sch.mod["main"]
    except s_tir.ScheduleError as err:
        raise InternalError(f"schedule failed: {str(err).splitlines()[0]}") from err


def schedule_module(mod: tvm.IRModule, opts: ScheduleOptions) -> tvm.IRModule:
    """Schedule every PrimFunc of a module (Relax functions are kept as they are)."""
    updated = {}
    for gv, func in mod.functions.items():
        if isinstance(func, tirx.PrimFunc):
            updated[gv] = schedule_kernel(func, opts)
    for gv, func in updated.items():
        mod[gv] = func
    return mod
