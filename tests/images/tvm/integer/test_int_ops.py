"""Every operator through ``--kernels int``: bit-exact with TFLite-Micro's reference kernels.

Cases: this folder's ``data/`` (register blocking and its leftovers, padded-plane and guarded
depthwise, KWS first layer, batched FC, ADD with different scales, SOFTMAX over input scales
and betas, MEAN axes) and the float path's ``tests/images/tvm/data/ops`` (SAME/VALID,
strides, dilation, depth multiplier, fused RELU/RELU6, broadcasting ADD, PAD, RESHAPE,
multi-output, residual block). Reference outputs were recorded from the tflite-micro wheel.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from int_support import DATA, OPS_DATA, assert_links_without_libm, build_int, check_case, fixture_arrays, \
    kernels_body, write_codegen

CASES = sorted(DATA.glob("*.tflite")) + sorted(OPS_DATA.glob("*.tflite"))


def test_cases_present() -> None:
    assert len(CASES) >= 40, "fixtures missing: run make_fixtures.py"


@pytest.mark.parametrize("model", CASES, ids=[p.stem for p in CASES])
def test_bit_exact_with_tflite_micro(model: Path, tmp_path: Path) -> None:
    diff, total, worst = check_case(model, fixture_arrays(model), tmp_path)
    assert total > 0
    assert (diff, worst) == (0, 0), f"{diff}/{total} elements differ, max {worst}"


def test_kernels_have_no_float_and_need_no_libm(tmp_path: Path) -> None:
    """One model with every operator family: no float type in the kernels, no libm symbol."""
    names = ["conv_kws_first", "dw_plane_relu6", "fc_batched", "add_scales", "softmax_scale_1",
             "mean_channels", "avgpool_same_relu"]
    for name in names + ["pad_spatial", "maxpool_valid", "reshape_fc"]:
        model = (DATA if (DATA / f"{name}.tflite").exists() else OPS_DATA) / f"{name}.tflite"
        codegen = write_codegen(build_int(model.read_bytes(), name), tmp_path / name)
        body = kernels_body(codegen)
        for token in ("float", "double", "expf", "nearbyint", "floorf", "roundf"):
            assert token not in body, f"{name}: '{token}' in integer kernels"
        assert_links_without_libm(codegen, tmp_path / f"{name}.o", name)


def test_unsupported_operator_is_one_clear_error() -> None:
    from mcuorch_tvm.errors import UnsupportedOperator
    from mcuorch_tvm.integer.lower import lower_to_kernels

    model = (OPS_DATA.parent / "unsupported_log_softmax.tflite").read_bytes()
    with pytest.raises(UnsupportedOperator, match="unsupported operator LOG_SOFTMAX"):
        lower_to_kernels(model)
