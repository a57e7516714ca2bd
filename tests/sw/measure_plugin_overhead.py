#!/usr/bin/env python3
"""Prints QEMU wall time per board without the instruction-count plugin and with each counting
mode, on a workload of about 0.7-1 G instructions (the tiny model's invoke repeated).

    .venv/bin/python tests/sw/measure_plugin_overhead.py [--repeat N] [--invokes N]

Compiles and runs inside the default environment's images (built first when missing), so it
needs only Docker. Best of N runs per cell, from mcuorch-qemu-run's run.json (QEMU process
wall time).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(REPO), str(REPO / "tests" / "integration")]
from image_exec import standalone_shell

from tests.sw.conftest import (
    GOLDEN,
    QEMU_TARGETS,
    Built,
    compile_sw,
    run_qemu,
    using_shell,
    variant_codegen,
)

MODES = ["none", "tb", "inline", "callback"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--invokes", type=int, default=200_000)
    args = parser.parse_args()
    os.environ["PYTHONDONTWRITEBYTECODE"] = "1"
    with tempfile.TemporaryDirectory() as tmp_name, standalone_shell(Path(tmp_name), ["gnu-riscv", "gnu-arm", "qemu"]) as shell, \
            using_shell(shell):
        tmp = Path(tmp_name)
        plugin = Path(shell.image_env("qemu")["MCUORCH_QEMU_PLUGIN"])
        codegen = variant_codegen(tmp, "", invoke=(
            f"    int status = 0;\n    for (int k = 0; k < {args.invokes} && status == 0; k++)\n"
            "        status = tiny_invoke();\n    return status;"))
        print(f"{'target':12} {'instructions':>13} " + " ".join(f"{m + ' [s]':>12}" for m in MODES)
              + "  overhead inline/tb")
        for target in QEMU_TARGETS:
            compile_sw(target, tmp / f"c_{target}", codegen, GOLDEN)
            built = Built(target, tmp / f"c_{target}")
            best: dict[str, float] = {}
            total = 0
            for mode in MODES:
                options = ["--no-plugin"] if mode == "none" else ["--count-mode", mode]
                times = []
                for _ in range(args.repeat):
                    ran = run_qemu(built, tmp / "r", plugin, *options)
                    if ran.returncode != 0 or ran.exit_code != 0:
                        raise SystemExit(f"{target} {mode}: {ran.stderr}")
                    times.append(json.loads((ran.out / "run.json").read_text())["wall_time_s"])
                    if mode != "none":
                        total = ran.counts["total_instructions"]
                best[mode] = min(times)
            overhead = (f"{best['inline'] / best['none'] - 1:+.0%} / {best['tb'] / best['none'] - 1:+.0%}")
            print(f"{target:12} {total:13,} " + " ".join(f"{best[m]:12.2f}" for m in MODES)
                  + f"  {overhead}")


if __name__ == "__main__":
    main()
