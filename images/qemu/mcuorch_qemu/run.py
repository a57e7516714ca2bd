"""mcuorch-qemu-run: the RUN stage for QEMU boards.

Runs app.elf with semihosting into OUT/stdout.txt under `-icount shift=0` (deterministic) with
the instruction-count plugin, and writes OUT/exit_code (the program's), OUT/counts.json (the
plugin's counts) and OUT/run.json (how QEMU was run). Exit status: 0 when the program ran to its
end, whatever its own exit code (the host judges that); 2 usage or input error; 3 QEMU failed or
the program did not terminate by itself; 124 timeout.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from .boards import BoardError, qemu_binary
from .elf import SHF_ALLOC, ElfError, ElfImage, read_elf
from .memtrace import LayoutError, TraceLayout, trace_layout
from .profile import ProfileError, describe, function_ranges, write_ranges

# Region markers of the harness (sw/harness/regions.h): name -> (begin symbol, end symbol).
MARKERS = {
    "setup": ("mcuorch_setup_begin", "mcuorch_setup_end"),
    "run": ("mcuorch_run_begin", "mcuorch_run_end"),
}
STACK_TOP_SYMBOL = "__stack"
EXIT_USAGE, EXIT_QEMU, EXIT_TIMEOUT = 2, 3, 124
COUNT_MODES = ("inline", "tb", "callback")


class UsageError(Exception):
    """A mistake in the arguments or inputs: reported as one line, exit 2."""


def default_plugin() -> Path:
    """$MCUORCH_QEMU_PLUGIN, else lib/libinsncount.so beside this package (built in the image)."""
    env = os.environ.get("MCUORCH_QEMU_PLUGIN")
    if env:
        return Path(env)
    return Path(__file__).resolve().parent.parent / "lib" / "libinsncount.so"


def parse_regions(spec: str) -> dict[str, tuple[int, int]]:
    """`name=BEGIN:END[,name=BEGIN:END]` with hex addresses."""
    regions: dict[str, tuple[int, int]] = {}
    for item in filter(None, spec.split(",")):
        name, sep, span = item.partition("=")
        begin, sep2, end = span.partition(":")
        try:
            if not (sep and sep2 and name.isidentifier()):
                raise ValueError
            regions[name] = (int(begin, 16), int(end, 16))
        except ValueError:
            raise UsageError(f"bad region '{item}' (want name=BEGIN:END in hex)") from None
    return regions


def parse_span(spec: str) -> tuple[int, int]:
    lo, sep, hi = spec.partition(":")
    try:
        if not sep:
            raise ValueError
        span = (int(lo, 16), int(hi, 16))
    except ValueError:
        raise UsageError(f"bad stack range '{spec}' (want LO:HI in hex)") from None
    if span[0] >= span[1]:
        raise UsageError(f"empty stack range '{spec}'")
    return span


def marker_regions(image: ElfImage) -> dict[str, tuple[int, int]]:
    """Regions whose two marker symbols the ELF defines."""
    found = {}
    for name, (begin, end) in MARKERS.items():
        b, e = image.symbol(begin), image.symbol(end)
        if b is not None and e is not None:
            found[name] = (b, e)
    return found


def stack_span(image: ElfImage) -> tuple[int, int] | None:
    """[end of the highest allocated section below the stack top, stack top).

    The stack grows down from __stack; the whole gap down to the static data (picolibc's
    `.stack` reservation included) is watched, so a stack that outgrows its reservation still
    shows its true depth.
    """
    top = image.symbol(STACK_TOP_SYMBOL)
    if top is None:
        return None
    low = max((s.addr + s.size for s in image.sections
               if s.flags & SHF_ALLOC and s.size and s.addr + s.size <= top), default=0)
    return (low, top) if low < top else None


def qemu_opt(value: str) -> str:
    """Escapes a value for QEMU's comma-separated option syntax."""
    return value.replace(",", ",,")


