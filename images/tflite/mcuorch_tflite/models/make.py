"""`mcuorch-make-models`: regenerate the bundled models (`models/<name>/`) deterministically.

For each model: build and quantize it (see the per-model modules), write `model.tflite`,
the golden vectors (inputs quantized from the recipe's float samples, outputs from
TFLite-Micro's reference kernels) and `definition.yml`, then print a summary (size,
params, MACs, ops, golden argmax, saturation, TFLite-Micro vs LiteRT disagreements).
Same image, same bytes: every random draw is seeded and nothing depends on time or paths.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib
import shutil
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from ..analysis import layer_stats, op_histogram
from ..definition import Definition, GoldenSpec, NetworkParameters, NodeSpec, QuantSpec, dump_definition
from ..reader import parse_model
from ..reference import run_litert, run_tflm, tflm_arena_bytes
from .common import BundledModel

MODELS = ("sine_model", "aww", "vww", "resnet", "toycar")
_MODULES = {"sine_model": "sine", "aww": "aww", "vww": "vww", "resnet": "resnet", "toycar": "toycar"}
ACCURACY_SAMPLES = 200


def build_model(name: str) -> BundledModel:
    """Run the recipe of one bundled model."""
    return importlib.import_module(f"{__package__}.{_MODULES[name]}").build()


def _tflm_version() -> str:
    try:
        from tflite_micro.python.tflite_micro._version import __version__
        return __version__
    except ImportError:
        return "unknown"


def golden_vectors(model: BundledModel) -> list[list[np.ndarray]]:
    """int8 golden inputs: the recipe's float samples quantized with the model's input params."""
    q = model.quantized
    return [[q.quantize_input(i, x) for i, x in enumerate(vec)] for vec in model.golden_inputs]


def _definition(model: BundledModel, data: bytes, num_vectors: int, arena: int, macs: int,
                params: int, ops: dict[str, int]) -> Definition:
    q = model.quantized

    def node(idx: int, desc: str, key: str) -> NodeSpec:
        t = q.tensors[idx]
        spec = QuantSpec(scale=float(t.quant.scale[0]), zero_shift=int(t.quant.zero_point[0]))
        return NodeSpec(name=t.name, shape=list(t.shape), dtype=t.dtype, description=desc, **{key: spec})

    return Definition(
        name=model.name,
        description=model.description,
        provenance=model.provenance,
        network={"filename": "model.tflite", "framework": "TensorFlow Lite", "file_size_bytes": len(data),
                 "hash": {"algorithm": "sha256", "value": hashlib.sha256(data).hexdigest()},
                 "generator": "mcuorch-make-models (images/tflite)"},
        network_parameters=NetworkParameters(
            input_nodes=[node(i, d, "quantize") for i, d in zip(q.inputs, model.input_descriptions)],
            output_nodes=[node(i, d, "dequantize") for i, d in zip(q.outputs, model.output_descriptions)]),
        golden=GoldenSpec(num_vectors=num_vectors, path="golden",
                          reference=f"tflite-micro {_tflm_version()} reference kernels",
                          vectors=list(model.golden_notes)),
        operators={"TensorFlow Lite": list(ops)},
        backends={"tflmi": {"arena_size": arena}},
        metrics={"params": params, "macs": macs, **model.extra},
    )


def _round_up(n: int, step: int) -> int:
    return (n + step - 1) // step * step


def write_model(model: BundledModel, root: Path) -> dict[str, object]:
    """Write `root/<name>/` and return summary figures."""
    data = model.quantized.to_bytes()
    info = parse_model(data)
    layers = layer_stats(info)
    ops = op_histogram(info)
    params, macs = sum(s.params for s in layers), sum(s.macs for s in layers)
    vectors = golden_vectors(model)
    outputs = run_tflm(data, vectors)

    folder = root / model.name
    if (folder / "golden").exists():
        shutil.rmtree(folder / "golden")
    (folder / "golden").mkdir(parents=True)
    (folder / "model.tflite").write_bytes(data)
    for v, (ins, outs) in enumerate(zip(vectors, outputs)):
        for i, arr in enumerate(ins):
            (folder / "golden" / f"input_{v}_{i}.bin").write_bytes(arr.tobytes())
        for i, arr in enumerate(outs):
            (folder / "golden" / f"output_{v}_{i}.bin").write_bytes(np.ascontiguousarray(arr).tobytes())
    arena = _round_up(int(tflm_arena_bytes(folder / "model.tflite") * 1.25), 1024)
    definition = _definition(model, data, len(vectors), arena, macs, params, ops)
    (folder / "definition.yml").write_text(dump_definition(definition))
    return summarize(model, data, vectors, outputs) | {"size": len(data), "params": params, "macs": macs,
                                                         "ops": ops, "arena": arena}


def summarize(model: BundledModel, data: bytes, vectors: list[list[np.ndarray]],
              outputs: list[list[np.ndarray]]) -> dict[str, object]:
    """Sanity figures of the golden outputs and the TFLM/LiteRT agreement."""
    litert = run_litert(data, vectors)
    outs = np.concatenate([o[0].reshape(-1) for o in outputs])
    disagree = sum(int(np.count_nonzero(a[0] != b[0])) for a, b in zip(outputs, litert))
    summary: dict[str, object] = {
        "argmax": [int(np.argmax(o[0])) for o in outputs],
        "saturated": float(np.mean((outs == -128) | (outs == 127))),
        "distinct_outputs": len({o[0].tobytes() for o in outputs}),
        "tflm_litert_disagree": f"{disagree}/{outs.size}",
    }
    if model.test_set is not None:
        x, y = model.test_set
        x, y = x[:ACCURACY_SAMPLES], y[:ACCURACY_SAMPLES]
        q_in = [[model.quantized.quantize_input(0, x[k:k + 1])] for k in range(len(x))]
        q_out = run_tflm(data, q_in)
        l_out = run_litert(data, q_in)
        pred = np.array([int(np.argmax(o[0])) for o in q_out])
        float_pred = np.argmax(model.graph.run([x])[0], axis=1)
        summary["int8_tflm_accuracy"] = float(np.mean(pred == y))
        summary["float_accuracy"] = float(np.mean(float_pred == y))
        summary["test_disagree"] = f"{sum(int(np.count_nonzero(a[0] != b[0])) for a, b in zip(q_out, l_out))}" \
                                   f"/{sum(o[0].size for o in q_out)}"
    return summary


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="mcuorch-make-models", description=__doc__.splitlines()[0])
    p.add_argument("--out", type=Path, default=Path("models"), help="models directory (default: ./models)")
    p.add_argument("--only", nargs="+", choices=MODELS, help="regenerate only these models")
    args = p.parse_args(argv)
    for name in args.only or MODELS:
        print(f"building {name} ...", flush=True)
        summary = write_model(build_model(name), args.out)
        print(f"  {name}: " + ", ".join(f"{k}={v}" for k, v in summary.items()), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
