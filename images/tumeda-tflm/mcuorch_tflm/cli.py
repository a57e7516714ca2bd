"""``mcuorch-tflmi``: the BUILD stage of backend ``tflmi`` (TFLite-Micro's interpreter).

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
from pathlib import Path

from .codegen import TREE_OF_KERNELS, CodegenError, plan, write

EPILOG = """\
Options map to the host configuration keys tflmi.<key> (e.g. tflmi.arena_size=65536).
Outputs in OUT:
  codegen/       mcuorch_model.h, tflm_model.cc (wrapper, op resolver), model_data.cc,
                 mcuorch.cmake (included by the target software), tflm/ (runtime subset)
  metrics.json   Arena Size, Arena Estimate, Runtime Sources, Generation Time [s]
"""
# The host measures with 64-bit pointers (larger bookkeeping than on a 32-bit target) and the
# reference kernels; optimised kernels also ask for scratch buffers whose size depends on the
# core's SIMD, so they get headroom.
SCRATCH_HEADROOM = {"reference": (1.0, 0), "cmsisnn": (1.25, 4096), "muriscvnn": (1.25, 4096)}


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="mcuorch-tflmi", description="TFLite-Micro interpreter code for a "
                                "TFLite model, with the model's ops and a sized arena.", epilog=EPILOG,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", type=Path, required=True)
    p.add_argument("--meta", type=Path, required=True, help="model.json of the LOAD stage")
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--kernels", choices=sorted(TREE_OF_KERNELS), default="reference")
    p.add_argument("--arena-size", type=int, help="tensor arena bytes (default: measured from the model)")
    p.add_argument("--tflm-dir", type=Path, default=Path(os.environ.get("MCUORCH_TFLM_DIR", "/opt/tflm")))
    return p


def measured_arena(model: Path, kernels: str) -> tuple[int, int]:
    """(arena bytes for the target, the smallest arena the host allocation fits in)."""
    result = subprocess.run(["mcuorch-tflm-arena", str(model)], capture_output=True, text=True)
    if result.returncode != 0:
        raise CodegenError(result.stderr.strip().splitlines()[-1].removeprefix("error: ")
                           if result.stderr.strip() else f"arena tool failed ({result.returncode})")
    needed = int(json.loads(result.stdout)["arena_min_bytes"])
    factor, extra = SCRATCH_HEADROOM[kernels]
    return int(needed * factor) + extra, needed


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    name = args.model.stem
    started = time.monotonic()
    try:
        if args.arena_size is not None and args.arena_size <= 0:
            raise CodegenError(f"--arena-size must be positive, got {args.arena_size}")
        meta = json.loads(args.meta.read_text())
        name = meta.get("name", name)
        index = json.loads((args.tflm_dir / "index.json").read_text())
        estimate, host_used = measured_arena(args.model, args.kernels)
        arena = args.arena_size if args.arena_size is not None else estimate
        p = plan(meta, index, args.kernels, arena)
        summary = write(args.out / "codegen", args.model.read_bytes(), meta, p, index, args.tflm_dir)
    except CodegenError as exc:
        print(f"error: {name}: {exc}", file=sys.stderr)
        return 2
    metrics = {"Arena Size": summary["arena_bytes"], "Arena Estimate": host_used,
               "Runtime Sources": summary["runtime_sources"], "Kernels": summary["kernels"],
               "Generation Time [s]": round(time.monotonic() - started, 3)}
    (args.out / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n")
    print(f"{name}: {len(summary['ops'])} op(s) ({', '.join(summary['ops'])}), arena {summary['arena_bytes']} B, "
          f"{summary['runtime_sources']} runtime sources ({summary['kernels']} kernels)")
    return 0
