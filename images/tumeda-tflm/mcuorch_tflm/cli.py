"""``mcuorch-tflmi`` and ``mcuorch-tflmc``: the BUILD stage of the TFLite-Micro backends.

Exit codes: 0 ok; 2 user error (unsupported operator, arena too small, bad option); 1 internal
error. Errors are one line on stderr (``error: <model>: ...``).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from . import codegen, kernels, tflmc
from .common import FLAVOURS, TREE_OF_KERNELS, CodegenError

TFLMI_EPILOG = """\
Options map to the host configuration keys tflmi.<key> (e.g. tflmi.arena_size=65536).
Outputs in OUT:
  codegen/       mcuorch_model.h, tflm_model.cc (wrapper, op resolver), model_data.cc,
                 mcuorch.cmake (included by the target software), tflm/ (runtime subset)
  kernels.json   the kernel listing: per op call in order, layer name, op, MACs and the op's
                 invoke function (what `-f profile` attributes instructions to)
  metrics.json   Arena Size, Arena Estimate, Runtime Sources, Generation Time [s]
"""
TFLMC_EPILOG = """\
Options map to the host configuration keys tflmc.<key> (e.g. tflmc.kernels=cmsisnn).
Outputs in OUT:
  codegen/       mcuorch_model.h, tflmc_model.cc (adapter), model.cc and model.cc.h (written by
                 tflite_micro_compiler; with cmsisnn also model_dsp.cc/model_mve.cc where the
                 scratch buffers differ), mcuorch.cmake, tflm/ (the files the code links)
  kernels.json   the kernel listing (as tflmi's: the same kernels run in the same order)
  metrics.json   Arena Size (the largest flavour's), Runtime Sources, Generation Time [s]
"""

Generate = Callable[[argparse.Namespace, dict, dict], tuple[dict, str]]


def parser(prog: str, description: str, epilog: str, arena: bool) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog=prog, description=description, epilog=epilog,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", type=Path, required=True)
    p.add_argument("--meta", type=Path, required=True, help="model.json of the LOAD stage")
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--kernels", choices=sorted(FLAVOURS), default="reference")
    if arena:
        p.add_argument("--arena-size", type=int, help="tensor arena bytes (default: measured from the model)")
    p.add_argument("--tflm-dir", type=Path, default=Path(os.environ.get("MCUORCH_TFLM_DIR", "/opt/tflm")))
    return p


def measured_arena(model: Path, kernels: str, tflm_dir: Path) -> int:
    """The smallest arena the model allocates in on the host, the largest over the kernels'
    flavours: each host tool runs the same kernels as the target, scratch buffers included
    (64-bit bookkeeping on the host only makes it larger than a 32-bit target needs)."""
    needed = 0
    for flavour, _ in FLAVOURS[kernels]:
        tool = tflm_dir / "bin" / f"mcuorch-tflm-arena-{flavour}"
        result = subprocess.run([str(tool), str(model)], capture_output=True, text=True)
        if result.returncode != 0:
            raise CodegenError(result.stderr.strip().splitlines()[-1].removeprefix("error: ")
                               if result.stderr.strip() else f"arena tool failed ({result.returncode})")
        needed = max(needed, int(json.loads(result.stdout)["arena_min_bytes"]))
    return needed


def generate_tflmi(args: argparse.Namespace, meta: dict, index: dict) -> tuple[dict, str]:
    if args.arena_size is not None and args.arena_size <= 0:
        raise CodegenError(f"--arena-size must be positive, got {args.arena_size}")
    host_used = measured_arena(args.model, args.kernels, args.tflm_dir)
    arena = args.arena_size if args.arena_size is not None else host_used
    p = codegen.plan(meta, index, args.kernels, arena)
    summary = codegen.write(args.out / "codegen", args.model.read_bytes(), meta, p, index, args.tflm_dir)
    metrics = {"Arena Size": summary["arena_bytes"], "Arena Estimate": host_used,
               "Runtime Sources": summary["runtime_sources"], "Kernels": summary["kernels"]}
    return metrics, (f"{len(summary['ops'])} op(s) ({', '.join(summary['ops'])}), arena {summary['arena_bytes']} B, "
                     f"{summary['runtime_sources']} runtime sources ({summary['kernels']} kernels)")


def generate_tflmc(args: argparse.Namespace, meta: dict, index: dict) -> tuple[dict, str]:
    summary = tflmc.write(args.out / "codegen", args.model, meta, index, args.kernels, args.tflm_dir)
    arenas = summary["arena_bytes"]
    metrics = {"Arena Size": max(arenas.values()), "Runtime Sources": summary["runtime_sources"],
               "Kernels": summary["kernels"]}
    flavours = ", ".join(f"{size} B ({name})" for name, size in arenas.items())
    return metrics, (f"{len(summary['ops'])} op(s) ({', '.join(summary['ops'])}), arena {flavours}, "
                     f"{summary['runtime_sources']} runtime sources ({summary['kernels']} kernels)")


def run(p: argparse.ArgumentParser, generate: Generate, argv: list[str] | None) -> int:
    args = p.parse_args(argv)
    name = args.model.stem
    started = time.monotonic()
    try:
        meta = json.loads(args.meta.read_text())
        name = meta.get("name", name)
        index = json.loads((args.tflm_dir / "index.json").read_text())
        metrics, line = generate(args, meta, index)
        tree = TREE_OF_KERNELS[args.kernels]
        listing = kernels.listing(meta, args.tflm_dir / tree, index[tree])
        (args.out / kernels.LISTING).write_text(json.dumps(listing, indent=1) + "\n")
    except CodegenError as exc:
        print(f"error: {name}: {exc}", file=sys.stderr)
        return 2
    metrics["Generation Time [s]"] = round(time.monotonic() - started, 3)
    (args.out / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n")
    print(f"{name}: {line}")
    return 0


def main(argv: list[str] | None = None) -> int:
    p = parser("mcuorch-tflmi", "TFLite-Micro interpreter code for a TFLite model, with the model's ops "
               "and a sized arena.", TFLMI_EPILOG, arena=True)
    return run(p, generate_tflmi, argv)


def main_tflmc(argv: list[str] | None = None) -> int:
    p = parser("mcuorch-tflmc", "tflite_micro_compiler's pre-interpreted C++ for a TFLite model: no "
               "interpreter on the target.", TFLMC_EPILOG, arena=False)
    return run(p, generate_tflmc, argv)
