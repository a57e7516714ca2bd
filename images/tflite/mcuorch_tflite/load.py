"""The LOAD stage: validate a TFLite model and publish it with metadata and golden vectors.

    mcuorch-load --model PATH [--definition definition.yml] [--golden-dir DIR]
                 [--num-vectors N] [--litert] [--require-int8] --out OUT

Writes `OUT/model.tflite`, `OUT/model.json`, `OUT/golden/{input,output}_<v>_<i>.bin`
(plus `litert_output_<v>_<i>.bin` with `--litert`) and `OUT/metrics.json`.

What LOAD checks: the file is a well-formed TFLite flatbuffer (schema 3, indices and buffer
sizes consistent, no custom or unknown operators, no sparse or external-buffer tensors),
inputs/outputs have per-tensor types the target harness can hold, the definition (if given)
matches the model, supplied golden files have the right sizes, and TFLite-Micro can run it
(it computes the golden outputs). With `--require-int8` a model with any non-int8
activation is refused. What it leaves to backends: whether *they* support each operator.

Exit codes: 0 ok, 2 a problem with the inputs (one line `error: ...` on stderr),
1 an internal failure (also one line).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import NoReturn

import numpy as np
from pydantic import BaseModel

from .analysis import layer_stats, op_histogram
from .definition import Definition, DefinitionError, load_definition
from .reader import ModelError, ModelInfo, TensorInfo, parse_model, require_int8
from .reference import ReferenceError, run_isolated

DEFAULT_NUM_VECTORS = 4
EXIT_USER_ERROR = 2
EXIT_INTERNAL_ERROR = 1


class LoadError(Exception):
    """A problem with LOAD's inputs; reported as one line, exit code 2."""


class TensorMeta(BaseModel):
    name: str
    shape: list[int]
    dtype: str
    scale: float | None
    zero_point: int | None


class LayerMeta(BaseModel):
    index: int
    op: str
    macs: int
    params: int
    output_shape: list[int]


class GoldenMeta(BaseModel):
    source: str  # "model" | "model-inputs" | "generated"
    reference: str = "tflite-micro"
    seed: int | None = None
    tflm_mismatches: int | None = None  # supplied outputs that TFLM computes differently
    litert: bool = False


class ModelMeta(BaseModel):
    """model.json: the contract keys first (docs/architecture.md), details after."""

    name: str
    format: str = "tflite"
    inputs: list[TensorMeta]
    outputs: list[TensorMeta]
    ops: dict[str, int]
    params: int
    macs: int
    num_vectors: int
    size_bytes: int
    sha256: str
    golden: GoldenMeta
    layers: list[LayerMeta]


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:  # one line instead of usage + message
        print(f"error: {message}", file=sys.stderr)
        sys.exit(EXIT_USER_ERROR)


def _parser() -> argparse.ArgumentParser:
    p = _Parser(prog="mcuorch-load", description="Validate a TFLite model, write metadata and golden vectors.")
    p.add_argument("--model", type=Path, required=True, help="the .tflite file")
    p.add_argument("--definition", type=Path, help="definition.yml to check the model against")
    p.add_argument("--golden-dir", type=Path, help="directory with the model's own input_/output_<v>_<i>.bin")
    p.add_argument("--num-vectors", type=int, help=f"golden vectors to use/generate (default: all supplied, "
                                                   f"else {DEFAULT_NUM_VECTORS})")
    p.add_argument("--litert", action="store_true", help="also write LiteRT outputs as litert_output_<v>_<i>.bin")
    p.add_argument("--require-int8", action="store_true", help="refuse models that are not fully int8")
    p.add_argument("--out", type=Path, required=True, help="output directory")
    return p


# ----------------------------------------------------------------------------- metadata


def _tensor_meta(t: TensorInfo) -> TensorMeta:
    return TensorMeta(name=t.name, shape=list(t.shape), dtype=t.dtype,
                      scale=t.scale[0] if t.scale else None,
                      zero_point=t.zero_point[0] if t.zero_point else None)


