"""The bundled models: shapes, realism of their numbers, and bit-exact regeneration."""

from __future__ import annotations

import pytest

pytest.importorskip("tflite_micro", reason="needs the tflite image's Python packages (images/tflite/requirements.txt)")

from pathlib import Path

import numpy as np
from mcuorch_tflite.reader import parse_model
from mcuorch_tflite.reference import run_tflm
from tflite_testlib import BUNDLED, MODELS_DIR

EXPECTED = {
    # name: (ops, input shape, output shape, size range in bytes)
    "sine_model": ({"FULLY_CONNECTED": 3}, [1, 1], [1, 1], (1_000, 5_000)),
    "aww": ({"CONV_2D": 5, "DEPTHWISE_CONV_2D": 4, "AVERAGE_POOL_2D": 1, "RESHAPE": 1, "FULLY_CONNECTED": 1,
             "SOFTMAX": 1}, [1, 49, 10, 1], [1, 12], (30_000, 70_000)),
    "vww": ({"CONV_2D": 14, "DEPTHWISE_CONV_2D": 13, "AVERAGE_POOL_2D": 1, "RESHAPE": 1, "FULLY_CONNECTED": 1,
             "SOFTMAX": 1}, [1, 96, 96, 3], [1, 2], (200_000, 400_000)),
    "resnet": ({"CONV_2D": 9, "ADD": 3, "AVERAGE_POOL_2D": 1, "RESHAPE": 1, "FULLY_CONNECTED": 1, "SOFTMAX": 1},
               [1, 32, 32, 3], [1, 10], (70_000, 130_000)),
    "toycar": ({"FULLY_CONNECTED": 10}, [1, 640], [1, 640], (200_000, 350_000)),
}
CLASSIFIERS = ("aww", "vww", "resnet")


def _golden(name: str, kind: str, v: int, shape: list[int]) -> np.ndarray:
    return np.fromfile(MODELS_DIR / name / "golden" / f"{kind}_{v}_0.bin", dtype=np.int8).reshape(shape)


@pytest.mark.parametrize("name", BUNDLED)
def test_bundled_model_structure(name: str) -> None:
    data = (MODELS_DIR / name / "model.tflite").read_bytes()
    info = parse_model(data)
    ops, in_shape, out_shape, (lo, hi) = EXPECTED[name]
    assert {k: v for k, v in sorted(_hist(info).items())} == dict(sorted(ops.items()))
    assert [list(t.shape) for t in info.input_tensors()] == [in_shape]
    assert [list(t.shape) for t in info.output_tensors()] == [out_shape]
    assert all(t.dtype == "int8" for t in info.input_tensors() + info.output_tensors())
    assert all(t.dtype in ("int8", "int32") for t in info.tensors)  # full int8, no float anywhere
    assert lo <= len(data) <= hi


def _hist(info) -> dict[str, int]:
    hist: dict[str, int] = {}
    for op in info.operators:
        hist[op.opcode] = hist.get(op.opcode, 0) + 1
    return hist


@pytest.mark.parametrize("name", BUNDLED)
def test_golden_outputs_are_tflm_outputs_and_differ(name: str) -> None:
    data = (MODELS_DIR / name / "model.tflite").read_bytes()
    _, in_shape, out_shape, _ = EXPECTED[name]
    inputs = [_golden(name, "input", v, in_shape) for v in range(4)]
    outputs = [_golden(name, "output", v, out_shape) for v in range(4)]
    assert len({x.tobytes() for x in inputs}) == 4
    assert len({y.tobytes() for y in outputs}) == 4
    for y, (tflm,) in zip(outputs, run_tflm(data, [[x] for x in inputs])):
        assert np.array_equal(y, tflm)
    if name in CLASSIFIERS:
        assert len({int(np.argmax(y)) for y in outputs}) >= 2
    else:
        values = np.concatenate([y.ravel() for y in outputs])
        assert np.mean((values == -128) | (values == 127)) < 0.05


@pytest.mark.filterwarnings("ignore:Warning. Enabling `experimental_preserve_all_tensors`")
@pytest.mark.parametrize("name", ("aww", "vww", "resnet", "toycar"))
def test_intermediate_activations_are_neither_dead_nor_saturated(name: str) -> None:
    """On a golden input, every activation tensor uses a fair part of the int8 range."""
    from ai_edge_litert.interpreter import Interpreter

    data = (MODELS_DIR / name / "model.tflite").read_bytes()
    info = parse_model(data)
    interp = Interpreter(model_content=data, experimental_preserve_all_tensors=True)
    interp.allocate_tensors()
    interp.set_tensor(interp.get_input_details()[0]["index"], _golden(name, "input", 0, EXPECTED[name][1]))
    interp.invoke()
    checked = 0
    for op in info.operators:
        if op.opcode in ("SOFTMAX", "RESHAPE"):
            continue
        t = info.tensors[op.outputs[0]]
        values = interp.get_tensor(t.index).astype(int)
        zero = t.zero_point[0]
        assert np.mean(values == zero) < 0.95, f"{t.name}: almost all zero"
        assert np.mean(values == 127) < 0.05, f"{t.name}: saturated"
        # pooling keeps its input's scale (converter rule), so its averages use fewer steps
        min_steps = 4 if op.opcode == "AVERAGE_POOL_2D" else 8
        assert np.ptp(values) >= min_steps, f"{t.name}: uses only {np.ptp(values)} int8 steps"
        checked += 1
    assert checked == len(info.operators) - sum(op.opcode in ("SOFTMAX", "RESHAPE") for op in info.operators)


def test_sine_model_regenerates_bit_exactly(tmp_path: Path) -> None:
    from mcuorch_tflite.models.make import build_model, write_model

    write_model(build_model("sine_model"), tmp_path)
    committed = MODELS_DIR / "sine_model"
    files = sorted(p.relative_to(committed) for p in committed.rglob("*") if p.is_file())
    assert sorted(p.relative_to(tmp_path / "sine_model") for p in (tmp_path / "sine_model").rglob("*")
                  if p.is_file()) == files
    for rel in files:
        assert (tmp_path / "sine_model" / rel).read_bytes() == (committed / rel).read_bytes(), rel