def build_argv(args: argparse.Namespace, image: ElfImage, out: Path, counts_tmp: Path,
               regions: dict[str, tuple[int, int]], stack: tuple[int, int] | None,
               ranges_file: Path | None = None, trace: TraceLayout | None = None) -> list[str]:
    board, binary = qemu_binary(args.board, image.machine, image.bits)
    if shutil.which(binary) is None:
        raise UsageError(f"{binary} not found on PATH")
    argv = [binary, "-M", board.machine, *board.extra_args]
    if args.cpu:
        argv += ["-cpu", args.cpu]
    argv += [
        "-kernel", str(Path(args.elf).resolve()),
        "-display", "none", "-serial", "none", "-monitor", "none", "-parallel", "none",
        "-icount", "shift=0",
        "-chardev", f"file,id=semihost,path={qemu_opt(str(out / 'stdout.txt'))}",
        # arg= fixes the command line the program sees (SYS_GET_CMDLINE): by default it is the
        # ELF's path, and crt0 parsing a longer path would add instructions to the count.
        "-semihosting-config", "enable=on,target=native,chardev=semihost,arg=app.elf",
    ]
    if not args.no_plugin:
        plugin_args = [f"out={qemu_opt(str(counts_tmp))}", f"mode={args.count_mode}"]
        plugin_args += [f"region={n}:{b:x}:{e:x}" for n, (b, e) in regions.items()]
        if stack is not None:
            plugin_args.append(f"stack={stack[0]:x}:{stack[1]:x}")
        if ranges_file is not None:
            plugin_args += [f"ranges={qemu_opt(str(ranges_file))}", f"profile={args.profile_region}"]
        if trace is not None:
            plugin_args += [qemu_opt(a) for a in trace.plugin_args(args.trace_region)]
        argv += ["-plugin", ",".join([qemu_opt(str(args.plugin)), *plugin_args])]
    return argv


def parse_args(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="mcuorch-qemu-run", description=__doc__.splitlines()[0])
    p.add_argument("--board", required=True, help="QEMU machine, e.g. virt, mps3-an547")
    p.add_argument("--elf", required=True, type=Path)
    p.add_argument("--out", required=True, type=Path)
    p.add_argument("--cpu", help="QEMU -cpu value, e.g. rv32,f=false,d=false,a=false")
    p.add_argument("--regions", help="override the marker addresses: name=BEGIN:END,... (hex)")
    p.add_argument("--stack", help="override the stack range LO:HI (hex)")
    p.add_argument("--timeout", type=float, default=300.0, help="wall-clock limit in seconds")
    p.add_argument("--count-mode", choices=COUNT_MODES, default="inline",
                   help="inline: exact, per-instruction inline add (default); tb: per-block add, "
                        "fastest, over-counts around MMIO accesses; callback: slow cross-check")
    p.add_argument("--plugin", type=Path, default=None, help="path of libinsncount.so")
    p.add_argument("--no-plugin", action="store_true", help="run without counting")
    p.add_argument("--profile-functions", default="",
                   help="comma-separated function names: counts.json gets a per-function profile "
                        "of every entry of --profile-region (instructions elsewhere are glue)")
    p.add_argument("--profile-region", default="run", help="the region to profile (default run)")
    p.add_argument("--trace-memory", action="store_true",
                   help="memory trace: counts.json gets `memtrace` (stack and heap high-water marks, "
                        "arena bytes written) for the whole program and for --trace-region")
    p.add_argument("--trace-region", default="run", help="the region traced apart (default run)")
    return p.parse_args(argv)


