"""What the memory trace (`-f trace`) costs on the QEMU targets, and what it measures.

Builds aww (and any `--models`) with tvmaot for riscv_qemu and mps3_an547 through `mcuorch run
--until compile` (default environment, Docker runtime), then runs each program `--repeat` times
with mcuorch-qemu-run as the RUN stage does (plugin, inline counting) and as often with
`--trace-memory`, alternating, and prints QEMU's wall time (run.json, the QEMU process only) per
cell with the overhead, and the traced figures: RAM stack (traced and the plain run's watch),
RAM heap, Arena Touched beside the planned Arena Size. Run:
`python benchmarks/memtrace.py [--models aww sine_model] [--repeat 5]`.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO), str(REPO / "tests" / "integration")]
from image_exec import standalone_shell  # noqa: E402

from tests.sw.conftest import Built, run_qemu, using_shell  # noqa: E402

TARGETS = ["riscv_qemu", "mps3_an547"]


def compile_models(models: list[str], home: Path) -> list[tuple[str, str, Path, dict]]:
    """(model, target, COMPILE outputs, BUILD metrics) per run of one `--until compile` session."""
    env = {**os.environ, "MCUORCH_HOME": str(home), "PYTHONPATH": str(REPO)}
    targets = [arg for target in TARGETS for arg in ("-t", target)]
    cmd = [sys.executable, "-m", "orchestrator", "run", *models, "-b", "tvmaot", *targets,
           "--until", "compile", "--parallel", "2", "-q"]
    done = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        sys.exit(f"mcuorch failed ({done.returncode}): {done.stderr.strip()[-2000:]}")
    (record,) = [json.loads(p.read_text()) for p in (home / "sessions").glob("*/session.json")]
    rows = []
    for run in record["runs"]:
        jobs = run["jobs"]
        build = json.loads((home / "jobs" / "BUILD" / jobs["BUILD"] / "metrics.json").read_text())
        rows.append((run["identity"]["model"], run["identity"]["target"],
                     home / "jobs" / "COMPILE" / jobs["COMPILE"] / "outputs", build))
    return rows


def measure(built: Built, out: Path, plugin: Path, repeat: int) -> tuple[list[float], list[float], dict, dict]:
    """Wall times without and with the trace (alternating, so load drifts hit both), and the
    last counts.json of each."""
    plain_times, traced_times = [], []
    plain = traced = {}
    for _ in range(repeat):
        for options, times in (((), plain_times), (("--trace-memory",), traced_times)):
            ran = run_qemu(built, out, plugin, *options)
            if ran.returncode != 0 or ran.exit_code != 0:
                raise SystemExit(f"{built.target} {options}: {ran.stderr}")
            times.append(json.loads((out / "run.json").read_text())["wall_time_s"])
            if options:
                traced = ran.counts
            else:
                plain = ran.counts
    return plain_times, traced_times, plain, traced


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=["aww"])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    os.environ["PYTHONDONTWRITEBYTECODE"] = "1"
    with tempfile.TemporaryDirectory() as tmp_name, \
            standalone_shell(Path(tmp_name), ["tvm", "tflite", "gnu-riscv", "gnu-arm", "qemu"]) as shell, \
            using_shell(shell):
        tmp = Path(tmp_name)
        plugin = Path(shell.image_env("qemu")["MCUORCH_QEMU_PLUGIN"])
        print(f"{'model':10} {'target':11} {'instructions':>12} {'plain [s]':>16} {'trace [s]':>16} "
              f"{'overhead':>9} {'stack watch':>11} {'RAM stack':>9} {'RAM heap':>8} {'Arena Touched':>13} "
              f"{'Arena Size':>10}")
        for model, target, outputs, build in compile_models(args.models, tmp / "home"):
            plain_t, traced_t, plain, traced = measure(Built(target, outputs), tmp / "r", plugin, args.repeat)
            trace = traced["memtrace"]
            arena = trace.get("arena", {}).get("touched", "-")
            p, t = statistics.median(plain_t), statistics.median(traced_t)
            print(f"{model:10} {target:11} {plain['total_instructions']:12,} "
                  f"{p:7.3f} ({min(plain_t):.3f}) {t:7.3f} ({min(traced_t):.3f}) {t / p - 1:+9.0%} "
                  f"{plain['stack']['high_water']:11} {trace['stack']['high_water']:9} "
                  f"{trace['heap']['high_water']:8} {arena:>13} {build.get('Arena Size', '-'):>10}")
        print(f"wall times: median (best) of {args.repeat} QEMU processes each, plain and traced alternating")


if __name__ == "__main__":
    main()
