"""tvmc of the TVM fork as MLonMCU drives it: `tvmc compile --target c --runtime crt --executor
aot|graph ... --output-format mlf` (microTVM), or `--target llvm --runtime cpp --executor graph`
(tvmllvm, the host), one process per model, its errors reduced to one line."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from .errors import CodegenError

USMP_ALGORITHMS = ("greedy_by_size", "greedy_by_conflicts", "hill_climb")


@dataclass(frozen=True)
class Options:
    """What one backend asks of tvmc (the host's backend config keys, validated there too)."""

    executor: str  # "aot" | "graph"
    target: str = "c"  # "c" (microTVM, CRT) | "llvm" (host, TVM's C++ runtime)
    unpacked_api: bool = False
    usmp: bool = False
    usmp_algorithm: str = "greedy_by_size"
    opt_level: int = 3
    desired_layout: str | None = None
    disabled_passes: tuple[str, ...] = ()
    workspace_alignment: int = 16
    constant_alignment: int = 16

    def check(self) -> None:
        if self.executor not in ("aot", "graph"):
            raise CodegenError(f"unknown executor {self.executor!r} (aot, graph)")
        if self.target not in ("c", "llvm"):
            raise CodegenError(f"unknown target {self.target!r} (c, llvm)")
        if self.target == "llvm" and (self.executor != "graph" or self.usmp or self.unpacked_api):
            raise CodegenError("the llvm target runs on the C++ runtime's graph executor (no AOT, USMP or unpacked API)")
        if self.usmp and self.executor != "aot":
            raise CodegenError("USMP plans the AOT executor's memory; the graph executor allocates at run time")
        if self.unpacked_api and self.executor != "aot":
            raise CodegenError("the unpacked API is an option of the AOT executor")
        if self.usmp_algorithm not in USMP_ALGORITHMS:
            raise CodegenError(f"unknown USMP algorithm {self.usmp_algorithm!r} ({', '.join(USMP_ALGORITHMS)})")
        for name, value in (("workspace", self.workspace_alignment), ("constant", self.constant_alignment)):
            if value <= 0 or value & (value - 1):
                raise CodegenError(f"{name} alignment must be a power of two, not {value}")
        if self.desired_layout not in (None, "NCHW", "NHWC"):
            raise CodegenError(f"desired layout must be NCHW or NHWC, not {self.desired_layout!r}")


def argv(model: Path, out_tar: Path, o: Options) -> list[str]:
    """tvmc's command line, MLonMCU's meaning of each backend."""
    args = ["compile", str(model), "--model-format", "tflite", "--target", o.target,
            "--opt-level", str(o.opt_level), "--output", str(out_tar)]
    if o.target == "llvm":
        # The host's code as one object that registers its functions with TVM's C++ runtime at
        # start-up (system library), the weights inside it (linked params): nothing is loaded
        # from files at run time.
        args += ["--runtime", "cpp", "--runtime-cpp-system-lib", "1", "--executor", o.executor,
                 "--executor-graph-link-params", "1", "--output-format", "mlf"]
    else:
        args += ["--runtime", "crt", "--executor", o.executor, "--output-format", "mlf",
                 "--target-c-constants-byte-alignment", str(o.constant_alignment),
                 "--target-c-workspace-byte-alignment", str(o.workspace_alignment),
                 "--pass-config", "tir.disable_vectorize=1"]
        if o.executor == "aot":
            # The C interface (tvmgen_default_run with structs) needs the unpacked API; the packed
            # interface calls the model as one TVM packed function.
            args += ["--runtime-crt-system-lib", "0",
                     "--executor-aot-unpacked-api", str(int(o.unpacked_api)),
                     "--executor-aot-interface-api", "c" if o.unpacked_api else "packed"]
        else:
            args += ["--runtime-crt-system-lib", "1", "--executor-graph-link-params", "1"]
    if o.usmp:
        args += ["--pass-config", "tir.usmp.enable=1", "--pass-config", f"tir.usmp.algorithm={o.usmp_algorithm}"]
    elif o.executor == "aot" and o.target == "c":
        args += ["--pass-config", "tir.usmp.enable=0"]
    if o.desired_layout:
        args += ["--desired-layout", o.desired_layout]
    if o.disabled_passes:
        args += ["--disabled-pass", ",".join(o.disabled_passes)]
    return args


_ERROR_LINE = re.compile(r"(?:TVMError|Error|Check failed)[^\n]*")


def error_line(stderr: str) -> str:
    """The line of tvmc's output that says what went wrong (a TVM trace ends with it)."""
    lines = [line.strip() for line in stderr.strip().splitlines() if line.strip()]
    for line in reversed(lines):
        if line.startswith(("TVMError:", "tvm.error.", "tvm._ffi.base.TVMError", "error:")) or "Check failed" in line:
            return line.removeprefix("error: ")
        if re.match(r"^\w+(\.\w+)*Error: ", line):
            return line
    return lines[-1] if lines else "tvmc failed without a message"


def compile_model(model: Path, out_tar: Path, o: Options, log: Path) -> None:
    """Run tvmc; its whole output goes to `log`, the failing line into the error."""
    o.check()
    cmd = [sys.executable, "-m", "tvm.driver.tvmc", *argv(model, out_tar, o)]
    env = dict(os.environ, TVM_NUM_THREADS="1")
    result = subprocess.run(cmd, capture_output=True, text=True, env=env)
    log.write_text("$ " + " ".join(cmd) + "\n" + result.stdout + result.stderr)
    if result.returncode != 0 or not out_tar.is_file():
        raise CodegenError(f"tvmc compile failed: {error_line(result.stderr)}")
