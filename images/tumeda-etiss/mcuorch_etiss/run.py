"""mcuorch-etiss-run: the RUN stage on ETISS (bare_etiss_processor, RV32IMACFD, GCC JIT).

Writes the simulator's ini (the target's memory map, clock, logger), runs app.elf, and
writes OUT/stdout.txt (the program's output through ETISS's Logger plugin, with the markers'
instret counts, which the host reads), OUT/exit_code (from the harness's `MLONMCU EXIT:` line;
ETISS itself only says the CPU finished), OUT/etiss.json (ETISS's own figures) and
OUT/etiss.log. With --trace-memory the data-bus trace streams through a pipe into a summary
(RAM stack, RAM heap in OUT/memory.json) and its first --trace-cap-mb MB stay in
OUT/dBusAccess.csv. Exit status: 0 when the program ran to its end, 2 usage error, 3 ETISS
failed or the program did not finish, 124 timeout.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

from .memtrace import TouchMap, TraceError, high_water, parse_layout

EXIT_USAGE, EXIT_ETISS, EXIT_TIMEOUT = 2, 3, 124
LOG_ADDR = 0x80000000
MEMORY = re.compile(r"^0x[0-9a-f]+:0x[0-9a-f]+(,0x[0-9a-f]+:0x[0-9a-f]+)*$")
ISA = re.compile(r"^rv32[a-z_]+$")
EXIT_LINE = re.compile(r"^MLONMCU EXIT: (-?\d+)\s*$", re.M)
FIGURES = {
    "cpu_time_s": re.compile(r"^CPU Time: ([0-9.eE+-]+)s"),
    "simulation_time_s": re.compile(r"Simulation Time: ([0-9.eE+-]+)s"),
    "cycles": re.compile(r"^CPU Cycles \(estimated\): ([0-9.eE+-]+)"),
    "mips": re.compile(r"^MIPS \(estimated\): ([0-9.eE+-]+)"),
}
FINISHED = re.compile(r"CPU0 exited with exception: 0x(?P<code>[0-9a-f]+)")
TRACE_NAME = "dBusAccess.csv"


class UsageError(Exception):
    """A mistake in the arguments or inputs: one line, exit 2."""


def parse_args(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="mcuorch-etiss-run", description=__doc__.splitlines()[0])
    p.add_argument("--elf", required=True, type=Path)
    p.add_argument("--out", required=True, type=Path)
    p.add_argument("--variant", default="pulpino", help="the system's name, recorded in etiss.json")
    p.add_argument("--memory", default="0x0:0x800000,0x800000:0x800000",
                   help="memory segments BASE:SIZE,... in hex (the target's ROM and RAM)")
    p.add_argument("--isa", default="rv32gc", help="the ELF's architecture (checked, ETISS runs RV32IMACFD)")
    p.add_argument("--fclk", type=int, default=100_000_000, help="core clock in Hz (cycle time)")
    p.add_argument("--trace-memory", action="store_true", help="memory trace -> RAM stack / RAM heap")
    p.add_argument("--trace-cap-mb", type=float, default=64.0, help="trace bytes kept in OUT")
    p.add_argument("--timeout", type=float, default=600.0, help="wall-clock limit in seconds")
    return p.parse_args(argv)


def ini_text(args: argparse.Namespace, out: Path) -> str:
    """The simulator's configuration: everything a run depends on, nothing from the image's
    example files."""
    segments = [tuple(int(v, 16) for v in part.split(":")) for part in args.memory.split(",")]
    cycle_ps = round(1e12 / args.fclk)
    lines = [
        "[StringConfigurations]",
        f"vp.elf_file={args.elf.resolve()}",
        "arch.cpu=RV32IMACFD",
        "jit.type=GCCJIT",
        f"etiss.output_path_prefix={out}/",
        "[BoolConfigurations]",
        "jit.gcc.cleanup=true",
        "jit.verify=false",
        "jit.debug=false",
        "etiss.load_integrated_libraries=true",
        "etiss.enable_dmi=true",
        f"simple_mem_system.print_dbus_access={'true' if args.trace_memory else 'false'}",
        f"simple_mem_system.print_to_file={'true' if args.trace_memory else 'false'}",
        "[IntConfigurations]",
        "etiss.loglevel=4",
        "etiss.max_block_size=100",
        f"arch.cpu_cycle_time_ps={cycle_ps}",
        *(line for i, (origin, length) in enumerate(segments)
          for line in (f"simple_mem_system.memseg_origin_{i:02d}={origin}",
                       f"simple_mem_system.memseg_length_{i:02d}={length}")),
        "[Plugin Logger]",
        f"plugin.logger.logaddr={LOG_ADDR}",
        f"plugin.logger.logmask={LOG_ADDR}",
    ]
    return "\n".join(lines) + "\n"


class TraceReader(threading.Thread):
    """Drains the trace pipe into a TouchMap, keeping the first `cap` bytes as a file."""

    def __init__(self, fifo: Path, kept: Path, cap: int) -> None:
        super().__init__(daemon=True)
        self.fifo, self.kept, self.cap = fifo, kept, cap
        self.touched = TouchMap()
        self.bytes = 0
        self.error: str | None = None

    def run(self) -> None:
        try:
            with open(self.fifo, "r", errors="replace") as pipe, open(self.kept, "w") as kept:
                for line in pipe:
                    if self.bytes < self.cap:
                        kept.write(line)
                    self.bytes += len(line)
                    if line.strip():
                        self.touched.add_line(line)
        except (OSError, TraceError) as exc:
            self.error = str(exc)


def run(argv: list[str]) -> int:
    args = parse_args(argv)
    try:
        if not args.elf.is_file():
            raise UsageError(f"ELF file {args.elf} does not exist")
        if not ISA.match(args.isa):
            raise UsageError(f"ETISS runs rv32 programs, not '{args.isa}'")
        if args.fclk <= 0:
            raise UsageError("--fclk must be positive")
        if not MEMORY.match(args.memory):
            raise UsageError(f"bad memory '{args.memory}' (want BASE:SIZE,... in hex)")
        processor = Path(os.environ.get("MCUORCH_ETISS_DIR", "/opt/etiss")) / "bin" / "bare_etiss_processor"
        if not processor.is_file():
            raise UsageError(f"{processor} not found (MCUORCH_ETISS_DIR)")
        out = args.out.resolve()
        out.mkdir(parents=True, exist_ok=True)
        for stale in ("stdout.txt", "exit_code", "etiss.json", "memory.json", "etiss.log",
                      TRACE_NAME, "etiss.ini"):
            (out / stale).unlink(missing_ok=True)
    except (UsageError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE

    ini = out / "etiss.ini"
    ini.write_text(ini_text(args, out))
    # The GCC JIT's translation files go to the working directory: a scratch one, not OUT.
    scratch = Path(os.environ.get("TMPDIR", "/tmp")) / f"etiss-{os.getpid()}"
    scratch.mkdir(parents=True, exist_ok=True)
    reader = None
    if args.trace_memory:
        # ETISS writes <output_path_prefix>dBusAccess.csv: a pipe there, read while it is written.
        fifo = out / TRACE_NAME
        os.mkfifo(fifo)
        kept = scratch / TRACE_NAME
        reader = TraceReader(fifo, kept, int(args.trace_cap_mb * 1e6))
        reader.start()

    start = time.monotonic()
    with open(out / "etiss.log", "wb") as log:
        try:
            proc = subprocess.run([str(processor), f"-i{ini}"], stdin=subprocess.DEVNULL, stdout=log,
                                  stderr=subprocess.STDOUT, timeout=args.timeout, cwd=scratch)
        except subprocess.TimeoutExpired:
            print(f"error: {args.elf} did not finish within {args.timeout:g} s", file=sys.stderr)
            return EXIT_TIMEOUT
    wall = time.monotonic() - start
    log_text = (out / "etiss.log").read_text(errors="replace")
    program = _program_output(log_text)
    (out / "stdout.txt").write_text(program)

    figures: dict[str, object] = {"returncode": proc.returncode, "wall_time_s": round(wall, 6),
                                  "fclk_hz": args.fclk, "variant": args.variant}
    for name, pattern in FIGURES.items():
        found = [m for m in map(pattern.search, log_text.splitlines()) if m]
        if found:
            figures[name] = float(found[-1][1])
    finished = FINISHED.search(log_text)
    figures["exception"] = finished["code"] if finished else None
    problem = None
    if reader is not None:
        reader.join()
        fifo.unlink(missing_ok=True)
        if kept.exists():
            shutil.move(str(kept), str(out / TRACE_NAME))
        problem = _memory(reader, program, out, args.trace_cap_mb)
    (out / "etiss.json").write_text(json.dumps(figures, indent=2) + "\n")

    exit_line = EXIT_LINE.findall(program)
    if proc.returncode != 0 or finished is None:
        last = next((ln for ln in reversed(log_text.splitlines()) if ln.strip()), "")
        print(f"error: ETISS failed (exit code {proc.returncode}): {last[:200]} (see {out / 'etiss.log'})",
              file=sys.stderr)
        return EXIT_ETISS
    if not exit_line:
        print("error: the program ended without its MLONMCU EXIT line (crashed or trapped; see "
              f"{out / 'etiss.log'})", file=sys.stderr)
        return EXIT_ETISS
    if problem:
        print(f"error: {problem}", file=sys.stderr)
        return EXIT_ETISS
    (out / "exit_code").write_text(f"{int(exit_line[-1])}\n")
    return 0


def _program_output(log_text: str) -> str:
    """The Logger plugin prints the program's characters into ETISS's own output, between its
    `=== Simulation start ===` and `=== Simulation end ===` banners."""
    begin = log_text.find("=== Simulation start ===")
    end = log_text.find("=== Simulation end ===", begin + 1)
    if begin < 0:
        return ""
    body = log_text[begin + len("=== Simulation start ==="):end if end >= 0 else None]
    return body.lstrip("\n")


def _memory(reader: TraceReader, program: str, out: Path, cap_mb: float) -> str | None:
    if reader.error:
        return f"memory trace unreadable: {reader.error}"
    try:
        layout = parse_layout(program)
    except TraceError as exc:
        return str(exc)
    marks = high_water(reader.touched, layout)
    record = {**marks, "trace_bytes": reader.bytes, "trace_kept_bytes": min(reader.bytes, int(cap_mb * 1e6)),
              "trace_truncated": reader.bytes > cap_mb * 1e6, "accesses": reader.touched.accesses,
              "writes": reader.touched.writes}
    (out / "memory.json").write_text(json.dumps(record, indent=2) + "\n")
    return None


def main() -> None:
    sys.exit(run(sys.argv[1:]))
