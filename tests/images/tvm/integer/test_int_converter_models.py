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
