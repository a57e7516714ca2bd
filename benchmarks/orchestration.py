"""Orchestration overhead with the local runtime, and the speed-up of --parallel 2.

Uses a no-op toolchain (benchmarks/noop_plugin.py: every stage is a short `sh -c`) so what
is measured is mcuorch itself: planning, keys, store, locks, publication, collection and
reports. Prints:

- overhead per executed job = (session wall time - time spent inside job processes) / jobs,
- time per cached job (an identical second session),
- wall time of 8 runs whose RUN stage sleeps, with --parallel 1 and 2, and the speed-up,
- dispatching short subprocess jobs from worker threads vs worker processes.

Run: `python benchmarks/orchestration.py` (or `make bench`).
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from pathlib import Path

from rich.console import Console

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from orchestrator.matrix import MatrixRequest  # noqa: E402
from orchestrator.runner import SessionOptions, SessionRunner, prepare  # noqa: E402

ENV = HERE / "noop.yml.j2"
QUIET = Console(file=open(os.devnull, "w"))


def _session(request: MatrixRequest, parallel: int, rerun: bool = False) -> tuple[float, float, dict[str, int]]:
    """(wall seconds, seconds inside jobs, job counts) of one session."""
    prepared = prepare(str(ENV), request)
    options = SessionOptions(env=str(ENV), request=request, parallel=parallel, runtime="local", rerun=rerun,
                             quiet=True)
    start = time.perf_counter()
    result = SessionRunner(QUIET).run(options, threading.Event(), prepared=prepared)
    wall = time.perf_counter() - start
    unique = {id(o.job): o.duration_sec for r in result.results for o in r.outcomes.values()
              if o.status.value == "done"}
    inside = sum(unique.values())
    if any(r.failing for r in result.results):
        raise SystemExit("benchmark session failed: " + str([r.reason for r in result.results if r.failing]))
    return wall, inside, result.record.counts


def _run_true(_: int) -> float:
    start = time.perf_counter()
    subprocess.run(["true"], check=True)
    return time.perf_counter() - start


def _dispatch(pool_cls: type, jobs: int, workers: int) -> float:
    start = time.perf_counter()
    with pool_cls(max_workers=workers) as pool:
        list(pool.map(_run_true, range(jobs)))
    return time.perf_counter() - start


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="mcuorch-bench-") as tmp:
        models = Path(tmp) / "models" / "noop_model"
        models.mkdir(parents=True)
        (models / "model.tflite").write_bytes(b"noop model")
        os.environ.update(MCUORCH_HOME=str(Path(tmp) / "home"), MCUORCH_MODELS=str(models.parent),
                          MCUORCH_PLUGINS=str(HERE / "noop_plugin.py"))

        # Every run distinct in every stage: 16 runs -> 64 executed jobs.
        distinct = MatrixRequest(models=["noop_model"], config_gen=[[f"noopfe.variant={i}"] for i in range(16)])
        wall, inside, counts = _session(distinct, parallel=1)
        jobs = counts["done"]
        print(f"executed jobs:          {jobs} in {wall:.2f} s wall, {inside:.2f} s inside job processes")
        print(f"overhead per job:       {(wall - inside) / jobs * 1000:.1f} ms (local runtime, --parallel 1)")
        wall_cached, _, counts = _session(distinct, parallel=1)
        print(f"cached session:         {counts['cached']} cache hits in {wall_cached:.2f} s "
              f"({wall_cached / counts['cached'] * 1000:.1f} ms per job)")

        # 8 runs whose RUN sleeps 0.5 s; LOAD/BUILD/COMPILE shared and cached first.
        sleepy = MatrixRequest(models=["noop_model"],
                               config_gen=[[f"nooptarget.sleep_ms={500 + i}"] for i in range(8)])
        _session(sleepy, parallel=1)
        serial, _, _ = _session(sleepy, parallel=1, rerun=True)
        parallel, _, _ = _session(sleepy, parallel=2, rerun=True)
        print(f"8 runs (+shared stages), --parallel 1: {serial:.2f} s, --parallel 2: {parallel:.2f} s, "
              f"speed-up {serial / parallel:.2f}x")

        for workers in (1, 2):
            threads = _dispatch(ThreadPoolExecutor, 200, workers)
            processes = _dispatch(ProcessPoolExecutor, 200, workers)
            print(f"200 subprocess jobs, {workers} worker(s): threads {threads:.2f} s, processes {processes:.2f} s")


if __name__ == "__main__":
    main()
