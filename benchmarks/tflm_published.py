"""TFLite-Micro's interpreter on Spike with reference, muRISCV-NN and CMSIS-NN kernels, beside
the figures MLonMCU published for the same MLPerf Tiny models (instructions per inference).

Runs the issue's command in the tumeda environment:
`mcuorch run --env tumeda aww resnet -b tflmi -t spike --feature-gen _ --feature-gen muriscvnn
--feature-gen cmsisnn -c mlif.optimize=3` and prints our Run Instructions next to the published
ones (Spike, GCC + newlib toolchain, TFLite-Micro of that time), with the ratio. Spike counts
instructions exactly, so one session is enough. Run:
`python benchmarks/tflm_published.py [--models aww resnet] [--home DIR] [--parallel N]`.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pandas as pd

REPO = Path(__file__).resolve().parent.parent
PUBLISHED = {  # MLonMCU's published instructions per inference on Spike (rv32gc, -O3)
    "aww": {"reference": 53.4e6, "muriscvnn": 15.7e6, "cmsisnn": 16.9e6},
    "resnet": {"reference": 170e6, "muriscvnn": 54.9e6, "cmsisnn": 64.0e6},
}
KERNELS = ("reference", "muriscvnn", "cmsisnn")


def run_matrix(models: list[str], home: Path, parallel: int) -> pd.DataFrame:
    env = {**os.environ, "MCUORCH_HOME": str(home)}
    label = "tflm-published"
    cmd = [sys.executable, "-m", "orchestrator", "run", "--env", "tumeda", *models, "-b", "tflmi", "-t", "spike",
           "--feature-gen", "_", "--feature-gen", "muriscvnn", "--feature-gen", "cmsisnn",
           "-c", "mlif.optimize=3", "--parallel", str(parallel), "-l", label, "-q"]
    result = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True)
    if result.returncode not in (0, 1):
        sys.exit(f"mcuorch failed ({result.returncode}): {result.stderr.strip()[-2000:]}")
    df = pd.read_json(home / "results" / f"{label}.json", orient="records")
    df["kernels"] = [next((f for f in feats if f in KERNELS), "reference") for feats in df["Features"]]
    return df


def print_table(df: pd.DataFrame) -> None:
    print(f"{'model':<8} {'kernels':<10} {'ours':>10} {'published':>10} {'ratio':>7}  "
          f"{'ROM':>8} {'RAM':>8}  validation")
    for _, row in df.sort_values(["Model", "kernels"]).iterrows():
        ours = row.get("Run Instructions")
        published = PUBLISHED.get(row["Model"], {}).get(row["kernels"])
        ratio = f"{ours / published:6.2f}x" if published and pd.notna(ours) else "-"
        ours_text = f"{ours / 1e6:9.2f}M" if pd.notna(ours) else "failed"
        pub_text = f"{published / 1e6:9.1f}M" if published else "-"
        valid = row.get("Validation") if not row.get("Failing") else f"failing: {row.get('Reason')}"
        print(f"{row['Model']:<8} {row['kernels']:<10} {ours_text:>10} {pub_text:>10} {ratio:>7}  "
              f"{row.get('Total ROM', float('nan')):>8.0f} {row.get('Total RAM', float('nan')):>8.0f}  {valid}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=list(PUBLISHED))
    parser.add_argument("--home", type=Path, help="MCUORCH_HOME to use (default: a fresh temporary one)")
    parser.add_argument("--parallel", type=int, default=2)
    args = parser.parse_args()
    if args.home:
        df = run_matrix(args.models, args.home, args.parallel)
    else:
        with tempfile.TemporaryDirectory(prefix="mcuorch-bench-") as tmp:
            df = run_matrix(args.models, Path(tmp), args.parallel)
    print_table(df)


if __name__ == "__main__":
    main()
