"""How far tvmaot's outputs are from the two TFLite references, per bundled model.

For every bundled model and its golden input vectors, three sets of outputs are compared with
TFLite-Micro's reference kernels (the golden outputs, made by the LOAD stage) and with LiteRT's
built-in CPU kernels: LiteRT itself (tflite image), and tvmaot's generated C with its integer
and its float kernels, compiled with host gcc and run natively (tvm image). Printed per model:
mismatching elements, largest difference of the raw int8 values, and argmax agreement (which
means something for the classifiers aww, vww and resnet only).

    python benchmarks/reference_agreement.py [--models aww resnet]

Needs the default environment's images (`mcuorch images build`). Each half runs in its image
through mcuorch's Docker runtime (as the invoking user, no network, repository read-only).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import threading
import uuid
from dataclasses import asdict
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
TVM_TESTS = REPO / "tests" / "images" / "tvm"
sys.path.insert(0, str(TVM_TESTS))  # support.py: build, compile, run and compare helpers
MODELS = ["sine_model", "aww", "vww", "resnet", "toycar"]
KERNELS = ["int", "float"]


def _golden(name: str, kind: str) -> list[list[Path]]:
    """``models/<name>/golden/<kind>_<v>_<i>.bin`` grouped by vector."""
    golden = REPO / "models" / name / "golden"
    vectors, v = [], 0
    while (golden / f"{kind}_{v}_0.bin").exists():
        row, i = [], 0
        while (golden / f"{kind}_{v}_{i}.bin").exists():
            row.append(golden / f"{kind}_{v}_{i}.bin")
            i += 1
        vectors.append(row)
        v += 1
    return vectors


def _save(outputs: list[list[np.ndarray]], folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for v, row in enumerate(outputs):
        for o, array in enumerate(row):
            np.save(folder / f"{v}_{o}.npy", array)


def _load(folder: Path) -> list[np.ndarray]:
    """Every output of every vector, flattened in (vector, output) order."""
    files = sorted(folder.glob("*.npy"), key=lambda p: tuple(int(x) for x in p.stem.split("_")))
    return [np.load(p) for p in files]


def inside_litert(models: list[str], work: Path) -> None:
    """tflite image: LiteRT's outputs for the golden inputs."""
    from ai_edge_litert.interpreter import Interpreter
    from mcuorch_tflite.reference import run_litert

    for name in models:
        model = (REPO / "models" / name / "model.tflite").read_bytes()
        interpreter = Interpreter(model_content=model)
        details = interpreter.get_input_details()
        vectors = [[np.fromfile(p, dtype=d["dtype"]).reshape(d["shape"]) for p, d in zip(row, details)]
                   for row in _golden(name, "input")]
        _save(run_litert(model, vectors), work / name / "litert")


def inside_tvm(models: list[str], work: Path) -> None:
    """tvm image: tvmaot's C (integer and float kernels) built, compiled and run on the host."""
    sys.path.insert(0, str(REPO / "images" / "tvm"))
    from mcuorch_tvm.cli import main as build
    from mcuorch_tvm.tflite_model import describe, load_model
    from support import compile_host, run_host, write_meta

    for name in models:
        model = REPO / "models" / name / "model.tflite"
        info = describe(load_model(model.read_bytes()))
        specs = [(t.shape, t.dtype) for t in info.outputs]
        inputs = [[np.fromfile(p, dtype=t.dtype).reshape(t.shape) for p, t in zip(row, info.inputs)]
                  for row in _golden(name, "input")]
        for kernels in KERNELS:
            tmp = work / name / f"build-{kernels}"
            tmp.mkdir(parents=True)
            meta = write_meta(model, tmp / "model.json", name)
            if build(["--model", str(model), "--meta", str(meta), "--out", str(tmp / "out"),
                      "--kernels", kernels]) != 0:
                raise SystemExit(f"{name}: tvmaot build with --kernels {kernels} failed")
            compile_host(tmp / "out" / "codegen", tmp / "app")
            _save([run_host(tmp / "app", row, specs, tmp) for row in inputs], work / name / f"tvmaot-{kernels}")


