"""Requantization and fixed-point arithmetic: the Python reference against TFLite's formulas,
and the generated C (compiled with host gcc) against the Python reference on edge cases."""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
import pytest
from int_support import DATA

from mcuorch_tvm.integer import fixedpoint as fp

INT32_MIN, INT32_MAX = -(2**31), 2**31 - 1
EDGE_ACC = [INT32_MIN, INT32_MIN + 1, -(2**30) - 1, -(2**30), -(2**30) + 1, -65536, -255, -3, -2, -1, 0, 1, 2,
            3, 255, 65535, 2**30 - 1, 2**30, 2**30 + 1, INT32_MAX - 1, INT32_MAX]


def srdhm_by_definition(a: int, b: int) -> int:
    """gemmlowp's C++ text, literally: nudge by sign, C division truncating toward zero."""
    if a == b == INT32_MIN:
        return INT32_MAX
    ab = a * b
    nudge = (1 << 30) if ab >= 0 else 1 - (1 << 30)
    num = ab + nudge
    quotient = abs(num) // (1 << 31)  # C division truncates toward zero
    return quotient if num >= 0 else -quotient


def rdbpot_by_rounding(x: int, e: int) -> int:
    """x / 2^e to nearest, ties away from zero (exact rationals)."""
    if e == 0:
        return x
    q, r = divmod(abs(x), 1 << e)
    if 2 * r >= (1 << e):
        q += 1
    return q if x >= 0 else -q


def test_srdhm_floor_form_equals_gemmlowp() -> None:
    """The kernels compute floor((a*b + 2^30) / 2^31); gemmlowp truncates after a signed nudge."""
    rng = np.random.default_rng(0)
    values = EDGE_ACC + [int(v) for v in rng.integers(INT32_MIN, INT32_MAX, 200, dtype=np.int64)]
    mults = [1, 2**30, 2**30 + 1, INT32_MAX, 1518500250] + [int(v) for v in rng.integers(2**30, 2**31, 20)]
    for a in values:
        for b in mults:
            assert fp.srdhm(a, b) == srdhm_by_definition(a, b) == (a * b + (1 << 30)) >> 31, (a, b)


def test_srdhm_saturates_only_min_times_min() -> None:
    assert fp.srdhm(INT32_MIN, INT32_MIN) == INT32_MAX
    assert fp.srdhm(INT32_MIN, INT32_MAX) == -INT32_MAX
    assert fp.srdhm(-(2**30), 1) == 0  # -0.5 LSB rounds toward +inf (not away from zero)
    assert fp.srdhm(2**30, 1) == 1


@pytest.mark.parametrize("exponent", [0, 1, 2, 5, 16, 30, 31])
def test_rdbpot_rounds_half_away_from_zero(exponent: int) -> None:
    rng = np.random.default_rng(exponent)
    values = EDGE_ACC + [int(v) for v in rng.integers(INT32_MIN, INT32_MAX, 300, dtype=np.int64)]
    if exponent:
        half = 1 << (exponent - 1)
        values += [half, -half, 3 * half, -3 * half, half - 1, -half + 1]
    for x in values:
        assert fp.rdbpot(x, exponent) == rdbpot_by_rounding(x, exponent), (x, exponent)


def test_quantize_multiplier() -> None:
    assert fp.quantize_multiplier(0.0) == (0, 0)
    assert fp.quantize_multiplier(1.0) == (2**30, 1)
    assert fp.quantize_multiplier(0.5) == (2**30, 0)
    # mantissa rounds up to 2^31: renormalised to 2^30 with the exponent bumped
    assert fp.quantize_multiplier(1.0 - 2.0**-40) == (2**30, 1)
    assert fp.quantize_multiplier(2.0**-40) == (0, 0)  # shift below -31 flushes to zero
    rng = np.random.default_rng(1)
    for real in rng.uniform(1e-6, 50.0, 200):
        q, s = fp.quantize_multiplier(float(real))
        assert 2**30 <= q < 2**31
        assert abs(q * 2.0 ** (s - 31) - real) <= real * 2.0**-30


def test_multiply_by_quantized_multiplier_matches_rational_double_rounding() -> None:
    rng = np.random.default_rng(2)
    for _ in range(2000):
        x = int(rng.integers(-(2**24), 2**24))
        q = int(rng.integers(2**30, 2**31))
        s = int(rng.integers(-31, 1))
        first = srdhm_by_definition(x, q)
        assert fp.multiply_by_quantized_multiplier(x, q, s) == rdbpot_by_rounding(first, -s)
    # left shifts wrap in 32 bits like TFLite's int32 multiply
    assert fp.multiply_by_quantized_multiplier(2**30, 2**30, 2) == fp.srdhm(fp.wrap_int32(2**32), 2**30)


# --------------------------------------------------------------------------- generated C


def _requant_kernel(stage, n: int):
    """A PrimFunc ``out[i] = requantize(acc[i], mult[i], shift[i])`` with an int32 output."""
    from mcuorch_tvm.integer import tir as K

    params = [("acc", (n,), K.I32), ("mult", (n,), K.I32), ("shift", (n,), K.I8), ("out", (n,), K.I32)]
    with K.prim_func("requant", params) as (ib, bufs):
        acc, mult, shift, out = bufs
        with K.serial(0, n) as i:
            rnd = None
            if stage.short_rounding:
                rnd = K.bind(K.c32(1) << (K.c32(-1) - K.i32(shift[i])))
            K.store(out, K.requantize(acc[i], stage, mult[i], shift[i], rnd), [i])
    return K.finish(ib)