def _model_name(model: Path, definition: Definition | None) -> str:
    if definition is not None:
        return definition.name
    return model.parent.name if model.stem == "model" and model.parent.name else model.stem


def _check_definition(info: ModelInfo, d: Definition) -> None:
    for role, nodes, tensors in (("input", d.network_parameters.input_nodes, info.input_tensors()),
                                 ("output", d.network_parameters.output_nodes, info.output_tensors())):
        if len(nodes) != len(tensors):
            raise LoadError(f"definition lists {len(nodes)} {role}s, the model has {len(tensors)}")
        for i, (node, t) in enumerate(zip(nodes, tensors)):
            what = f"definition {role} {i} ({node.name!r})"
            if node.name != t.name:
                raise LoadError(f"{what} does not match model {role} {t.name!r}")
            if tuple(node.shape) != t.shape or node.dtype != t.dtype:
                raise LoadError(f"{what} is {node.dtype}{node.shape}, the model's is {t.dtype}{list(t.shape)}")
            q = node.quant()
            if q is not None and t.scale and (not np.isclose(q.scale, t.scale[0], rtol=1e-6, atol=0)
                                              or q.zero_shift != t.zero_point[0]):
                raise LoadError(f"{what} has scale {q.scale} zero_shift {q.zero_shift}, the model has "
                                f"{t.scale[0]} {t.zero_point[0]}")


# ----------------------------------------------------------------------------- golden vectors


def _count_vectors(golden_dir: Path, prefix: str, n_tensors: int) -> int:
    v = 0
    while all((golden_dir / f"{prefix}_{v}_{i}.bin").is_file() for i in range(n_tensors)):
        v += 1
    return v


def _copy_checked(src: Path, dst: Path, t: TensorInfo) -> None:
    size = src.stat().st_size
    if size != t.nbytes:
        raise LoadError(f"golden file {src.name} has {size} bytes, {t.name!r} ({t.dtype}{list(t.shape)}) needs {t.nbytes}")
    shutil.copyfile(src, dst)


def _generate_inputs(golden: Path, info: ModelInfo, count: int, seed: int) -> None:
    """Deterministic pseudo-random inputs covering each input type's range."""
    rng = np.random.default_rng(seed)
    for v in range(count):
        for i, t in enumerate(info.input_tensors()):
            dt = t.numpy_dtype
            if dt.kind == "f":
                arr = rng.standard_normal(t.shape).astype(dt)
            elif dt.itemsize == 1:
                info_ = np.iinfo(dt)
                arr = rng.integers(info_.min, info_.max, size=t.shape, endpoint=True).astype(dt)
            else:  # wider ints: stay in a small range, they are often indices or counts
                arr = rng.integers(-128 if dt.kind == "i" else 0, 127, size=t.shape, endpoint=True).astype(dt)
            (golden / f"input_{v}_{i}.bin").write_bytes(arr.tobytes())


def _count_mismatches(golden: Path, a: str, b: str, info: ModelInfo, count: int) -> int:
    total = 0
    for v in range(count):
        for i, t in enumerate(info.output_tensors()):
            x = np.fromfile(golden / f"{a}_{v}_{i}.bin", dtype=t.numpy_dtype)
            y = np.fromfile(golden / f"{b}_{v}_{i}.bin", dtype=t.numpy_dtype)
            total += int(np.count_nonzero(x != y))
    return total


