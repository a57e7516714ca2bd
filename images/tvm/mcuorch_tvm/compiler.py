"""The BUILD pipeline: TFLite → Relax → int8-bounded kernels → C kernels + static AOT program.

Stages (each in its own module; the two kernel flavours share planning and emission):

1. lowering, ``kernels="int"`` (default) — ``integer.lower``: TFLite's integer arithmetic as
   scheduled TIR, bit-exact with TFLite-Micro, no float; ``kernels="float"`` — ``frontend``
   (TVM's importer with TFLite-exact overrides), ``partition`` (kernels with int8 boundaries,
   FuseTIR) and ``schedule`` (workspace-free): dequantize → float op → quantize;
4. ``kernels``   — TIR → plain C functions;
5. ``graph`` / ``planner`` / ``emitter`` — kernel sequence, arena plan, C program.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import tvm
from tvm import relax, tirx

from . import frontend
from .emitter import emit
from .graph import extract_graph
from .integer.lower import LayerInfo
from .integer.lower import lower_with_layers as lower_integer
from .integer.isa import parse_isa
from .integer.simd import attach_helpers
from .kernels import build_kernels, kernel_symbols
from .partition import group_kernels
from .planner import ArenaPlan, check_plan, peak_live_bytes, plan_arena
from .program import Graph
from .schedule import ScheduleOptions, schedule_module
from .tflite_model import ModelInfo, describe, load_model


@dataclass(frozen=True)
class BuildOptions:
    """Every knob of the backend; the host passes them as ``tvmaot.<key>``."""

    kernels: str = "int"
    opt_level: int = 3
    unroll_reduction: int = 0
    arena_alignment: int = 16
    fuse_epilogues: bool = True
    isa: str = "generic"
    """Instruction set of the integer kernels (``integer.isa``): ``cortex-m55+mve`` and
    ``cortex-m4+dsp`` get SIMD schedules, anything else portable scalar C."""


@dataclass
class BuildResult:
    """Generated files plus what metrics and the memory plan report."""

    files: dict[str, str]
    graph: Graph
    plan: ArenaPlan
    info: ModelInfo
    metrics: dict[str, float | int | str] = field(default_factory=dict)
    layers: list[LayerInfo] = field(default_factory=list)
    """Per step (call order): layer name, operator, MACs (None where unknown: float kernels)."""


def lower_to_kernels(model_bytes: bytes, options: BuildOptions) -> tuple[tvm.IRModule, ModelInfo]:
    """Stages 1-3: a module whose ``main`` calls scheduled, fused PrimFuncs in order."""
    model = load_model(model_bytes)
    info = describe(model)
    frontend.check_supported(info)
    with tvm.transform.PassContext(opt_level=options.opt_level):
        mod = frontend.import_model(model)
        mod = relax.transform.LegalizeOps()(mod)
        mod = relax.transform.AnnotateTIROpPattern()(mod)
        mod = group_kernels(mod, merge_epilogues=options.fuse_epilogues)
        mod = relax.transform.FuseTIR()(mod)
        mod = relax.transform.DeadCodeElimination()(mod)
        mod = relax.transform.RewriteDataflowReshape()(mod)
        mod = relax.transform.DeadCodeElimination()(mod)
    mod = schedule_module(mod, ScheduleOptions(unroll_reduction=options.unroll_reduction))
    return mod, info


def build(model_bytes: bytes, model_name: str, options: BuildOptions) -> BuildResult:
    """Run the whole pipeline and return the ``codegen/`` files with plan and metrics."""
    start = time.perf_counter()
    parse_isa(options.isa)  # a malformed --isa is a user error, whichever kernels
    if options.kernels == "int":
        mod, info, layers = lower_integer(model_bytes, options)
    else:
        mod, info = lower_to_kernels(model_bytes, options)
        layers = None
    graph = extract_graph(mod)
    if layers is None or len(layers) != len(graph.steps):  # fused float kernels: name only
        layers = [LayerInfo(step.kernel, step.kernel, None) for step in graph.steps]
    symbols = kernel_symbols(mod, [step.kernel for step in graph.steps])
    for step in graph.steps:
        step.kernel = symbols[step.kernel]
    kernels = build_kernels(mod, symbols, options.opt_level)
    lives = graph.lifetimes()
    plan = plan_arena(lives, options.arena_alignment)
    check_plan(plan)
    helpers, code = attach_helpers(kernels.code)
    files = emit(graph, plan, code, kernels.prototypes, model_name, helpers)
    elapsed = time.perf_counter() - start

    weights = sum(t.nbytes for t in graph.tensors.values() if t.kind == "constant")
    metrics: dict[str, float | int | str] = {
        "Arena Size": plan.size,
        "Arena Lower Bound": peak_live_bytes(lives),
        "Weights Size": weights,
        "Kernel Count": len(graph.steps),
        "Kernel Functions": len(set(symbols.values())),
        "Kernel Code Lines": files["mcuorch_kernels.c"].count("\n"),
        "Kernel Scratch Size": max(kernels.scratch_bytes().values(), default=0),
        "Generation Time [s]": round(elapsed, 3),
        "TVM Version": str(tvm.__version__),
        "Kernels": options.kernels,
        "ISA": options.isa,
    }
    return BuildResult(files=files, graph=graph, plan=plan, info=info, metrics=metrics, layers=layers)


def prim_funcs(mod: tvm.IRModule) -> dict[str, tirx.PrimFunc]:
    """The kernels of a lowered module by name (for inspection and tests)."""
    return {gv.name_hint: f for gv, f in mod.functions.items() if isinstance(f, tirx.PrimFunc)}