def _run_c(func, arrays: list[np.ndarray], n: int, tmp_path: Path) -> np.ndarray:
    import tvm

    from mcuorch_tvm.kernels import build_kernels

    source = build_kernels(tvm.IRModule({"requant": func}), {"requant": "k_requant"}, 3).code
    main = ["#include <stdint.h>", "#include <stdio.h>", source, "int main(void) {"]
    names = ["acc", "mult", "shift"]
    for name, arr, ctype in zip(names, arrays, ["int32_t", "int32_t", "int8_t"]):
        values = ", ".join(f"({int(v)})" if int(v) != INT32_MIN else "(-2147483647 - 1)" for v in arr)
        main.append(f"  static {ctype} {name}[{n}] = {{{values}}};")
    main += [f"  static int32_t out[{n}];", "  k_requant(acc, mult, shift, out);",
             f'  for (int i = 0; i < {n}; ++i) printf("%ld\\n", (long)out[i]);', "  return 0;", "}"]
    c_file = tmp_path / "requant.c"
    c_file.write_text("\n".join(main))
    exe = tmp_path / "requant"
    subprocess.run(["gcc", "-std=c99", "-O2", "-o", str(exe), str(c_file)], check=True)
    text = subprocess.run([str(exe)], check=True, capture_output=True, text=True).stdout
    return np.asarray([int(v) for v in text.split()], dtype=np.int64)


def _cases(rng, acc_values, shifts):
    acc, mult, shift = [], [], []
    mults = [2**30, 2**30 + 1, INT32_MAX, 1518500250] + [int(v) for v in rng.integers(2**30, 2**31, 4)]
    for a in acc_values:
        for m in mults:
            for s in shifts:
                acc.append(a)
                mult.append(m)
                shift.append(s)
    return [np.asarray(acc, np.int64), np.asarray(mult, np.int64), np.asarray(shift, np.int64)]


@pytest.mark.parametrize("variant", ["general", "right_only", "short_rounding"])
def test_generated_requantization_matches_reference(variant: str, tmp_path: Path) -> None:
    """Full int32 range, multipliers up to 2^31-1, right shifts 0..31 and left shifts."""
    from mcuorch_tvm.integer.tir import RequantStage

    rng = np.random.default_rng(3)
    if variant == "general":
        shifts = [-31, -30, -17, -8, -1, 0, 1, 3, 7]
        accs = EDGE_ACC + [int(v) for v in rng.integers(INT32_MIN, INT32_MAX, 12, dtype=np.int64)]
        bound = None
    elif variant == "right_only":
        shifts = [-31, -24, -13, -5, -2, -1, 0]
        accs = EDGE_ACC + [int(v) for v in rng.integers(INT32_MIN, INT32_MAX, 12, dtype=np.int64)]
        bound = None
    else:
        shifts = [-31, -20, -9, -3, -2, -1]
        accs = [a for a in EDGE_ACC if abs(a) < 2**30] + [int(v) for v in rng.integers(-(2**30) + 1, 2**30, 12)]
        bound = 2**30 - 1
    arrays = _cases(rng, accs, shifts)
    stage = RequantStage(tuple(int(m) for m in arrays[1]), tuple(int(s) for s in arrays[2]), 0, INT32_MIN,
                         INT32_MAX, bound)
    assert stage.short_rounding == (variant == "short_rounding")
    got = _run_c(_requant_kernel(stage, len(arrays[0])), arrays, len(arrays[0]), tmp_path)
    want = [fp.multiply_by_quantized_multiplier(int(a), int(m), int(s)) for a, m, s in zip(*arrays)]
    bad = [(int(a), int(m), int(s), int(g), w) for a, m, s, g, w in zip(*arrays, got, want) if g != w]
    assert not bad, f"{len(bad)} of {len(want)} differ, e.g. {bad[:5]}"


# --------------------------------------------------------------------------- softmax reference


@pytest.mark.parametrize("case", sorted(p.stem for p in DATA.glob("softmax_*.tflite")))
def test_python_softmax_reference_matches_tflite_micro(case: str) -> None:
    """fixedpoint.softmax_int8 (the algorithm the kernel implements) on the recorded vectors."""
    from mcuorch_tvm.integer.model import read_model
    from mcuorch_tvm.integer.quant import SoftmaxParams

    desc = read_model((DATA / f"{case}.tflite").read_bytes())
    op = desc.ops[0]
    params = SoftmaxParams(desc.tensor(op.inputs[0]).quant, desc.tensor(op.outputs[0]).quant, op.options["beta"])
    with np.load(DATA / f"{case}.npz") as z:
        v = 0
        while f"in_{v}_0" in z.files:
            x, want = z[f"in_{v}_0"], z[f"tflm_{v}_0"]
            rows = x.reshape(-1, x.shape[-1])
            got = np.stack([fp.softmax_int8(r, params.input_multiplier, params.input_left_shift, params.diff_min)
                            for r in rows])
            np.testing.assert_array_equal(got.reshape(want.shape), want)
            v += 1
