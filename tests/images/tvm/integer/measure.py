"""Instruction counts of generated models on the QEMU boards, per model and per kernel.

Builds ``codegen/`` with the tvmaot pipeline (integer kernels, or the float-requantizing
ones for comparison), compiles it with the project's target software (``sw/compile.sh``),
runs it with the project's QEMU runner and instruction-count plugin, and reports:

* Run instructions per inference (the harness's Run region), validation mismatches;
* instructions of every kernel call (a region from the kernel's entry to the instruction
  after its call site in ``mcuorch_model_invoke``) and instructions per MAC;
* code/weights/arena bytes read from the ELF symbols.

Usage (dev venv with apache-tvm, tflite, tflite-micro; riscv/arm GCC + picolibc, QEMU)::

    python tests/images/tvm/integer/measure.py models/aww/model.tflite models/aww/golden \\
        [--kernels int|float] [--target riscv_qemu] [--arch rv32gc] [--isa cortex-m55+mve]
        [--optimize 2|3|s] [--json OUT]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from unittest import mock

REPO = Path(__file__).resolve().parents[4]
sys.path.insert(0, str(REPO / "images" / "tvm"))

from mcuorch_tvm import compiler  # noqa: E402
from mcuorch_tvm.integer import lower  # noqa: E402

BOARDS = {"riscv_qemu": ("virt", "riscv64-unknown-elf-"), "mps3_an547": ("mps3-an547", "arm-none-eabi-"),
          "mps2_an386": ("mps2-an386", "arm-none-eabi-"), "mps2_an385": ("mps2-an385", "arm-none-eabi-")}
PLUGIN_REGIONS = 8  # MAX_REGIONS of images/qemu/plugin/insncount.c
QEMU_CPU = {"rv32imc": "rv32,f=false,d=false,a=false", "rv32imac": "rv32,f=false,d=false", "rv32gc": "rv32"}


@dataclass
class Measurement:
    model: str
    kernels: str
    target: str
    arch: str
    optimize: str
    run_instructions: int = 0
    mismatches: int = -1
    macs: int = 0
    kernel_code_bytes: int = 0
    weights_bytes: int = 0
    arena_bytes: int = 0
    rom_bytes: int = 0
    ram_bytes: int = 0
    per_kernel: dict[str, dict] = field(default_factory=dict)


def build_codegen(model_path: Path, out: Path, kernels: str, isa: str = "generic") -> compiler.BuildResult:
    data = model_path.read_bytes()
    options = compiler.BuildOptions(isa=isa)
    if kernels == "int":
        with mock.patch.object(compiler, "lower_to_kernels", lower.lower_to_kernels):
            result = compiler.build(data, model_path.parent.name, options)
    else:
        result = compiler.build(data, model_path.parent.name, options)
    out.mkdir(parents=True, exist_ok=True)
    for name, text in result.files.items():
        (out / name).write_text(text)
    return result


def _symbols(nm: str, elf: Path) -> dict[str, tuple[int, int, str]]:
    """name -> (address, size, type) from ``nm -S``."""
    text = subprocess.run([nm, "-S", "--defined-only", str(elf)], check=True, capture_output=True,
                          text=True).stdout
    table = {}
    for line in text.splitlines():
        parts = line.split()
        if len(parts) == 4:
            table[parts[3]] = (int(parts[0], 16), int(parts[1], 16), parts[2])
    return table


def _call_sites(objdump: str, elf: Path, function: str) -> list[tuple[str, int, int, bool]]:
    """(callee, call address, address after the call, is_tail_call) per direct call in ``function``."""
    text = subprocess.run([objdump, "-d", "--no-show-raw-insn", f"--disassemble={function}", str(elf)],
                          check=True, capture_output=True, text=True).stdout
    lines = [ln for ln in text.splitlines() if re.match(r"^\s*[0-9a-f]+:\t", ln)]
    sites = []
    for i, line in enumerate(lines):
        m = re.search(r"\b(jal|call|bl|tail|j|b|b\.w|bl\.w)\s+(?:ra,\s*)?[0-9a-f]+\s+<(\w+)>", line)
        if not m or m.group(2) == function:
            continue
        tail = m.group(1) in ("tail", "j", "b", "b.w")
        here = int(line.split(":")[0], 16)
        nxt = int(lines[i + 1].split(":")[0], 16) if i + 1 < len(lines) else -1
        sites.append((m.group(2), here, nxt, tail))
    return sites


def measure(model_path: Path, golden: Path, kernels: str = "int", target: str = "riscv_qemu",
            arch: str = "rv32gc", optimize: str = "2", work: Path | None = None, isa: str = "generic") -> Measurement:
    board, prefix = BOARDS[target]
    work = work or Path(tempfile.mkdtemp(prefix="mcuorch-measure-"))
    result = build_codegen(model_path, work / "codegen", kernels, isa)
    cmd = ["sh", str(REPO / "sw" / "compile.sh"), "--target", target, "--codegen", str(work / "codegen"),
           "--golden", str(golden), "--out", str(work / "compile"), "--optimize", optimize]
    if target == "riscv_qemu":
        cmd += ["--arch", arch]
    subprocess.run(cmd, check=True, capture_output=True, text=True)
    elf = work / "compile" / "app.elf"
    syms = _symbols(prefix + "nm", elf)
    run_region = (syms["mcuorch_run_begin"][0], syms["mcuorch_run_end"][0])
    # One region per call site in invoke: from the call instruction to the one after it, so
    # kernels that GCC folded into one body (-fipa-icf) are still counted per call.
    after_invoke = [s for s in _call_sites(prefix + "objdump", elf, "main") if s[0] == "mcuorch_model_invoke"]
    calls = {}
    for callee, here, after, tail in _call_sites(prefix + "objdump", elf, "mcuorch_model_invoke"):
        if callee.startswith("mcuorch_") and callee in syms:
            calls[callee[len("mcuorch_"):]] = (here, after_invoke[0][2] if tail and after_invoke else after)
    env = dict(os.environ, PYTHONPATH=str(REPO / "images" / "qemu"))
    env.setdefault("MCUORCH_QEMU_PLUGIN", str(work / "plugin" / "libinsncount.so"))
    if not Path(env["MCUORCH_QEMU_PLUGIN"]).exists():
        subprocess.run(["sh", str(REPO / "images" / "qemu" / "plugin" / "build.sh"), str(work / "plugin")],
                       check=True, capture_output=True)
    names = list(calls)
    batches = [names[i:i + PLUGIN_REGIONS - 1] for i in range(0, len(names), PLUGIN_REGIONS - 1)] or [[]]
    merged: dict = {}
    for index, batch in enumerate(batches):
        regions = {"run": run_region, **{n: calls[n] for n in batch}}
        spec = ",".join(f"{n}={b:x}:{e:x}" for n, (b, e) in regions.items())
        run_cmd = [sys.executable, str(REPO / "images" / "qemu" / "bin" / "mcuorch-qemu-run"), "--board", board,
                   "--elf", str(elf), "--out", str(work / f"run{index}"), "--regions", spec]
        if target == "riscv_qemu":
            run_cmd += ["--cpu", QEMU_CPU[arch]]
        subprocess.run(run_cmd, check=True, capture_output=True, text=True, env=env)
        merged.update(json.loads((work / f"run{index}" / "counts.json").read_text())["regions"])
    counts = {"regions": merged}
    stdout = (work / "run0" / "stdout.txt").read_text()
    m = Measurement(model_path.parent.name, kernels, target, arch, optimize)
    run = counts["regions"]["run"]
    m.run_instructions = min(run["per_entry"])
    found = re.search(r"# Validation Mismatches: (\d+)", stdout)
    m.mismatches = int(found.group(1)) if found else -1
    macs_by_kernel = {}
    if kernels == "int":
        program = lower.lower_program(lower.read_model(model_path.read_bytes()), lower.Schedules().for_isa(isa))
        macs_by_kernel = {c.kernel_name: c.kernel.macs for c in program.calls}
        m.macs = program.macs
    for name, reg in counts["regions"].items():
        if name == "run":
            continue
        n = min(reg["per_entry"]) if reg["per_entry"] else 0
        macs = macs_by_kernel.get(name, 0)
        m.per_kernel[name] = {"instructions": n, "macs": macs,
                              "per_mac": round(n / macs, 2) if macs else None,
                              "code_bytes": syms.get("mcuorch_" + name, (0, 0, ""))[1]}
    m.kernel_code_bytes = sum(size for n, (_, size, t) in syms.items()
                              if n.startswith("mcuorch_") and t in "tT" and n[len("mcuorch_"):] in m.per_kernel)
    m.weights_bytes = int(result.metrics["Weights Size"])
    m.arena_bytes = int(result.metrics["Arena Size"])
    return m


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("model", type=Path)
    p.add_argument("golden", type=Path)
    p.add_argument("--kernels", choices=("int", "float"), default="int")
    p.add_argument("--target", choices=sorted(BOARDS), default="riscv_qemu")
    p.add_argument("--arch", default="rv32gc")
    p.add_argument("--isa", default="generic", help="ISA of the integer kernels (cortex-m55+mve, cortex-m4+dsp)")
    p.add_argument("--optimize", choices=("2", "3", "s"), default="2")
    p.add_argument("--work", type=Path)
    p.add_argument("--json", type=Path)
    args = p.parse_args(argv)
    m = measure(args.model, args.golden, args.kernels, args.target, args.arch, args.optimize, args.work, args.isa)
    where = f"{m.target}/{m.arch}" if m.target == "riscv_qemu" else m.target
    print(f"{m.model} {m.kernels} {where} -O{m.optimize}: {m.run_instructions} instructions/inference,"
          f" mismatches {m.mismatches}, MACs {m.macs}"
          + (f" ({m.run_instructions / m.macs:.2f}/MAC)" if m.macs else "")
          + f", kernel code {m.kernel_code_bytes} B, weights {m.weights_bytes} B, arena {m.arena_bytes} B")
    for name, k in m.per_kernel.items():
        print(f"  {name:28s} {k['instructions']:>10d}  macs {k['macs']:>9d}  per_mac {k['per_mac']}  code {k['code_bytes']}")
    if args.json:
        args.json.write_text(json.dumps(asdict(m), indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
