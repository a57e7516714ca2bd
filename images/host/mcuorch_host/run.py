"""mcuorch-host-run: the RUN stage for the host_x86 target.

Executes app.elf natively and writes OUT/stdout.txt (what it printed), OUT/exit_code (its exit
code) and OUT/run.json (argv, wall time of the whole process). The program measures its own
region times and stack (sw/harness/platform_host.c). Exit status: 0 when the program ran to its
end, whatever its own exit code; 2 usage error; 3 the program was killed by a signal; 124 timeout.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

EXIT_USAGE, EXIT_SIGNAL, EXIT_TIMEOUT = 2, 3, 124


def parse_args(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="mcuorch-host-run", description=__doc__.splitlines()[0])
    p.add_argument("--elf", required=True, type=Path)
    p.add_argument("--out", required=True, type=Path)
    p.add_argument("--timeout", type=float, default=300.0, help="wall-clock limit in seconds")
    return p.parse_args(argv)


def run(argv: list[str]) -> int:
    args = parse_args(argv)
    elf = args.elf.resolve()
    if not elf.is_file() or not os.access(elf, os.X_OK):
        print(f"error: {args.elf} is not an executable file", file=sys.stderr)
        return EXIT_USAGE
    out = args.out.resolve()
    out.mkdir(parents=True, exist_ok=True)
    for stale in ("stdout.txt", "exit_code", "run.json"):
        (out / stale).unlink(missing_ok=True)

    expired = threading.Event()
    start = time.monotonic()
    with open(out / "stdout.txt", "wb") as stdout, open(out / "stderr.txt", "wb") as stderr:
        proc = subprocess.Popen([str(elf)], stdin=subprocess.DEVNULL, stdout=stdout,
                                stderr=stderr, cwd=out, start_new_session=True)

        def kill() -> None:
            expired.set()
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:  # ended just now
                pass

        timer = threading.Timer(args.timeout, kill)
        timer.start()
        try:
            rc = proc.wait()
        finally:
            timer.cancel()
    wall = time.monotonic() - start

    record = {"argv": [str(elf)], "returncode": rc, "wall_time_s": round(wall, 6)}
    (out / "run.json").write_text(json.dumps(record, indent=2) + "\n")
    if expired.is_set():
        print(f"error: {args.elf} did not finish within {args.timeout:g} s", file=sys.stderr)
        return EXIT_TIMEOUT
    if rc < 0:
        print(f"error: {args.elf} was killed by signal {-rc}", file=sys.stderr)
        return EXIT_SIGNAL
    (out / "exit_code").write_text(f"{rc}\n")
    return 0


def main() -> None:
    sys.exit(run(sys.argv[1:]))