def _in_image(image: str, mode: str, models: list[str], work: Path) -> None:
    """Run this script's ``mode`` half inside ``image`` through mcuorch's Docker runtime."""
    from orchestrator.environment import load_environment
    from orchestrator.runtime.base import ExecRequest, Mount
    from orchestrator.runtime.docker import DockerRuntime

    runtime = DockerRuntime(load_environment("default"), f"bench-{uuid.uuid4().hex[:8]}", build_missing=False)
    try:
        request = ExecRequest(
            image=runtime.image_set().get(image).ref,
            argv=["python3", str(Path(__file__).resolve()), "--inside", mode, "--work", str(work),
                  "--models", *models],
            mounts=[Mount(path=REPO), Mount(path=work, read_only=False)], env={"HOME": str(work)},
            workdir=work, timeout_sec=1800, stdout_path=work / f"{mode}.out", stderr_path=work / f"{mode}.err")
        result = runtime.run(request, threading.Event())
    finally:
        runtime.close()
    if result.exit_code != 0:
        tail = (work / f"{mode}.err").read_text(errors="replace").strip().splitlines()[-5:]
        raise SystemExit(f"{mode} half failed in image {image} (exit {result.exit_code}): " + " | ".join(tail))


def _compare(got: list[np.ndarray], want: list[np.ndarray]) -> dict[str, int]:
    from support import Diff  # the tvm image tests' comparison, so both report the same figures

    if len(got) != len(want):
        raise SystemExit(f"{len(got)} outputs to compare with {len(want)}")
    return {**asdict(Diff.of(got, want)),
            "argmax_agree": sum(int(np.argmax(g) == np.argmax(w)) for g, w in zip(got, want)),
            "outputs": len(want)}


def report(models: list[str], work: Path) -> list[dict]:
    rows = []
    for name in models:
        litert = _load(work / name / "litert")
        golden = [p for row in _golden(name, "output") for p in row]
        # golden files are raw bytes: LiteRT's arrays of the same outputs give dtype and shape
        tflm = [np.fromfile(p, dtype=ref.dtype).reshape(ref.shape)
                for p, ref in zip(golden, litert, strict=True)]
        for what in ["litert", *(f"tvmaot-{k}" for k in KERNELS)]:
            got = _load(work / name / what)
            row = {"model": name, "outputs of": what, "vs TFLite-Micro": _compare(got, tflm)}
            if what != "litert":
                row["vs LiteRT"] = _compare(got, litert)
            rows.append(row)
    return rows


def _cell(figures: dict[str, int]) -> str:
    return (f"{figures['mismatches']:>5}/{figures['elements']:<5} max {figures['max_diff']:>3}  "
            f"argmax {figures['argmax_agree']}/{figures['outputs']}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=MODELS)
    parser.add_argument("--json", type=Path, help="also write the figures here")
    parser.add_argument("--inside", choices=["litert", "tvm"], help=argparse.SUPPRESS)
    parser.add_argument("--work", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.inside == "litert":
        inside_litert(args.models, args.work)
        return 0
    if args.inside == "tvm":
        inside_tvm(args.models, args.work)
        return 0
    with tempfile.TemporaryDirectory(prefix="mcuorch-agree-") as tmp:
        work = Path(tmp)
        _in_image("tflite", "litert", args.models, work)
        _in_image("tvm", "tvm", args.models, work)
        rows = report(args.models, work)
    print(f"{'model':<11} {'outputs of':<13} {'vs TFLite-Micro (mismatches, max diff, argmax)':<46} vs LiteRT")
    for row in rows:
        other = _cell(row["vs LiteRT"]) if "vs LiteRT" in row else "-"
        print(f"{row['model']:<11} {row['outputs of']:<13} {_cell(row['vs TFLite-Micro']):<46} {other}")
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
