"""The LOAD stage command (`mcuorch-load`): bundled models, metadata, golden vectors, bad files."""

from __future__ import annotations

import pytest

pytest.importorskip("tflite_micro", reason="needs the tflite image's Python packages (images/tflite/requirements.txt)")

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import yaml
from mcuorch_tflite.builder import GraphBuilder, QOperator, QTensor, QuantizedModel
from mcuorch_tflite.reader import ModelError, parse_model
from mcuorch_tflite.reference import run_tflm
from tflite_testlib import BUNDLED, IMAGE_CODE, MODELS_DIR


def run_load(*args: str | Path) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(IMAGE_CODE))
    return subprocess.run([sys.executable, str(IMAGE_CODE / "bin" / "mcuorch-load"), *map(str, args)],
                          capture_output=True, text=True, env=env, timeout=600, check=False)


def assert_user_error(proc: subprocess.CompletedProcess, *fragments: str) -> None:
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), proc.stderr
    assert "Traceback" not in proc.stderr
    for fragment in fragments:
        assert fragment in lines[0]


def small_model() -> bytes:
    """conv 3x3 SAME (2->4) on 5x5, depthwise 3x3 stride 2 VALID, reshape, FC 16->3."""
    rng = np.random.default_rng(11)
    g = GraphBuilder("small")
    x = g.input("x", (1, 5, 5, 2))
    h = g.conv2d(x, rng.normal(size=(4, 3, 3, 2)), rng.normal(size=4), activation="RELU")
    h = g.depthwise_conv2d(h, rng.normal(size=(1, 3, 3, 4)), rng.normal(size=4), stride=2, padding="VALID")
    h = g.reshape(h, (1, 16))
    g.output(g.fully_connected(h, rng.normal(size=(3, 16)), rng.normal(size=3)), name="y")
    graph = g.build()
    return graph.convert([rng.normal(size=(16, 5, 5, 2))]).to_bytes()


def float_model() -> bytes:
    """A float32 FULLY_CONNECTED model, written directly (the builder only makes int8 models)."""
    w = np.arange(12, dtype=np.float32).reshape(3, 4) / 10
    tensors = [QTensor("x", (1, 4), "float32"), QTensor("w", (3, 4), "float32", data=w),
               QTensor("b", (3,), "float32", data=np.ones(3, np.float32)), QTensor("y", (1, 3), "float32")]
    op = QOperator("FULLY_CONNECTED", [0, 1, 2], [3], "FullyConnectedOptions",
                   {"FusedActivationFunction": 0}, version=1)
    return QuantizedModel("float_fc", tensors, [op], [0], [3]).to_bytes()


# ----------------------------------------------------------------------------- bundled models


@pytest.mark.parametrize("name", BUNDLED)
def test_load_bundled_model(name: str, tmp_path: Path) -> None:
    folder = MODELS_DIR / name
    out = tmp_path / "out"
    proc = run_load("--model", folder / "model.tflite", "--definition", folder / "definition.yml",
                    "--golden-dir", folder / "golden", "--out", out)
    assert proc.returncode == 0, proc.stderr
    meta = json.loads((out / "model.json").read_text())
    definition = yaml.safe_load((folder / "definition.yml").read_text())
    params = definition["network_parameters"]
    assert meta["name"] == name and meta["format"] == "tflite"
    for key, nodes, qkey in (("inputs", params["input_nodes"], "quantize"),
                             ("outputs", params["output_nodes"], "dequantize")):
        assert [t["name"] for t in meta[key]] == [n["name"] for n in nodes]
        assert [t["shape"] for t in meta[key]] == [n["shape"] for n in nodes]
        assert all(t["dtype"] == n["dtype"] == "int8" for t, n in zip(meta[key], nodes))
        assert [t["scale"] for t in meta[key]] == pytest.approx([n[qkey]["scale"] for n in nodes])
        assert [t["zero_point"] for t in meta[key]] == [n[qkey]["zero_shift"] for n in nodes]
    assert list(meta["ops"]) == definition["operators"]["TensorFlow Lite"]
    assert meta["params"] == definition["metrics"]["params"] and meta["macs"] == definition["metrics"]["macs"]
    assert meta["num_vectors"] == definition["golden"]["num_vectors"] == 4
    assert meta["golden"]["source"] == "model" and meta["golden"]["tflm_mismatches"] == 0
    assert json.loads((out / "metrics.json").read_text()) == {"Params": meta["params"], "MACs": meta["macs"]}
    assert (out / "model.tflite").read_bytes() == (folder / "model.tflite").read_bytes()
    for f in sorted((folder / "golden").iterdir()):
        assert (out / "golden" / f.name).read_bytes() == f.read_bytes()
    assert sum(layer["macs"] for layer in meta["layers"]) == meta["macs"]


