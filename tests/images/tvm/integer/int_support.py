"""Helpers of the integer-kernel tests: build with ``--kernels int``, compile with host gcc,
run through the tvmaot test harness, compare with committed TFLite-Micro outputs."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from unittest import mock

import numpy as np

HERE = Path(__file__).resolve().parent
TVM_TESTS = HERE.parent
REPO = HERE.parents[3]
DATA = HERE / "data"
OPS_DATA = TVM_TESTS / "data" / "ops"
HARNESS = TVM_TESTS / "harness.c"
MODELS = REPO / "models"
CFLAGS = ["-std=c99", "-O2", "-Wall"]

if str(REPO / "images" / "tvm") not in sys.path:
    sys.path.insert(0, str(REPO / "images" / "tvm"))
if str(TVM_TESTS) not in sys.path:
    sys.path.append(str(TVM_TESTS))  # after this folder: its make_fixtures.py stays first

from support import vectors  # noqa: E402  (the helpers of the whole tvm suite)


def build_int(model: bytes, name: str, isa: str = "generic"):
    """The BUILD pipeline with the integer lowering hooked in (``--kernels int``), kernels
    generated for ``isa`` (SIMD helpers compile to their scalar fallbacks on the host)."""
    from mcuorch_tvm import compiler
    from mcuorch_tvm.integer import lower

    with mock.patch.object(compiler, "lower_to_kernels", lower.lower_to_kernels):
        return compiler.build(model, name, compiler.BuildOptions(isa=isa))


def fixture_arrays(model: Path) -> dict[str, np.ndarray]:
    """The arrays of a fixture's ``.npz`` beside its ``.tflite`` (inputs, reference outputs)."""
    with np.load(model.with_suffix(".npz")) as z:
        return {k: z[k] for k in z.files}


def write_codegen(result, directory: Path) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    for name, text in result.files.items():
        (directory / name).write_text(text)
    return directory


def compile_host(codegen: Path, exe: Path) -> None:
    """Compile with host gcc and *without* libm: integer kernels must not need it."""
    sources = sorted(str(p) for p in codegen.glob("*.c"))
    cmd = ["gcc", *CFLAGS, "-I", str(codegen), *sources, str(HARNESS), "-o", str(exe)]
    result = subprocess.run(cmd, capture_output=True, text=True)
    if result.returncode:
        raise AssertionError(result.stderr[-4000:])


def kernels_body(codegen: Path) -> str:
    """``mcuorch_kernels.c`` after its own header's include (the generated kernels only)."""
    return (codegen / "mcuorch_kernels.c").read_text().split('#include "mcuorch_kernels.h"', 1)[1]


def assert_links_without_libm(codegen: Path, obj: Path, name: str) -> None:
    """Compile ``mcuorch_kernels.c`` alone into ``obj``: it may need memset and memcpy, nothing else."""
    subprocess.run(["gcc", "-std=c99", "-O2", "-c", "-I", str(codegen), str(codegen / "mcuorch_kernels.c"),
                    "-o", str(obj)], check=True)
    undefined = subprocess.run(["nm", "-u", str(obj)], check=True, capture_output=True, text=True).stdout.split()
    assert set(undefined) - {"U", "memset", "memcpy"} == set(), f"{name}: needs {undefined}"


def run_host(exe: Path, inputs: list[np.ndarray], n_outputs: int, workdir: Path) -> list[np.ndarray]:
    in_paths = []
    for i, x in enumerate(inputs):
        p = workdir / f"in{i}.bin"
        np.ascontiguousarray(x).tofile(p)
        in_paths.append(str(p))
    out_paths = [str(workdir / f"out{o}.bin") for o in range(n_outputs)]
    subprocess.run([str(exe), *in_paths, *out_paths], check=True, timeout=120)
    return [np.fromfile(p, dtype=np.int8) for p in out_paths]


def mismatches(got: list[np.ndarray], want: list[np.ndarray]) -> tuple[int, int, int]:
    """(differing elements, elements, largest absolute difference)."""
    diff = total = worst = 0
    for g, w in zip(got, want):
        d = np.abs(g.reshape(-1).astype(np.int64) - np.asarray(w).reshape(-1).astype(np.int64))
        diff += int((d > 0).sum())
        total += d.size
        worst = max(worst, int(d.max()) if d.size else 0)
    return diff, total, worst


def check_case(model_path: Path, arrays: dict[str, np.ndarray], tmp_path: Path,
               isa: str = "generic") -> tuple[int, int, int]:
    """Build, compile, run every vector; returns the summed :func:`mismatches`."""
    result = build_int(model_path.read_bytes(), model_path.stem, isa)
    codegen = write_codegen(result, tmp_path / "codegen")
    exe = tmp_path / "app"
    compile_host(codegen, exe)
    inputs, expected = vectors(arrays, "in"), vectors(arrays, "tflm")
    assert inputs and len(inputs) == len(expected)
    totals = [0, 0, 0]
    for ins, want in zip(inputs, expected):
        got = run_host(exe, ins, len(want), tmp_path)
        d, n, w = mismatches(got, want)
        totals = [totals[0] + d, totals[1] + n, max(totals[2], w)]
    return tuple(totals)  # type: ignore[return-value]
