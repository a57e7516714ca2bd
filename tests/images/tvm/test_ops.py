"""Per-operator tests: generated C, compiled with host gcc, against TFLite-Micro's outputs.

Models and reference outputs are committed in ``data/ops`` (see ``make_fixtures.py``), so
these tests need neither the model builder nor the interpreters.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from support import DATA, Diff, compile_host, have_tvm, run_host, vectors, write_meta

pytestmark = pytest.mark.skipif(not have_tvm(), reason="needs apache-tvm (image tvm)")

CASES = sorted(p.stem for p in (DATA / "ops").glob("*.tflite"))
# Operators whose kernels are integer arithmetic: bit-exact with TFLite-Micro.
EXACT = {"avgpool_same_s2", "avgpool_global", "avgpool_relu6", "maxpool_valid",
         "maxpool_same_s2", "pad_spatial"}
# Float-requantizing kernels round once in float where TFLite-Micro uses a fixed-point
# multiplier: at most 1 LSB apart, on a small share of the elements. MEAN rescales a sum of
# up to 30 values, so ties near .5 are frequent there (about one element in five differs).
MAX_DIFF = 1
MAX_MISMATCH_SHARE = 0.05
MISMATCH_SHARE = {"mean_keep_dims": 0.3, "mean_no_keep_dims": 0.3}


def _load(case: str) -> tuple[Path, dict[str, np.ndarray]]:
    model = DATA / "ops" / f"{case}.tflite"
    with np.load(DATA / "ops" / f"{case}.npz") as z:
        return model, {k: z[k] for k in z.files}


def build_and_run(case: str, tmp_path: Path, *options: str):
    from mcuorch_tvm.cli import main

    model, arrays = _load(case)
    tmp_path.mkdir(parents=True, exist_ok=True)
    out = tmp_path / "build"
    meta = write_meta(model, tmp_path / "model.json", case)
    assert main(["--model", str(model), "--meta", str(meta), "--out", str(out), *options]) == 0
    exe = tmp_path / "app"
    compile_host(out / "codegen", exe)
    inputs = vectors(arrays, "in")
    tflm = vectors(arrays, "tflm")
    shapes = [(y.shape, str(y.dtype)) for y in tflm[0]]
    got = [run_host(exe, x, shapes, tmp_path) for x in inputs]
    return out, got, tflm, vectors(arrays, "litert")


def test_fixtures_present():
    assert len(CASES) >= 20, "run make_fixtures.py to create data/ops"


@pytest.mark.parametrize("case", CASES)
def test_matches_tflite_micro(case: str, tmp_path: Path):
    out, got, tflm, litert = build_and_run(case, tmp_path)
    diff = Diff.of([y for v in got for y in v], [y for v in tflm for y in v])
    if case in EXACT:
        assert diff.mismatches == 0, diff
    else:
        assert diff.max_diff <= MAX_DIFF, diff
        share = MISMATCH_SHARE.get(case, MAX_MISMATCH_SHARE)
        assert diff.mismatches <= share * diff.elements, diff
    # A wrong kernel would disagree with LiteRT too; keep that bound as tight as TFLM's.
    lr = Diff.of([y for v in got for y in v], [y for v in litert for y in v])
    assert lr.max_diff <= MAX_DIFF, lr
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["Kernel Count"] >= 1
    assert metrics["Arena Size"] >= metrics["Arena Lower Bound"] > 0


def test_average_pool_rounds_like_tflite(tmp_path: Path):
    """The stock TVM converter truncates; the override must round half away from zero."""
    _, got, tflm, _ = build_and_run("avgpool_same_s2", tmp_path)
    for g, w in zip(got, tflm):
        np.testing.assert_array_equal(g[0], w[0])


def test_unroll_variant_gives_same_outputs(tmp_path: Path):
    _, plain, _, _ = build_and_run("small_classifier", tmp_path / "plain", "--kernels", "float")
    out, unrolled, _, _ = build_and_run("small_classifier", tmp_path / "unrolled", "--kernels", "float",
                                        "--unroll-reduction", "9")
    for a, b in zip(plain, unrolled):
        for x, y in zip(a, b):
            np.testing.assert_array_equal(x, y)
    code = (out / "codegen" / "mcuorch_kernels.c").read_text()
    assert "for (int32_t ry" not in code  # 3x3 window loops are gone when unrolled


def test_unfused_variant_gives_same_outputs_and_more_kernels(tmp_path: Path):
    fused_out, fused, _, _ = build_and_run("residual_block", tmp_path / "fused", "--kernels", "float")
    split_out, split, _, _ = build_and_run("residual_block", tmp_path / "split",
                                           "--kernels", "float", "--no-fuse-epilogues")
    for a, b in zip(fused, split):
        for x, y in zip(a, b):
            np.testing.assert_array_equal(x, y)
    fused_k = json.loads((fused_out / "metrics.json").read_text())["Kernel Count"]
    split_k = json.loads((split_out / "metrics.json").read_text())["Kernel Count"]
    assert split_k == fused_k + 1  # the residual ADD becomes its own kernel


def test_opt_level_changes_code_not_results(tmp_path: Path):
    out0, low, _, _ = build_and_run("small_classifier", tmp_path / "o0", "--opt-level", "0")
    out3, high, _, _ = build_and_run("small_classifier", tmp_path / "o3", "--opt-level", "3")
    for a, b in zip(low, high):
        for x, y in zip(a, b):
            np.testing.assert_array_equal(x, y)
    code0 = (out0 / "codegen" / "mcuorch_kernels.c").read_text()
    code3 = (out3 / "codegen" / "mcuorch_kernels.c").read_text()
    assert code0 != code3
    assert "cse_v" in code3 and "cse_v" not in code0  # common subexpressions from level 2
