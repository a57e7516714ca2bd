"""How much heap the CRT graph executor needs: the codegen directory compiled with the build
host's gcc and run once (setup and one inference) over a large heap, its peak read back.

The host is 64-bit: the executor's tables hold pointers, so the peak is an upper bound for a
32-bit target, which then gets a heap of exactly that size instead of a guess."""

from __future__ import annotations

import subprocess
import tempfile
from pathlib import Path

from .errors import CodegenError

PROBE_HEAP = 256 << 20
_MAIN = """#include <stdint.h>
#include <stdio.h>
#include "mcuorch_model.h"
size_t mcuorch_tvm_heap_peak(void);
void mcuorch_report_uint(const char *name, uint32_t value) { (void)name; (void)value; }
int main(void) {
  if (mcuorch_model_init() != 0 || mcuorch_model_invoke() != 0) return 1;
  printf("%lu\\n", (unsigned long)mcuorch_tvm_heap_peak());
  return 0;
}
"""
_REPORT_H = "#include <stdint.h>\nvoid mcuorch_report_uint(const char *name, uint32_t value);\n"


def heap_peak(codegen: Path, timeout: float = 600) -> int:
    """Bytes of heap the model's setup and one inference take on the build host."""
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        (work / "probe_main.c").write_text(_MAIN)
        (work / "report.h").write_text(_REPORT_H)
        sources = [str(p) for p in sorted(codegen.rglob("*.c"))] + [str(work / "probe_main.c")]
        exe = work / "probe"
        build = subprocess.run(["gcc", "-O1", "-w", f"-DMCUORCH_HEAP_BYTES={PROBE_HEAP}", f"-I{work}",
                                f"-I{codegen}", f"-I{codegen / 'include'}", *sources, "-o", str(exe), "-lm"],
                               capture_output=True, text=True, timeout=timeout)
        if build.returncode != 0:
            first = next((line for line in build.stderr.splitlines() if "error" in line), build.stderr.strip())
            raise CodegenError(f"the generated code does not compile on the build host: {first}")
        ran = subprocess.run([str(exe)], capture_output=True, text=True, timeout=timeout)
        if ran.returncode != 0:
            text = (ran.stdout + ran.stderr).strip().splitlines()
            raise CodegenError(f"the graph executor failed on the build host: {text[-1] if text else ran.returncode}")
        return int(ran.stdout.strip().splitlines()[-1])
