"""Reference outputs from TFLite-Micro's reference kernels and from LiteRT.

`run_tflm` / `run_litert` run in-process (tests, model generation). `run_isolated` runs the
same code in a child Python process: both interpreters trust the flatbuffer and print
their own diagnostics on stderr, so LOAD keeps a crash or a stray message of theirs from
becoming its own and reports one line instead.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from .reader import parse_model

#: Arena for the TFLM Python interpreter: generous, the host has the memory.
TFLM_ARENA_BYTES = 64 * 1024 * 1024
ENGINES = ("tflm", "litert")


def _child_env() -> dict[str, str]:
    """Environment for child interpreters: this package importable whatever PYTHONPATH says."""
    root = str(Path(__file__).resolve().parent.parent)
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH", "")) if p)
    return env


class ReferenceError(RuntimeError):
    """An interpreter could not run the model; the message is one line."""


def run_tflm(model: bytes, vectors: Sequence[Sequence[np.ndarray]]) -> list[list[np.ndarray]]:
    """Outputs of TFLite-Micro (reference kernels) for each vector (list of input arrays)."""
    from tflite_micro.python.tflite_micro import runtime

    num_outputs = len(parse_model(model).outputs)
    interp = runtime.Interpreter.from_bytes(model, arena_size=TFLM_ARENA_BYTES)
    results = []
    for inputs in vectors:
        for i, arr in enumerate(inputs):
            interp.set_input(np.ascontiguousarray(arr), i)
        interp.invoke()
        outs = [np.array(interp.get_output(k)) for k in range(num_outputs)]
        results.append(outs)
        interp.reset()
    return results


def run_litert(model: bytes, vectors: Sequence[Sequence[np.ndarray]]) -> list[list[np.ndarray]]:
    """Outputs of LiteRT's built-in optimized CPU kernels for each vector.

    The XNNPACK delegate LiteRT applies by default is switched off: on the bundled models it
    differs from TFLite-Micro by up to 52 LSB on softmax outputs, the built-in kernels by at
    most a few (rounding in their optimized CONV_2D, amplified through residual ADDs), so they
    make the more useful second reference. (LiteRT's own reference kernels agree with
    TFLite-Micro on convolutions but not on FULLY_CONNECTED rounding.)
    """
    from ai_edge_litert.interpreter import Interpreter, OpResolverType

    interp = Interpreter(model_content=model, num_threads=1,
                         experimental_op_resolver_type=OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES)
    interp.allocate_tensors()
    in_details = interp.get_input_details()
    out_details = interp.get_output_details()
    results = []
    for inputs in vectors:
        for d, arr in zip(in_details, inputs):
            interp.set_tensor(d["index"], np.ascontiguousarray(arr))
        interp.invoke()
        results.append([np.array(interp.get_tensor(d["index"])) for d in out_details])
    return results


def _vector_files(directory: Path, prefix: str, v: int, count: int) -> list[Path]:
    return [directory / f"{prefix}_{v}_{i}.bin" for i in range(count)]


def run_isolated(engine: str, model_path: Path, input_dir: Path, num_vectors: int,
                 input_specs: Sequence[tuple[tuple[int, ...], np.dtype]], output_dir: Path,
                 prefix: str, timeout_s: float = 600.0) -> None:
    """Run `engine` in a child process on `input_<v>_<i>.bin` files of `input_dir` and write
    `<prefix>_<v>_<i>.bin` into `output_dir`. Raises ReferenceError with one line on failure."""
    with tempfile.TemporaryDirectory(prefix="mcuorch-ref-") as tmp:
        spec_file = Path(tmp) / "inputs.txt"
        spec_file.write_text("".join(f"{np.dtype(d).str} {' '.join(map(str, s))}\n" for s, d in input_specs))
        cmd = [sys.executable, "-m", "mcuorch_tflite.reference", "--engine", engine, "--model", str(model_path),
               "--inputs", str(input_dir), "--specs", str(spec_file), "--num-vectors", str(num_vectors),
               "--out", str(output_dir), "--prefix", prefix]
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout_s, env=_child_env(),
                                  check=False)
        except subprocess.TimeoutExpired:
            raise ReferenceError(f"{_ENGINE_NAMES[engine]} did not finish within {timeout_s:.0f} s") from None
    if proc.returncode != 0:
        lines = [ln.strip() for ln in proc.stderr.splitlines() if ln.strip()]
        detail = lines[-1] if lines else f"exit status {proc.returncode}"
        if proc.returncode < 0:
            detail = f"crashed with signal {-proc.returncode}"
        raise ReferenceError(f"{_ENGINE_NAMES[engine]} cannot run this model: {detail}")


_ENGINE_NAMES = {"tflm": "TFLite-Micro", "litert": "LiteRT"}

_ARENA_PROBE = """
import sys, numpy as np
from tflite_micro.python.tflite_micro import runtime
from mcuorch_tflite.reader import parse_model
data = open(sys.argv[1], "rb").read()
info = parse_model(data)
interp = runtime.Interpreter.from_bytes(data, arena_size=ARENA)
for i, t in enumerate(info.input_tensors()):
    interp.set_input(np.zeros(t.shape, t.numpy_dtype), i)
interp.invoke()
interp.print_allocations()
""".replace("ARENA", str(TFLM_ARENA_BYTES))


def tflm_arena_bytes(model_path: Path) -> int:
    """Arena bytes TFLite-Micro's recording allocator used for one inference (64-bit host
    build: a sizing hint, targets need about the same or slightly less)."""
    proc = subprocess.run([sys.executable, "-c", _ARENA_PROBE, str(model_path)], capture_output=True, text=True,
                          env=_child_env(), check=False)
    for line in (proc.stdout + proc.stderr).splitlines():
        if "Arena allocation total" in line:
            return int(line.split("total")[1].split()[0])
    raise ReferenceError("TFLite-Micro did not report its arena usage")


def _main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(description="run a reference interpreter on raw input vectors")
    p.add_argument("--engine", choices=ENGINES, required=True)
    p.add_argument("--model", type=Path, required=True)
    p.add_argument("--inputs", type=Path, required=True)
    p.add_argument("--specs", type=Path, required=True)
    p.add_argument("--num-vectors", type=int, required=True)
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--prefix", default="output")
    args = p.parse_args(argv)
    specs = []
    for line in args.specs.read_text().splitlines():
        dtype, *dims = line.split()
        specs.append((tuple(int(d) for d in dims), np.dtype(dtype)))
    vectors = []
    for v in range(args.num_vectors):
        files = _vector_files(args.inputs, "input", v, len(specs))
        vectors.append([np.fromfile(f, dtype=d).reshape(s) for f, (s, d) in zip(files, specs)])
    model = args.model.read_bytes()
    try:
        results = (run_tflm if args.engine == "tflm" else run_litert)(model, vectors)
    except Exception as exc:  # noqa: BLE001 - reported to the parent as one line
        msg = " ".join(str(exc).split()) or type(exc).__name__
        print(msg, file=sys.stderr)
        return 1
    args.out.mkdir(parents=True, exist_ok=True)
    for v, outs in enumerate(results):
        for i, arr in enumerate(outs):
            (args.out / f"{args.prefix}_{v}_{i}.bin").write_bytes(np.ascontiguousarray(arr).tobytes())
    return 0


if __name__ == "__main__":
    sys.exit(_main())
