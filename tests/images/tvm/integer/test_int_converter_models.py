"""Models made by the real TFLite converter (``converter/make_mlperf_models.py``: MLPerf Tiny's
DS-CNN keyword spotter and streaming wake word DS-TCN, full int8 and float I/O) through
``--kernels int``: every output bit-identical with TFLite-Micro (``converter/models/*.npz``,
recorded by ``converter/make_golden.py``), for the portable kernels and for the SIMD ISAs'
kernels (their scalar fallbacks on the host).

These graphs carry the converter's dynamic-batch shape arithmetic (Keras ``Flatten`` as
SHAPE -> STRIDED_SLICE -> PACK -> RESHAPE on int32), which the build computes (``integer/fold``).
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
import pytest
from int_support import TVM_TESTS, build_int, compile_host, write_codegen

MODELS = TVM_TESTS / "converter" / "models"
CASES = sorted(p for p in MODELS.glob("*.tflite") if p.with_suffix(".npz").exists())
ISAS = ["generic", "cortex-m4+dsp", "cortex-m55+mve"]


def test_committed_models_present() -> None:
    assert {p.stem for p in CASES} >= {"kws_int8", "kws_float", "sww_int8", "sww_float"}


@pytest.mark.parametrize("isa", ISAS)
@pytest.mark.parametrize("model", CASES, ids=[p.stem for p in CASES])
def test_bit_exact_with_tflite_micro(model: Path, isa: str, tmp_path: Path) -> None:
    with np.load(model.with_suffix(".npz")) as z:
        arrays = {k: z[k] for k in z.files}
    result = build_int(model.read_bytes(), model.stem, isa)
    exe = tmp_path / "app"
    compile_host(write_codegen(result, tmp_path / "codegen"), exe)
    v = 0
    while f"in_{v}_0" in arrays:
        inputs = [arrays[f"in_{v}_0"]]
        want = arrays[f"tflm_{v}_0"]
        np.ascontiguousarray(inputs[0]).tofile(tmp_path / "in0.bin")
        subprocess.run([str(exe), str(tmp_path / "in0.bin"), str(tmp_path / "out0.bin")], check=True, timeout=120)
        got = np.fromfile(tmp_path / "out0.bin", dtype=want.dtype).reshape(want.shape)
        bits = np.uint32 if want.dtype == np.float32 else want.dtype
        differ = int((got.view(bits) != want.view(bits)).sum())
        assert differ == 0, f"vector {v}: {differ}/{want.size} elements differ"
        v += 1
    assert v == 4


def test_shape_arithmetic_is_folded_not_run() -> None:
    """SHAPE, STRIDED_SLICE and PACK leave no kernel: the call sequence is the DS-TCN's layers."""
    from mcuorch_tvm.integer.lower import lower_with_layers

    _, info, layers = lower_with_layers((MODELS / "sww_int8.tflite").read_bytes())
    assert {"SHAPE", "STRIDED_SLICE", "PACK"} <= set(info.ops)
    assert [layer.op for layer in layers] == ["DEPTHWISE_CONV_2D", "CONV_2D"] * 4 + ["FULLY_CONNECTED"]


def _fold(op_name: str, inputs: list[np.ndarray | None], out_shape: tuple[int, ...], options=None,
          out_dtype: str = "int32", graph_output: bool = False):
    """Fold one operator over constant (or, for SHAPE, activation) inputs; the output tensor."""
    from mcuorch_tvm.integer.fold import fold_constant
    from mcuorch_tvm.integer.model import ModelDesc, OpDesc, TensorDesc

    tensors = [TensorDesc(i, f"in{i}", (1, 6, 4, 2) if a is None else a.shape, "int8" if a is None else str(a.dtype),
                          None, a) for i, a in enumerate(inputs)]
    out = TensorDesc(len(tensors), "out", out_shape, out_dtype, None)
    desc = ModelDesc([*tensors, out], [], [0], [out.index] if graph_output else [])
    op = OpDesc(0, op_name, list(range(len(inputs))), [out.index], options or {})
    return fold_constant(desc, op), out


def test_fold_semantics() -> None:
    from mcuorch_tvm.errors import UnsupportedOperator

    i32 = lambda *v: np.array(v, dtype=np.int32)  # noqa: E731
    masks = {"begin_mask": 0, "end_mask": 0, "ellipsis_mask": 0, "new_axis_mask": 0, "shrink_axis_mask": 0}
    done, out = _fold("SHAPE", [None], (4,))
    assert done and out.data.tolist() == [1, 6, 4, 2] and out.data.dtype == np.int32
    shape = i32(1, 6, 4, 2)
    cases = [  # (begin, end, strides, masks, expected)
        ((1,), (3,), (1,), {}, [6, 4]),
        ((-1,), (0,), (-1,), {}, [2, 4, 6]),
        ((0,), (1,), (1,), {"shrink_axis_mask": 1}, 1),
        ((-2,), (0,), (1,), {"shrink_axis_mask": 1}, 4),
        ((9,), (2,), (1,), {"begin_mask": 1}, [1, 6]),
        ((1,), (0,), (2,), {"end_mask": 1}, [6, 2]),
    ]
    for begin, end, strides, extra, expected in cases:
        want = np.array(expected, dtype=np.int32)
        done, out = _fold("STRIDED_SLICE", [shape, i32(*begin), i32(*end), i32(*strides)], want.shape,
                          {**masks, **extra})
        assert done and out.data.tolist() == want.tolist(), (begin, end, strides, extra)
    done, out = _fold("PACK", [np.array(1, np.int32), np.array(32, np.int32)], (2,), {"axis": 0})
    assert done and out.data.tolist() == [1, 32]
    done, out = _fold("MUL", [i32(6), i32(8)], (1,), {"activation": "NONE"})
    assert done and out.data.tolist() == [48]
    assert _fold("MUL", [i32(6), None], (1,), {"activation": "NONE"})[0] is False  # not constant
    assert _fold("ADD", [i32(6), i32(1)], (1,), out_dtype="int8")[0] is False  # not shape arithmetic
    with pytest.raises(UnsupportedOperator, match="stores"):
        _fold("PACK", [np.array(1, np.int32), np.array(32, np.int32)], (3,), {"axis": 0})
    with pytest.raises(UnsupportedOperator, match="graph output"):
        _fold("SHAPE", [None], (4,), graph_output=True)
