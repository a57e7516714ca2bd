"""Wall time of the 20-run default matrix: one session (`--parallel 2`) against two shards
(`--shard 1/2`, `--shard 2/2`, `--parallel 1` each) running at the same time in their own homes,
every job really executed (fresh stores, no remote cache); then `mcuorch merge` of the shards
and whether its report equals the unsharded one (wall-clock columns and the host's stack aside).

    python benchmarks/shards.py [--keep DIR]

Needs the default environment's images (make images). Prints one line per figure.
"""

from __future__ import annotations

import argparse
import math
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

REPO = Path(__file__).resolve().parents[1]
MODELS = ["sine_model", "aww", "vww", "resnet", "toycar"]
TARGETS = ["host_x86", "riscv_qemu", "mps3_an547", "mps2_an386"]
MATRIX = [*MODELS, "-b", "tvmaot", *(arg for target in TARGETS for arg in ("-t", target))]


def command(home: Path, *args: str) -> tuple[list[str], dict[str, str]]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MCUORCH_", "AWS_"))}
    env.update(MCUORCH_HOME=str(home), PYTHONPATH=str(REPO))
    return [sys.executable, "-m", "orchestrator", *args], env


def report(home: Path) -> pd.DataFrame:
    newest = max((home / "sessions").glob("*/session.json"), key=lambda p: p.stat().st_mtime)
    df = pd.read_json(newest.parent / "report.json", orient="records").drop(columns=["Session"])
    df = df.drop(columns=[c for c in df.columns if "[s]" in c])
    df.loc[df["Target"] == "host_x86", "RAM stack"] = math.nan
    return df


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--keep", type=Path, help="folder for the homes (default: a temporary one, removed)")
    args = p.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = args.keep or Path(tmp)
        argv, env = command(root / "whole", "run", *MATRIX, "--parallel", "2", "-q")
        start = time.monotonic()
        subprocess.run(argv, env=env, check=True, cwd=REPO)
        whole = time.monotonic() - start
        print(f"unsharded, --parallel 2: {whole:.1f} s")
        start = time.monotonic()
        shards = []
        for k in (1, 2):
            argv, env = command(root / f"shard{k}", "run", *MATRIX, "--shard", f"{k}/2", "-q")
            shards.append(subprocess.Popen(argv, env=env, cwd=REPO))
        if any(shard.wait() != 0 for shard in shards):
            print("error: a shard failed", file=sys.stderr)
            return 1
        both = time.monotonic() - start
        print(f"2 concurrent shards, --parallel 1 each: {both:.1f} s ({whole / both:.2f}x)")
        argv, env = command(root / "merged", "merge", str(root / "shard1"), str(root / "shard2"))
        subprocess.run(argv, env=env, check=True, cwd=REPO)
        equal = report(root / "merged").equals(report(root / "whole"))
        print(f"merged report equals the unsharded one: {equal}")
        return 0 if equal else 1


if __name__ == "__main__":
    sys.exit(main())