def _golden(model_path: Path, info: ModelInfo, digest: bytes, args: argparse.Namespace,
            out: Path) -> tuple[GoldenMeta, int]:
    golden = out / "golden"
    golden.mkdir(parents=True, exist_ok=True)
    ins, outs = info.input_tensors(), info.output_tensors()
    specs = [(t.shape, t.numpy_dtype) for t in ins]
    supplied = 0
    if args.golden_dir is not None:
        if not args.golden_dir.is_dir():
            raise LoadError(f"golden directory not found: {args.golden_dir}")
        supplied = _count_vectors(args.golden_dir, "input", len(ins))
    if supplied:
        count = supplied if args.num_vectors is None else min(args.num_vectors, supplied)
        with_outputs = _count_vectors(args.golden_dir, "output", len(outs)) >= count
        for v in range(count):
            for i, t in enumerate(ins):
                _copy_checked(args.golden_dir / f"input_{v}_{i}.bin", golden / f"input_{v}_{i}.bin", t)
            for i, t in enumerate(outs if with_outputs else []):
                _copy_checked(args.golden_dir / f"output_{v}_{i}.bin", golden / f"output_{v}_{i}.bin", t)
        meta = GoldenMeta(source="model" if with_outputs else "model-inputs")
    else:
        count = DEFAULT_NUM_VECTORS if args.num_vectors is None else args.num_vectors
        seed = int.from_bytes(digest[:8], "little")
        _generate_inputs(golden, info, count, seed)
        with_outputs = False
        meta = GoldenMeta(source="generated", seed=seed)

    # TFLite-Micro runs every model LOAD accepts: its outputs are the golden outputs unless the
    # model brought its own, which are then cross-checked.
    prefix = "tflm_output" if with_outputs else "output"
    run_isolated("tflm", model_path, golden, count, specs, golden, prefix)
    if with_outputs:
        meta.tflm_mismatches = _count_mismatches(golden, "output", "tflm_output", info, count)
        for v in range(count):
            for i in range(len(outs)):
                (golden / f"tflm_output_{v}_{i}.bin").unlink()
        if meta.tflm_mismatches:
            print(f"warning: {meta.tflm_mismatches} golden output values of the model differ from TFLite-Micro's",
                  file=sys.stderr)
    if args.litert:
        run_isolated("litert", model_path, golden, count, specs, golden, "litert_output")
        meta.litert = True
    return meta, count


# ----------------------------------------------------------------------------- main


def load(args: argparse.Namespace) -> ModelMeta:
    """Run the stage; raises LoadError/ModelError/DefinitionError/ReferenceError for bad inputs."""
    try:
        data = args.model.read_bytes()
    except FileNotFoundError:
        raise LoadError(f"model file not found: {args.model}") from None
    except IsADirectoryError:
        raise LoadError(f"model path is a directory: {args.model}") from None
    if args.num_vectors is not None and args.num_vectors < 1:
        raise LoadError("--num-vectors must be at least 1")
    info = parse_model(data)
    if args.require_int8:
        require_int8(info)
    definition = load_definition(args.definition) if args.definition is not None else None
    if definition is not None:
        _check_definition(info, definition)

    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    model_out = out / "model.tflite"
    model_out.write_bytes(data)
    digest = hashlib.sha256(data).digest()
    golden_meta, count = _golden(model_out, info, digest, args, out)

    layers = layer_stats(info)
    meta = ModelMeta(
        name=_model_name(args.model, definition),
        inputs=[_tensor_meta(t) for t in info.input_tensors()],
        outputs=[_tensor_meta(t) for t in info.output_tensors()],
        ops=op_histogram(info),
        params=sum(layer.params for layer in layers),
        macs=sum(layer.macs for layer in layers),
        num_vectors=count,
        size_bytes=len(data),
        sha256=digest.hex(),
        golden=golden_meta,
        layers=[LayerMeta(index=s.index, op=s.op, macs=s.macs, params=s.params, output_shape=list(s.output_shape))
                for s in layers],
    )
    (out / "model.json").write_text(json.dumps(meta.model_dump(), indent=2) + "\n")
    (out / "metrics.json").write_text(json.dumps({"Params": meta.params, "MACs": meta.macs}) + "\n")
    return meta


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        load(args)
    except (LoadError, DefinitionError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USER_ERROR
    except (ModelError, ReferenceError) as exc:
        print(f"error: {args.model}: {exc}", file=sys.stderr)
        return EXIT_USER_ERROR
    except Exception as exc:  # a bug here, not the user's fault: still one line
        if os.environ.get("MCUORCH_DEBUG"):
            raise
        print(f"error: internal error in mcuorch-load: {type(exc).__name__}: {exc}", file=sys.stderr)
        return EXIT_INTERNAL_ERROR
    return 0
