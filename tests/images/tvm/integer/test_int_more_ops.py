"""QUANTIZE/DEQUANTIZE, elementwise and shape operators through ``--kernels int``: every
output bit-identical with TFLite-Micro's reference kernels (``data/more``, recorded from the
tflite-micro wheel by ``make_more_fixtures.py``). Float outputs are compared as bits.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from int_support import DATA, assert_links_without_libm, build_int, compile_host, fixture_arrays, \
    kernels_body, write_codegen
from support import run_host, vectors

MORE = DATA / "more"
CASES = sorted(MORE.glob("*.tflite"))


def test_cases_present() -> None:
    assert len(CASES) >= 40, "fixtures missing: run make_more_fixtures.py"


@pytest.mark.parametrize("model", CASES, ids=[p.stem for p in CASES])
def test_bit_exact_with_tflite_micro(model: Path, tmp_path: Path) -> None:
    arrays = fixture_arrays(model)
    codegen = write_codegen(build_int(model.read_bytes(), model.stem), tmp_path / "codegen")
    exe = tmp_path / "app"
    compile_host(codegen, exe)
    inputs, expected = vectors(arrays, "in"), vectors(arrays, "tflm")
    assert inputs and len(inputs) == len(expected)
    for v, (ins, want) in enumerate(zip(inputs, expected)):
        got = run_host(exe, ins, [(w.shape, w.dtype) for w in want], tmp_path)
        for o, (g, w) in enumerate(zip(got, want)):
            bits = np.uint32 if w.dtype == np.float32 else w.dtype
            differ = int((g.view(bits) != w.view(bits)).sum())
            assert differ == 0, f"vector {v} output {o}: {differ}/{w.size} elements differ"


def test_unary_tables_see_every_int8_value() -> None:
    """Vector 0 of the table operators' fixtures covers all 256 input values."""
    for name in ("logistic_fine", "tanh_coarse", "hard_swish_asym", "relu_rescale", "leaky_relu_rescale"):
        x = fixture_arrays(MORE / f"{name}.tflite")["in_0_0"]
        assert set(np.unique(x).tolist()) == set(range(-128, 128)), name


def test_integer_ops_need_no_float_and_float_io_no_libm(tmp_path: Path) -> None:
    """Tables, MUL/SUB and copies stay integer; QUANTIZE/DEQUANTIZE use float arithmetic
    but no libm (roundf is written out)."""
    for name in ("mul_broadcast_relu", "sub_broadcast_relu6", "logistic_fine", "resize_nearest_align",
                 "float_io_logistic"):
        codegen = write_codegen(build_int((MORE / f"{name}.tflite").read_bytes(), name), tmp_path / name)
        body = kernels_body(codegen)
        if not name.startswith("float"):
            assert "float" not in body and "double" not in body, name
        assert "double" not in body, name
        assert_links_without_libm(codegen, tmp_path / f"{name}.o", name)


def test_float_graph_io_needs_quantize_dequantize() -> None:
    """A float32 graph input that is not consumed by QUANTIZE is still one clear error."""
    import sys

    from mcuorch_tvm.errors import UnsupportedOperator
    from mcuorch_tvm.integer.lower import lower_to_kernels

    sys.path.insert(0, str(Path(__file__).parent))
    from make_more_fixtures import Graph, q

    g = Graph("float_relu")
    x = g.input((1, 8), None, "float32")
    y = g.tensor((1, 8), None, "float32")
    g.op("RELU", [x], [y])
    g.outputs.append(y)
    with pytest.raises(UnsupportedOperator, match="float32 ones through QUANTIZE/DEQUANTIZE"):
        lower_to_kernels(g.model().to_bytes())
    del q


def test_supported_ops_file_lists_every_lowering() -> None:
    """The host reads this file to mark operators in `mcuorch models`."""
    from mcuorch_tvm.integer import lower

    text = (Path(lower.__file__).parent / "supported_ops.txt").read_text()
    listed = [line for line in text.splitlines() if line and not line.startswith("#")]
    assert listed == list(lower.SUPPORTED_OPS)


def test_float_io_model_through_the_build_command(tmp_path: Path) -> None:
    """The BUILD command on a float-I/O model: float32 in the C API, warning-free C (-Wextra
    -Werror), outputs bit-identical with TFLite-Micro's."""
    from support import compile_host as compile_strict
    from support import run_build

    model = MORE / "sine_model_float_io.tflite"
    result = run_build(model, tmp_path / "out", name="sine_float")
    assert result.returncode == 0, result.stderr
    codegen = tmp_path / "out" / "codegen"
    assert "MCUORCH_DTYPE_FLOAT32" in (codegen / "mcuorch_model.c").read_text()
    exe = tmp_path / "app"
    compile_strict(codegen, exe)
    arrays = fixture_arrays(model)
    for v in range(4):
        want = arrays[f"tflm_{v}_0"]
        (got,) = run_host(exe, [arrays[f"in_{v}_0"]], [(want.shape, want.dtype)], tmp_path)
        assert got.dtype == np.float32 and np.array_equal(got.view(np.uint32), want.view(np.uint32))
