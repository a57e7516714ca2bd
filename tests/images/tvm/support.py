"""Shared helpers: run the BUILD command, compile its C with a harness, run it, compare."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[2]
IMAGE_DIR = REPO / "images" / "tvm"
ENTRY = IMAGE_DIR / "bin" / "mcuorch-tvmaot"
HARNESS = HERE / "harness.c"
DATA = HERE / "data"
CFLAGS = ["-std=c99", "-Wall", "-Wextra", "-Werror", "-O2"]


def have_tvm() -> bool:
    try:
        import tvm  # noqa: F401
    except ImportError:
        return False
    return True


def write_meta(model: Path, path: Path, name: str) -> Path:
    """model.json with the fields the BUILD stage reads (as LOAD would write them)."""
    from mcuorch_tvm.tflite_model import describe, load_model

    info = describe(load_model(model.read_bytes()))

    def entry(t):
        return {"name": t.name, "shape": list(t.shape), "dtype": t.dtype,
                "scale": t.scale, "zero_point": t.zero_point}

    meta = {"name": name, "format": "tflite", "inputs": [entry(t) for t in info.inputs],
            "outputs": [entry(t) for t in info.outputs]}
    path.write_text(json.dumps(meta))
    return path


def run_build(model: Path, out: Path, *options: str, meta: Path | None = None,
              name: str | None = None) -> subprocess.CompletedProcess:
    """Run ``mcuorch-tvmaot`` as the BUILD stage would (a separate process)."""
    out.mkdir(parents=True, exist_ok=True)
    if meta is None:
        meta = write_meta(model, out.parent / f"{out.name}.model.json", name or model.stem)
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(IMAGE_DIR), env.get("PYTHONPATH")]))
    cmd = [sys.executable, str(ENTRY), "--model", str(model), "--meta", str(meta),
           "--out", str(out), *options]
    return subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600)


def compile_host(codegen: Path, exe: Path, extra_flags: list[str] | None = None) -> None:
    """Compile generated code + harness with host gcc, warnings as errors, libm only."""
    sources = sorted(str(p) for p in codegen.glob("*.c"))
    cmd = ["gcc", *CFLAGS, *(extra_flags or []), "-I", str(codegen), *sources, str(HARNESS),
           "-lm", "-o", str(exe)]
    result = subprocess.run(cmd, capture_output=True, text=True)
    assert result.returncode == 0 and not result.stderr, result.stderr


def run_host(exe: Path, inputs: list[np.ndarray], outputs: list[tuple[tuple[int, ...], str]],
             workdir: Path) -> list[np.ndarray]:
    """One inference through the harness: raw bytes in, raw bytes out."""
    in_paths = []
    for i, x in enumerate(inputs):
        p = workdir / f"in{i}.bin"
        np.ascontiguousarray(x).tofile(p)
        in_paths.append(str(p))
    out_paths = [str(workdir / f"out{o}.bin") for o in range(len(outputs))]
    subprocess.run([str(exe), *in_paths, *out_paths], check=True, timeout=120)
    return [np.fromfile(p, dtype=dtype).reshape(shape)
            for p, (shape, dtype) in zip(out_paths, outputs)]


def vectors(arrays: dict[str, np.ndarray], prefix: str) -> list[list[np.ndarray]]:
    """``<prefix>_<v>_<i>`` arrays grouped by vector ``v`` in index order."""
    out, v = [], 0
    while f"{prefix}_{v}_0" in arrays:
        row, i = [], 0
        while f"{prefix}_{v}_{i}" in arrays:
            row.append(arrays[f"{prefix}_{v}_{i}"])
            i += 1
        out.append(row)
        v += 1
    return out


@dataclass
class Diff:
    """Element mismatches and largest absolute difference between two output sets."""

    mismatches: int
    elements: int
    max_diff: int

    @staticmethod
    def of(got: list[np.ndarray], want: list[np.ndarray]) -> "Diff":
        mism = total = worst = 0
        for g, w in zip(got, want):
            assert g.shape == w.shape, (g.shape, w.shape)
            d = np.abs(g.astype(np.int64) - w.astype(np.int64))
            mism += int((d > 0).sum())
            total += d.size
            worst = max(worst, int(d.max()) if d.size else 0)
        return Diff(mism, total, worst)


def which(tool: str) -> str | None:
    return shutil.which(tool)
