"""``mcuorch-tvmaot``: the BUILD stage of backend ``tvmaot`` (see docs/architecture.md).

Exit codes: 0 ok; 2 user error (bad input, unsupported operator); 1 internal error. Errors are
one line on stderr (``error: <model>: ...``); ``--verbose`` adds the traceback and TVM's own log.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
import tempfile
import traceback
from collections.abc import Iterator
from pathlib import Path

from .errors import TvmaotError, UserError

EPILOG = """\
Options map to the host configuration keys tvmaot.<key> (e.g. tvmaot.opt_level=2).

Outputs in OUT:
  codegen/          mcuorch_model.h (harness API), mcuorch_model.c, mcuorch_kernels.[ch]
  metrics.json      Arena Size, Weights Size, Kernel Count, Generation Time [s], ...
  memory_plan.json  arena offset, size and first/last use of every tensor; the steps in
                    call order with kernel symbol, layer name, operator, MACs and shapes
"""


def _positive_power_of_two(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1 or value & (value - 1):
        raise argparse.ArgumentTypeError(f"must be a power of two, got {text}")
    return value


def _non_negative(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = -1
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be a non-negative integer, got {text}")
    return value


FORK_KERNELS = ("cmsisnn", "muriscvnn")
"""BYOC kernel libraries of the TVM fork (tumeda); named here so the error can say so."""


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="mcuorch-tvmaot",
        description="Compile a full-int8 TFLite model with TVM (Relax) to dependency-free C "
        "with a static arena.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--model", required=True, type=Path, help="model.tflite from the LOAD stage")
    p.add_argument("--meta", required=True, type=Path, help="model.json from the LOAD stage")
    p.add_argument("--out", required=True, type=Path, help="output directory")
    p.add_argument(
        "--kernels", choices=("int", "float", "cmsisnn", "muriscvnn"), default="int",
        help="int: TFLite's integer arithmetic, bit-exact with TFLite-Micro, no float (default); "
        "float: dequantize -> float op -> quantize, for comparison; cmsisnn/muriscvnn: TVM fork "
        "only (rejected here)",
    )
    p.add_argument(
        "--opt-level", type=int, choices=range(4), default=3, metavar="{0..3}",
        help="TIR optimisation level: 0 lowering only, 1 +simplification, 2 +common "
        "subexpression elimination, 3 +if-hoisting and loop partitioning (default 3)",
    )
    p.add_argument(
        "--unroll-reduction", type=_non_negative, default=0, metavar="N",
        help="schedule variant: fully unroll reduction loops of extent <= N (default 0: never)",
    )
    p.add_argument(
        "--arena-alignment", type=_positive_power_of_two, default=16, metavar="BYTES",
        help="alignment of every tensor in the arena (default 16)",
    )
    p.add_argument(
        "--fuse-epilogues", action=argparse.BooleanOptionalAction, default=True,
        help="float kernels: fuse elementwise ops (residual ADD, clip) into the producing kernel "
        "(default on)",
    )
    p.add_argument(
        "--usmp", action="store_true",
        help="TVM fork only (tumeda); this backend always plans one arena: rejected here",
    )
    p.add_argument(
        "--unpacked-api", action="store_true",
        help="TVM fork only (tumeda); kernels here always take plain pointers: rejected here",
    )
    p.add_argument(
        "--isa", default="generic", metavar="ISA",
        help="instruction set of the integer kernels, as the target states it: cortex-m55+mve (Helium), "
        "cortex-m4+dsp (SMLAD) get SIMD schedules; anything else (rv32gc, generic) portable scalar C "
        "(default generic). SIMD code is guarded by the compiler's feature macro with a scalar fallback",
    )
    p.add_argument("--verbose", action="store_true", help="tracebacks and TVM log on errors")
    return p


@contextlib.contextmanager
def _native_stderr_captured(keep: bool) -> Iterator[None]:
    """Keep TVM's C++ log lines off stderr (they would break the one-line error contract)."""
    if keep:
        yield
        return
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as sink:
        os.dup2(sink.fileno(), 2)
        try:
            yield
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)


