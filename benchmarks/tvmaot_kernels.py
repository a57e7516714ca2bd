"""tvmaot's integer kernels against its float path and the published kernel libraries.

For every bundled model this runs `mcuorch` (Docker runtime, default environment) on
`riscv_qemu` rv32gc, rv32imc and rv32gcv (vector extension, clang 16 for the kernels),
`mps3_an547` (Cortex-M55) and `mps2_an386` (Cortex-M4F), with `tvmaot.kernels=int` and `float`,
at `-O2` and `-O3`; the integer kernels both for the target's ISA (`tvmaot.isa=auto`: MVE on the
M55, DSP on the M4, RVV on rv32gcv) and as portable scalar C (`tvmaot.isa=generic`). It prints
instructions per inference and per MAC, ROM, RAM and stack, the validation result against
TFLite-Micro, the reference points published for the same MLPerf Tiny models on RISC-V, and the
SIMD kernels against the scalar ones and the vendor libraries (CMSIS-NN, muRISCV-NN).

Instruction counts are exact (QEMU TCG plugin), so one session is enough. Run:
`python benchmarks/tvmaot_kernels.py [--models aww resnet] [--home DIR]`.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pandas as pd

REPO = Path(__file__).resolve().parent.parent
MODELS = ["sine_model", "aww", "vww", "resnet", "toycar"]
REFERENCES = {  # published instructions per inference on RISC-V (MLonMCU measurements)
    "aww": {"TFLite-Micro reference": 53.4e6, "muRISCV-NN": 15.7e6, "CMSIS-NN": 16.9e6},
    "resnet": {"TFLite-Micro reference": 170e6, "muRISCV-NN": 54.9e6, "CMSIS-NN": 64.0e6},
}
GOALS = {"aww": 20e6, "resnet": 94e6}
ARM_TARGETS = {"mps3_an547": "cortex-m55", "mps2_an386": "cortex-m4"}
SIMD_ARCHES = ["cortex-m55", "cortex-m4", "rv32gcv"]
# the vendor kernel library on the same core, instructions per inference: CMSIS-NN's kernels alone
# (the figures); muRISCV-NN's vector build under tflmi (tumeda, `riscv_qemu.arch=rv32gcv`)
SIMD_REFERENCES = {"aww": {"cortex-m55": ("CMSIS-NN", 1.81e6), "cortex-m4": ("CMSIS-NN", 7.65e6)},
                   "resnet": {"cortex-m55": ("CMSIS-NN", 4.94e6), "cortex-m4": ("CMSIS-NN", 31.23e6)}}
COLUMNS = ["Model", "Target", "arch", "kernels", "isa", "opt", "Run Instructions", "instr/MAC", "Total ROM",
           "Total RAM", "RAM stack", "Validation", "Validation Max Diff"]


def run_matrix(models: list[str], home: Path) -> pd.DataFrame:
    """One mcuorch session over models × targets × (arch, kernels, optimisation)."""
    gens = []
    for arch in ("rv32gc", "rv32imc", "rv32gcv"):
        for kernels in ("int", "float"):
            for opt in ("2", "3"):
                for isa in ("auto", "generic") if kernels == "int" else ("auto",):
                    gens += ["--config-gen", f"riscv_qemu.arch={arch}", f"tvmaot.kernels={kernels}",
                             f"tvmaot.isa={isa}", f"mlif.optimize={opt}", "mlif.validate=exact"]
    env = {**os.environ, "MCUORCH_HOME": str(home)}
    label = "tvmaot-kernels"
    cmd = [sys.executable, "-m", "orchestrator", "run", *models, "-b", "tvmaot", "-t", "riscv_qemu",
           "-t", "mps3_an547", "-t", "mps2_an386", *gens, "--parallel", "2", "-l", label, "-q",
           "--postprocess", "config2cols"]
    result = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True)
    if result.returncode not in (0, 1):
        sys.exit(f"mcuorch failed ({result.returncode}): {result.stderr.strip()[-2000:]}")
    df = pd.read_json(home / "results" / f"{label}.json", orient="records")
    df["arch"] = df["config_riscv_qemu.arch"].where(df["Target"] == "riscv_qemu", df["Target"].map(ARM_TARGETS))
    df["kernels"] = df["config_tvmaot.kernels"]
    # the ISA the BUILD generated for (metrics.json); rv32 targets always get scalar C
    df["isa"] = df["ISA"].where(df["kernels"] == "int", "-") if "ISA" in df else df["config_tvmaot.isa"]
    df["opt"] = "-O" + df["config_mlif.optimize"].astype(str)
    df["instr/MAC"] = (df["Run Instructions"] / df["MACs"]).round(2)
    # Arm targets ignore riscv_qemu.arch: keep one of their duplicate rows
    return df.drop_duplicates(subset=["Model", "Target", "arch", "kernels", "isa", "opt"])


def print_tables(df: pd.DataFrame) -> None:
    pd.set_option("display.width", 200)
    print(df[COLUMNS].sort_values(["Model", "Target", "arch", "kernels", "opt"]).to_string(index=False))
    print("\nInteger kernels: best optimisation level against the float path and published figures")
    for model in df["Model"].unique():
        rows = df[(df["Model"] == model) & (df["arch"] == "rv32gc") & (df["isa"].isin(["rv32gc", "-"]))]
        best_int = rows[rows["kernels"] == "int"].sort_values("Run Instructions").iloc[0]
        best_float = rows[rows["kernels"] == "float"].sort_values("Run Instructions").iloc[0]
        same_opt_float = rows[(rows["kernels"] == "float") & (rows["opt"] == best_int["opt"])].iloc[0]
        rom = best_int["Total ROM"] / same_opt_float["Total ROM"] - 1
        ram = best_int["Total RAM"] / same_opt_float["Total RAM"] - 1
        line = (f"{model:<11} rv32gc int {best_int['opt']}: {best_int['Run Instructions'] / 1e6:8.2f}M "
                f"(float best {best_float['Run Instructions'] / 1e6:.2f}M); ROM {rom:+.1%}, RAM {ram:+.1%} "
                f"vs float at {best_int['opt']}")
        if model in GOALS:
            line += f"; goal <= {GOALS[model] / 1e6:.0f}M"
            line += "".join(f"; {name} {value / 1e6:.1f}M" for name, value in REFERENCES[model].items())
        print(line)
    print("\nSIMD integer kernels (tvmaot.isa=auto) against portable scalar C (generic), best -O each")
    for model in df["Model"].unique():
        for arch in SIMD_ARCHES:
            rows = df[(df["Model"] == model) & (df["arch"] == arch) & (df["kernels"] == "int")]
            simd = rows[rows["isa"] != "generic"].sort_values("Run Instructions")
            scalar = rows[rows["isa"] == "generic"].sort_values("Run Instructions")
            if simd.empty or scalar.empty:
                continue
            best, base = simd.iloc[0], scalar.iloc[0]
            line = (f"{model:<11} {best['Target']:<11} {best['isa']:<15} {best['opt']}: "
                    f"{best['Run Instructions'] / 1e6:7.2f}M ({best['instr/MAC']:.2f}/MAC), scalar "
                    f"{base['Run Instructions'] / 1e6:.2f}M ({base['instr/MAC']:.2f}/MAC), "
                    f"x{base['Run Instructions'] / best['Run Instructions']:.2f}; exact {bool(best['Validation'])}")
            ref = SIMD_REFERENCES.get(model, {}).get(arch)
            if ref:
                line += f"; {ref[0]} {ref[1] / 1e6:.2f}M"
            print(line)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=MODELS)
    parser.add_argument("--home", type=Path, help="MCUORCH_HOME to use (default: a fresh temporary one)")
    args = parser.parse_args()
    if args.home:
        df = run_matrix(args.models, args.home)
    else:
        with tempfile.TemporaryDirectory(prefix="mcuorch-bench-") as tmp:
            df = run_matrix(args.models, Path(tmp))
    print_tables(df)
    print("\n" + json.dumps({"rows": len(df), "validation_failures": int((~df["Validation"].astype(bool)).sum())}))


if __name__ == "__main__":
    main()
