"""mcuorch-spike-run: the RUN stage on Spike.

Runs app.elf on Spike with the ISA the target names: bare metal (HTIF: tohost/fromhost) in the
memory the target names, or with --pk as a user-mode program under the proxy kernel pk (in
Spike's default memory, pages populated at load: `pk -p`). The program's output goes into
OUT/stdout.txt (with the markers' instret counts, which the host reads); OUT/exit_code (the
program's) and OUT/run.json are written. Exit status: 0 when the program ran to its end,
whatever its own exit code; 2 usage or input error; 3 Spike failed; 124 timeout.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

EXIT_USAGE, EXIT_SPIKE, EXIT_TIMEOUT = 2, 3, 124
PK = Path("/opt/spike/riscv32-unknown-elf/bin/pk")
"""The proxy kernel (rv32imac, built in the image beside Spike)."""
ISA = re.compile(r"^rv(32|64)[a-z0-9_]+$")
MEMORY = re.compile(r"^0x[0-9a-f]+:0x[0-9a-f]+(,0x[0-9a-f]+:0x[0-9a-f]+)*$")


class UsageError(Exception):
    """A mistake in the arguments or inputs: one line, exit 2."""


def parse_args(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="mcuorch-spike-run", description=__doc__.splitlines()[0])
    p.add_argument("--elf", required=True, type=Path)
    p.add_argument("--out", required=True, type=Path)
    p.add_argument("--isa", default="rv32gc", help="Spike --isa, e.g. rv32gc, rv32imc")
    p.add_argument("--memory", default=None,
                   help="Spike -m: BASE:SIZE[,BASE:SIZE] in hex (the target's flash and RAM; "
                        "default: Spike's own, 2 GiB at 0x80000000)")
    p.add_argument("--pk", action="store_true",
                   help="run app.elf as a user-mode program under the proxy kernel pk")
    p.add_argument("--timeout", type=float, default=600.0, help="wall-clock limit in seconds")
    return p.parse_args(argv)


def spike_argv(args: argparse.Namespace, pk: Path = PK) -> list[str]:
    """Spike's command line. Under pk, `-p` maps every page of the program at load time, so no
    page fault (pk code, counted by instret) falls into a measured region."""
    if not ISA.match(args.isa):
        raise UsageError(f"bad ISA '{args.isa}' (want e.g. rv32gc)")
    if args.memory is not None and not MEMORY.match(args.memory):
        raise UsageError(f"bad memory '{args.memory}' (want BASE:SIZE in hex)")
    binary = shutil.which("spike")
    if binary is None:
        raise UsageError("spike not found on PATH")
    argv = [binary, f"--isa={args.isa}", *([f"-m{args.memory}"] if args.memory else [])]
    if args.pk:
        letters = set(args.isa[4:].split("_")[0].replace("g", "imafd"))
        if not args.isa.startswith("rv32") or not {"a", "c"} <= letters:
            raise UsageError(f"pk (built for rv32imac) cannot run on ISA '{args.isa}': it needs rv32 with A and C")
        if not pk.is_file():
            raise UsageError(f"the proxy kernel {pk} is missing from this image")
        argv += [str(pk), "-p"]
    return argv + [str(args.elf.resolve())]


def run(argv: list[str]) -> int:
    args = parse_args(argv)
    try:
        if not args.elf.is_file():
            raise UsageError(f"ELF file {args.elf} does not exist")
        command = spike_argv(args)
        out = args.out.resolve()
        out.mkdir(parents=True, exist_ok=True)
        for stale in ("stdout.txt", "exit_code", "run.json", "spike.log"):
            (out / stale).unlink(missing_ok=True)
    except (UsageError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE

    start = time.monotonic()
    with open(out / "stdout.txt", "wb") as stdout, open(out / "spike.log", "wb") as log:
        try:
            rc = subprocess.run(command, stdin=subprocess.DEVNULL, stdout=stdout, stderr=log,
                                timeout=args.timeout).returncode
        except subprocess.TimeoutExpired:
            print(f"error: {args.elf} did not finish within {args.timeout:g} s", file=sys.stderr)
            return EXIT_TIMEOUT
    wall = time.monotonic() - start
    (out / "run.json").write_text(json.dumps({"argv": command, "returncode": rc, "wall_time_s": round(wall, 6)},
                                             indent=2) + "\n")
    if rc < 0:
        print(f"error: spike was killed by signal {-rc}", file=sys.stderr)
        return EXIT_SPIKE
    if rc != 0 and not (out / "stdout.txt").stat().st_size:
        log = (out / "spike.log").read_text(errors="replace").strip().splitlines()
        print(f"error: spike failed (exit code {rc}): {log[-1] if log else 'no output'} (see {out / 'spike.log'})",
              file=sys.stderr)
        return EXIT_SPIKE
    (out / "exit_code").write_text(f"{rc}\n")
    return 0


def main() -> None:
    sys.exit(run(sys.argv[1:]))