def _memory_plan(result) -> dict:
    """memory_plan.json: every arena tensor (views included) with offset and lifetime."""
    graph, plan = result.graph, result.plan
    placed = {p.name: p for p in plan.placements}
    roles: dict[str, str] = {}
    for i, name in enumerate(graph.inputs):
        roles[name] = f"input {i}"
    for i, name in enumerate(graph.outputs):
        roles[name] = (roles[name] + ", " if name in roles else "") + f"output {i}"
    producer = {step.output: step.kernel for step in graph.steps}
    tensors = []
    for name, tensor in graph.tensors.items():
        if tensor.kind == "constant":
            continue
        root = graph.root(name)
        if root not in placed:
            continue
        p = placed[root]
        tensors.append(
            {
                "tensor": name,
                "role": roles.get(name, "view" if tensor.view_of else "intermediate"),
                "view_of": tensor.view_of,
                "shape": list(tensor.shape),
                "dtype": tensor.dtype,
                "offset": p.offset,
                "size": tensor.nbytes,
                "first_use": p.first,
                "last_use": p.last,
                "producer": producer.get(name),
            }
        )
    doc = plan.to_json()
    doc.pop("buffers")
    doc["tensors"] = tensors
    doc["steps"] = [
        {"kernel": s.kernel, "inputs": s.inputs, "output": s.output, "name": layer.name,
         "op": layer.op, "macs": layer.macs,
         "input_shapes": [list(graph.tensors[n].shape) for n in s.inputs],
         "output_shape": list(graph.tensors[s.output].shape)}
        for s, layer in zip(graph.steps, result.layers)
    ]
    return doc


def run(args: argparse.Namespace, model_name: str) -> None:
    """Validate inputs, compile, write ``OUT``; raises TvmaotError subclasses on failure."""
    from .compiler import BuildOptions, build  # TVM import is slow: only after argv is valid
    from .meta import check_against_model, load_meta
    from .tflite_model import describe, load_model

    meta = load_meta(args.meta)
    try:
        model_bytes = args.model.read_bytes()
    except OSError as err:
        raise UserError(f"cannot read model {args.model}: {err.strerror or err}") from err
    check_against_model(meta, describe(load_model(model_bytes)))
    options = BuildOptions(
        kernels=args.kernels,
        opt_level=args.opt_level,
        unroll_reduction=args.unroll_reduction,
        arena_alignment=args.arena_alignment,
        fuse_epilogues=args.fuse_epilogues,
        isa=args.isa,
    )
    with _native_stderr_captured(keep=args.verbose):
        result = build(model_bytes, model_name, options)
    codegen = args.out / "codegen"
    codegen.mkdir(parents=True, exist_ok=True)
    for filename, text in sorted(result.files.items()):
        (codegen / filename).write_text(text)
    (args.out / "metrics.json").write_text(json.dumps(result.metrics, indent=2) + "\n")
    (args.out / "memory_plan.json").write_text(json.dumps(_memory_plan(result), indent=2) + "\n")


def _model_name(args: argparse.Namespace) -> str:
    try:
        raw = json.loads(args.meta.read_text())
        if isinstance(raw, dict) and isinstance(raw.get("name"), str) and raw["name"]:
            return raw["name"]
    except (OSError, ValueError):
        pass
    return args.model.stem if args.model.stem != "model" else args.model.parent.name or "model"


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    name = _model_name(args)
    fork_only = [flag for flag, used in (("--usmp", args.usmp), ("--unpacked-api", args.unpacked_api),
                                         (f"--kernels {args.kernels}", args.kernels in FORK_KERNELS)) if used]
    if fork_only:
        print(f"error: {name}: {fork_only[0]} needs the TVM fork of the tumeda environment; upstream "
              "Relax tvmaot supports --kernels int|float", file=sys.stderr)
        return 2
    try:
        run(args, name)
    except TvmaotError as err:
        if args.verbose:
            traceback.print_exc()
        print(f"error: {name}: {err}", file=sys.stderr)
        return err.exit_code
    except Exception as err:  # a crash inside TVM on a supported model
        if args.verbose:
            traceback.print_exc()
        first = next((line for line in str(err).splitlines() if line.strip()), "")
        print(f"error: {name}: internal error: {type(err).__name__}: {first}", file=sys.stderr)
        return 1
    return 0