def test_small_conv_macs_and_params_match_hand_count(tmp_path: Path) -> None:
    model = tmp_path / "small.tflite"
    model.write_bytes(small_model())
    proc = run_load("--model", model, "--out", tmp_path / "out")
    assert proc.returncode == 0, proc.stderr
    meta = json.loads((tmp_path / "out" / "model.json").read_text())
    conv = 5 * 5 * 4 * (3 * 3 * 2)    # output elements x KH*KW*Cin
    depthwise = 2 * 2 * 4 * (3 * 3)   # output elements x KH*KW
    fc = 3 * 16
    assert [layer["macs"] for layer in meta["layers"]] == [conv, depthwise, 0, fc]
    assert meta["macs"] == conv + depthwise + fc == 1992
    assert meta["params"] == (4 * 18 + 4) + (4 * 9 + 4) + (3 * 16 + 3)  # reshape's shape is no parameter
    assert meta["ops"] == {"CONV_2D": 1, "DEPTHWISE_CONV_2D": 1, "RESHAPE": 1, "FULLY_CONNECTED": 1}
    assert meta["name"] == "small"


def test_generated_golden_vectors_are_deterministic(tmp_path: Path) -> None:
    model = tmp_path / "model.tflite"
    data = small_model()
    model.write_bytes(data)
    runs = []
    for k in range(2):
        out = tmp_path / f"out{k}"
        proc = run_load("--model", model, "--num-vectors", "3", "--litert", "--out", out)
        assert proc.returncode == 0, proc.stderr
        runs.append({f.name: f.read_bytes() for f in (out / "golden").iterdir()})
    assert runs[0] == runs[1]
    assert sorted(runs[0]) == sorted([f"{kind}_{v}_0.bin" for kind in ("input", "output", "litert_output")
                                      for v in range(3)])
    inputs = [np.frombuffer(runs[0][f"input_{v}_0.bin"], np.int8).reshape(1, 5, 5, 2) for v in range(3)]
    assert len({x.tobytes() for x in inputs}) == 3
    expected = run_tflm(data, [[x] for x in inputs])
    for v in range(3):
        out = np.frombuffer(runs[0][f"output_{v}_0.bin"], np.int8)
        assert out.tobytes() == expected[v][0].tobytes()
        litert = np.frombuffer(runs[0][f"litert_output_{v}_0.bin"], np.int8)
        assert np.max(np.abs(out.astype(int) - litert.astype(int))) <= 1
    meta = json.loads((tmp_path / "out0" / "model.json").read_text())
    assert meta["golden"]["source"] == "generated" and meta["golden"]["litert"] is True
    assert meta["name"] == tmp_path.name  # a file named model.tflite takes its folder's name


def test_model_inputs_without_outputs_get_tflm_outputs(tmp_path: Path) -> None:
    folder = MODELS_DIR / "sine_model"
    golden = tmp_path / "golden"
    golden.mkdir()
    for v in range(2):
        (golden / f"input_{v}_0.bin").write_bytes((folder / "golden" / f"input_{v}_0.bin").read_bytes())
    proc = run_load("--model", folder / "model.tflite", "--golden-dir", golden, "--out", tmp_path / "out")
    assert proc.returncode == 0, proc.stderr
    meta = json.loads((tmp_path / "out" / "model.json").read_text())
    assert meta["num_vectors"] == 2 and meta["golden"]["source"] == "model-inputs"
    for v in range(2):
        assert (tmp_path / "out" / "golden" / f"output_{v}_0.bin").read_bytes() == \
            (folder / "golden" / f"output_{v}_0.bin").read_bytes()


def test_float_model_is_accepted_unless_int8_is_required(tmp_path: Path) -> None:
    model = tmp_path / "fc.tflite"
    model.write_bytes(float_model())
    proc = run_load("--model", model, "--num-vectors", "1", "--out", tmp_path / "out")
    assert proc.returncode == 0, proc.stderr
    meta = json.loads((tmp_path / "out" / "model.json").read_text())
    assert meta["inputs"][0]["dtype"] == "float32" and meta["inputs"][0]["scale"] is None
    x = np.frombuffer((tmp_path / "out" / "golden" / "input_0_0.bin").read_bytes(), np.float32)
    y = np.frombuffer((tmp_path / "out" / "golden" / "output_0_0.bin").read_bytes(), np.float32)
    w = np.arange(12, dtype=np.float32).reshape(3, 4) / 10
    assert np.allclose(y, w @ x + 1.0, rtol=1e-5)
    assert_user_error(run_load("--model", model, "--require-int8", "--out", tmp_path / "out2"),
                      "not a full-int8 model", "float32")


