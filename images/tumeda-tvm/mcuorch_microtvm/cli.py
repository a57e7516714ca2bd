"""``mcuorch-microtvm``: the BUILD stage of the TVM fork's backends.

tvmc compiles the model (MLonMCU's command line for tvmaot, tvmaotplus and tvmrt: C for the C
runtime; for tvmllvm: LLVM host code for TVM's C++ runtime), then the MLF archive becomes a
codegen directory for the target software. Exit codes: 0 ok; 2 user error
(a model or option tvmc refuses, a bad option); 1 internal error. Errors are one line on stderr
(``error: <model>: ...``).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import time
from pathlib import Path

from . import cpp_runtime, crt, glue, listing, mlf, probe, tvmc
from .errors import CodegenError

EPILOG = """\
Options map to the host configuration keys <backend>.<key> (e.g. tvmaot.unpacked_api=1).
Outputs in OUT:
  model.tar      the model library format archive tvmc wrote
  tvmc.log       tvmc's command line and output
  codegen/       mcuorch_model.h, mcuorch_model.c (the executor glue), model/ (generated C),
                 include/ (CRT headers, tvmgen_default.h, crt_config.h), crt/ (CRT sources);
                 --target llvm: model/*.o (LLVM's object), include/ (TVM's C API headers),
                 lib/libtvm_runtime.so (TVM's C++ runtime)
  kernels.json   the kernel listing (-f profile): the fused operator functions an inference
                 calls, in order (--target c only)
  metrics.json   Workspace Size (AOT) or Heap Size/Heap Needed/Storage Size (graph: the heap is
                 measured by running the code once on this host), Kernels, Runtime Sources,
                 Generation Time [s]; --target llvm: Storage Size, Runtime Library Size
"""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # one line instead of usage + message
        print(f"error: {message}", file=sys.stderr)
        sys.exit(2)


def parser() -> argparse.ArgumentParser:
    p = _Parser(prog="mcuorch-microtvm", epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter,
                description="microTVM C code (TVM fork, C runtime) for a TFLite model.")
    p.add_argument("--model", type=Path, required=True)
    p.add_argument("--meta", type=Path, required=True, help="model.json of the LOAD stage")
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--executor", choices=["aot", "graph"], required=True)
    p.add_argument("--target", choices=["c", "llvm"], default="c",
                   help="c: C for the C runtime (microTVM); llvm: host code for TVM's C++ runtime")
    p.add_argument("--unpacked-api", action=argparse.BooleanOptionalAction, default=False)
    p.add_argument("--usmp", action=argparse.BooleanOptionalAction, default=False)
    p.add_argument("--usmp-algorithm", default="greedy_by_size", choices=tvmc.USMP_ALGORITHMS)
    p.add_argument("--opt-level", type=int, default=3, choices=range(4))
    p.add_argument("--desired-layout", choices=["NCHW", "NHWC"])
    p.add_argument("--disabled-passes", default="", help="comma-separated Relay/TIR pass names")
    p.add_argument("--workspace-alignment", type=int, default=16)
    p.add_argument("--constant-alignment", type=int, default=16)
    p.add_argument("--max-args", type=int, help="TVM_CRT_MAX_ARGS (graph executor; default: the graph's largest op)")
    p.add_argument("--heap-size", type=int, help="the graph executor's heap in bytes (default: from the graph)")
    p.add_argument("--crt-dir", type=Path, default=Path(os.environ.get("MCUORCH_TVM_CRT", "/opt/tvm/lib/standalone_crt")),
                   help="the fork's standalone C runtime (used when the archive carries none)")
    return p


def options(args: argparse.Namespace) -> tvmc.Options:
    return tvmc.Options(executor=args.executor, target=args.target, unpacked_api=args.unpacked_api, usmp=args.usmp,
                        usmp_algorithm=args.usmp_algorithm, opt_level=args.opt_level,
                        desired_layout=args.desired_layout,
                        disabled_passes=tuple(p for p in args.disabled_passes.split(",") if p),
                        workspace_alignment=args.workspace_alignment, constant_alignment=args.constant_alignment)


def generate(args: argparse.Namespace, meta: dict) -> tuple[dict, str]:
    o = options(args)
    out: Path = args.out
    tar = out / "model.tar"
    tvmc.compile_model(args.model, tar, o, out / "tvmc.log")
    model = mlf.extract(tar, out / "mlf")
    codegen = out / "codegen"
    (codegen / "model").mkdir(parents=True, exist_ok=True)
    for src in [*model.sources, *model.objects]:
        shutil.copy2(src, codegen / "model" / src.name)
    (codegen / "mcuorch_model.h").write_text(glue.model_header(meta))
    metrics: dict[str, int | float] = {"Kernels": model.kernel_count()}
    if o.target == "llvm":
        return _llvm_graph(args, meta, model, codegen, metrics)
    facts = glue.graph_facts(model.graph_json) if o.executor == "graph" else None
    max_args = args.max_args if args.max_args is not None else (facts.max_args if facts else 10)
    if facts and max_args < facts.max_args:
        raise CodegenError(f"max_args={max_args} is too small: an operator of this model takes "
                           f"{facts.max_args - 1} arguments, TVM_CRT_MAX_ARGS must exceed that")
    if model.include_dir.is_dir():
        shutil.copytree(model.include_dir, codegen / "include", dirs_exist_ok=True)
    metrics["Runtime Sources"] = crt.copy_runtime(model.crt_dir(args.crt_dir), o.executor, codegen, max_args)
    graph = json.loads(model.graph_json.read_text()) if facts else {}
    calls = listing.graph_calls(graph) if facts else listing.aot_calls(model.sources)
    (out / listing.LISTING).write_text(json.dumps(listing.listing(calls), indent=1) + "\n")
    if facts:
        heap = args.heap_size or 1
        (codegen / "mcuorch_model.c").write_text(glue.graph(meta, graph, o.workspace_alignment, heap))
        needed = probe.heap_peak(codegen)
        if args.heap_size is None:
            heap = needed
        elif heap < needed:
            raise CodegenError(f"heap_size={heap} is too small: setup and one inference take {needed} bytes "
                               "of the C runtime's heap")
        code = glue.graph(meta, graph, o.workspace_alignment, heap)
        metrics.update({"Heap Size": heap, "Heap Needed": needed, "Storage Size": facts.storage_bytes,
                        "CRT Max Args": max_args})
        summary = f"graph executor, {facts.nodes} nodes, heap {heap} B (tensor storage {facts.storage_bytes} B)"
    else:
        # With USMP the workspace is the generated code's own static pool; without it the MLF's
        # figure plus one alignment per allocation (the CRT's stack allocator aligns each).
        workspace = 0 if o.usmp or not model.workspace_bytes else \
            model.workspace_bytes + model.workspace_allocations() * glue.STACK_HEADER_BYTES
        pool = glue.usmp_pool_bytes(model.sources)
        if o.unpacked_api:
            code = glue.aot_c_interface(meta, model.include_dir / "tvmgen_default.h", o.workspace_alignment,
                                        workspace, pool)
        else:
            code = glue.aot_packed(meta, model.sources, o.workspace_alignment, workspace, pool)
        metrics.update({"Workspace Size": workspace + pool})
        summary = (f"AOT {'C interface, unpacked' if o.unpacked_api else 'packed'} API"
                   f"{', USMP ' + o.usmp_algorithm if o.usmp else ''}, workspace {workspace + pool} B")
    (codegen / "mcuorch_model.c").write_text(code)
    shutil.rmtree(out / "mlf")
    return metrics, f"{summary}, {metrics['Kernels']} kernels"


def _llvm_graph(args: argparse.Namespace, meta: dict, model: mlf.Mlf, codegen: Path,
                metrics: dict[str, int | float]) -> tuple[dict, str]:
    """tvmllvm: the LLVM object, TVM's C++ runtime and C glue over its graph executor."""
    if not model.objects:
        raise CodegenError("tvmc wrote no LLVM object for the host (codegen/host/lib/*.o)")
    facts = glue.graph_facts(model.graph_json)
    graph = json.loads(model.graph_json.read_text())
    library = cpp_runtime.copy_runtime(codegen)
    (codegen / "mcuorch_model.c").write_text(glue.llvm_graph(meta, graph, args.workspace_alignment))
    metrics.update({"Storage Size": facts.storage_bytes, "Runtime Library Size": library})
    shutil.rmtree(args.out / "mlf")
    return metrics, (f"C++ graph executor over LLVM code, {facts.nodes} nodes, tensor storage "
                     f"{facts.storage_bytes} B, {metrics['Kernels']} kernels")


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    name = args.model.stem
    started = time.monotonic()
    try:
        meta = json.loads(args.meta.read_text())
        name = meta.get("name", name)
        args.out.mkdir(parents=True, exist_ok=True)
        metrics, line = generate(args, meta)
    except CodegenError as exc:
        print(f"error: {name}: {exc}", file=sys.stderr)
        return 2
    metrics["Generation Time [s]"] = round(time.monotonic() - started, 3)
    (args.out / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n")
    print(f"{name}: {line}")
    return 0