def run(argv: list[str]) -> int:
    args = parse_args(argv)
    try:
        return _run(args)
    except (UsageError, BoardError, ElfError, ProfileError, LayoutError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE


def _run(args: argparse.Namespace) -> int:
    if not args.elf.is_file():
        raise UsageError(f"ELF file {args.elf} does not exist")
    args.plugin = args.plugin or default_plugin()
    if not args.no_plugin and not args.plugin.is_file():
        raise UsageError(f"instruction-count plugin {args.plugin} not found "
                         "(build it with images/qemu/plugin/build.sh or set MCUORCH_QEMU_PLUGIN)")
    image = read_elf(args.elf)
    regions = parse_regions(args.regions) if args.regions else marker_regions(image)
    stack = parse_span(args.stack) if args.stack else stack_span(image)

    out = args.out.resolve()
    out.mkdir(parents=True, exist_ok=True)
    for stale in ("stdout.txt", "exit_code", "counts.json", "run.json", "profile_ranges.txt"):
        (out / stale).unlink(missing_ok=True)
    counts_tmp = out / "counts.json.part"
    counts_tmp.unlink(missing_ok=True)
    names = [n for n in args.profile_functions.split(",") if n]
    ranges_file = None
    if names:
        if args.no_plugin:
            raise UsageError("--profile-functions needs the plugin (drop --no-plugin)")
        if args.profile_region not in regions:
            raise UsageError(f"--profile-region {args.profile_region}: the ELF has no such region")
        rows = function_ranges(image, names)
        ranges_file = out / "profile_ranges.txt"
        write_ranges(rows, ranges_file)
    trace = None
    if args.trace_memory:
        if args.no_plugin:
            raise UsageError("--trace-memory needs the plugin (drop --no-plugin)")
        trace = trace_layout(image)
    qemu_argv = build_argv(args, image, out, counts_tmp, regions, stack, ranges_file, trace)

    start = time.monotonic()
    with open(out / "qemu.log", "wb") as log:
        proc = subprocess.Popen(qemu_argv, stdin=subprocess.DEVNULL, stdout=log,
                                stderr=subprocess.STDOUT, start_new_session=True)
        # A blocking wait plus a kill timer: Popen.wait(timeout=) polls in up to 50 ms steps,
        # which would blur the wall times recorded in run.json.
        expired = threading.Event()

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
    if expired.is_set():
        counts_tmp.unlink(missing_ok=True)
        print(f"error: {args.elf} did not finish within {args.timeout:g} s", file=sys.stderr)
        return EXIT_TIMEOUT

    record = {
        "argv": qemu_argv, "returncode": rc, "wall_time_s": round(wall, 6),
        "regions": {n: [f"0x{b:x}", f"0x{e:x}"] for n, (b, e) in regions.items()},
        "stack": [f"0x{stack[0]:x}", f"0x{stack[1]:x}"] if stack else None,
        "plugin": None if args.no_plugin else str(args.plugin), "count_mode": args.count_mode,
        "trace": None if trace is None else trace.describe(),
    }
    (out / "run.json").write_text(json.dumps(record, indent=2) + "\n")

    problem = _qemu_problem(rc, out, counts_tmp, args.no_plugin, qemu_argv[0])
    if problem:
        counts_tmp.unlink(missing_ok=True)
        print(f"error: {problem} (see {out / 'qemu.log'})", file=sys.stderr)
        return EXIT_QEMU
    if names:
        _name_functions(counts_tmp, describe(names, rows))
    if not args.no_plugin:
        counts_tmp.replace(out / "counts.json")
    (out / "exit_code").write_text(f"{rc}\n")
    return 0


def _qemu_problem(rc: int, out: Path, counts_tmp: Path, no_plugin: bool, binary: str) -> str | None:
    """Why this was not a program running to its end, or None.

    With the plugin, its result proves that the guest ran and QEMU shut down normally (the plugin
    writes at exit; QEMU errors before start-up leave a count of zero, aborts leave nothing).
    """
    if rc < 0:
        return f"QEMU was killed by signal {-rc}"
    log = (out / "qemu.log").read_text(errors="replace").splitlines()
    errors = [line for line in log if line.startswith(f"{binary}:") and "warning" not in line]
    detail = f": {errors[0]}" if errors else ""
    if no_plugin:
        return f"QEMU failed with exit code {rc}{detail}" if rc != 0 and errors else None
    try:
        counts = json.loads(counts_tmp.read_text())
    except (OSError, ValueError):
        return f"QEMU ended (exit code {rc}) without the plugin's result{detail}"
    if counts.get("total_instructions", 0) == 0:
        return f"QEMU ended (exit code {rc}) before the program ran{detail}"
    return None


def _name_functions(counts_file: Path, functions: list[dict[str, object]]) -> None:
    """The plugin knows IDs only: add each ID's function name and ranges to its profile."""
    counts = json.loads(counts_file.read_text())
    counts["profile"]["functions"] = functions
    counts_file.write_text(json.dumps(counts, indent=1) + "\n")


def main() -> None:
    sys.exit(run(sys.argv[1:]))