# ----------------------------------------------------------------------------- bad inputs


def _bad_files(tmp_path: Path) -> dict[str, tuple[Path, str]]:
    good = (MODELS_DIR / "aww" / "model.tflite").read_bytes()
    files = {
        "empty": (b"", "empty"),
        "text": (b"this is not a model\n", "TFL3"),
        "truncated_header": (good[:6], "TFL3"),
        "truncated_quarter": (good[: len(good) // 4], "malformed"),
        "truncated_half": (good[: len(good) // 2], "malformed"),
        "truncated_last_byte": (good[:-17], "malformed"),
        "garbage_after_identifier": (good[:8] + bytes(range(256)) * 4, "malformed"),
        "bad_root_offset": (b"\xff\xff\xff\x7f" + good[4:], "malformed"),
    }
    paths = {}
    for name, (data, fragment) in files.items():
        p = tmp_path / f"{name}.tflite"
        p.write_bytes(data)
        paths[name] = (p, fragment)
    return paths


BAD = ("empty", "text", "truncated_header", "truncated_quarter", "truncated_half", "truncated_last_byte",
       "garbage_after_identifier", "bad_root_offset")


@pytest.mark.parametrize("case", BAD)
def test_bad_model_file_gives_one_line_error(case: str, tmp_path: Path) -> None:
    path, fragment = _bad_files(tmp_path)[case]
    assert_user_error(run_load("--model", path, "--out", tmp_path / "out"), str(path), fragment)


def test_missing_model_and_bad_arguments(tmp_path: Path) -> None:
    assert_user_error(run_load("--model", tmp_path / "nope.tflite", "--out", tmp_path / "o"), "not found")
    assert_user_error(run_load("--model", tmp_path, "--out", tmp_path / "o"), "directory")
    assert_user_error(run_load("--out", tmp_path / "o"), "--model")
    model = MODELS_DIR / "sine_model" / "model.tflite"
    assert_user_error(run_load("--model", model, "--num-vectors", "0", "--out", tmp_path / "o"), "--num-vectors")


def test_definition_that_does_not_match_is_rejected(tmp_path: Path) -> None:
    folder = MODELS_DIR / "sine_model"
    d = yaml.safe_load((folder / "definition.yml").read_text())
    d["network_parameters"]["input_nodes"][0]["shape"] = [1, 2]
    bad = tmp_path / "definition.yml"
    bad.write_text(yaml.safe_dump(d))
    assert_user_error(run_load("--model", folder / "model.tflite", "--definition", bad, "--out", tmp_path / "o"),
                      "input 0")
    bad.write_text("network_parameters: [1, 2]\n")
    assert_user_error(run_load("--model", folder / "model.tflite", "--definition", bad, "--out", tmp_path / "o"),
                      "definition.yml")


def test_golden_file_of_wrong_size_is_rejected(tmp_path: Path) -> None:
    golden = tmp_path / "golden"
    golden.mkdir()
    (golden / "input_0_0.bin").write_bytes(b"\x00\x01")  # the sine model's input is one byte
    model = MODELS_DIR / "sine_model" / "model.tflite"
    assert_user_error(run_load("--model", model, "--golden-dir", golden, "--out", tmp_path / "o"), "2 bytes")


def test_reader_survives_random_corruption() -> None:
    """Flipped bytes either still parse or raise ModelError: never another exception."""
    good = (MODELS_DIR / "sine_model" / "model.tflite").read_bytes()
    rng = np.random.default_rng(0)
    outcomes = {"ok": 0, "rejected": 0}
    for _ in range(400):
        data = bytearray(good)
        for pos in rng.integers(8, len(data), size=int(rng.integers(1, 6))):
            data[pos] = int(rng.integers(0, 256))
        try:
            parse_model(bytes(data))
            outcomes["ok"] += 1
        except ModelError:
            outcomes["rejected"] += 1
    assert outcomes["rejected"] > 0 and outcomes["ok"] > 0
