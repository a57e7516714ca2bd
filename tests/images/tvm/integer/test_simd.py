"""SIMD schedules (``--isa``): the generated C names the ISA's intrinsics behind the compiler's
feature macro, keeps a scalar fallback, and every variant is bit-exact.

On the host the helpers compile to their scalar fallbacks: these tests check the layouts and
loop structure each ISA's schedule generates (and the fallbacks themselves) against TFLite-Micro;
the intrinsic paths are checked on QEMU (Cortex-M55 MVE, Cortex-M4 DSP, RISC-V rv32gcv) by the
orchestrator runs (tests/e2e/test_rvv.py) and ``measure.py``, and compiled here when
``arm-none-eabi-gcc`` is installed.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import numpy as np
import pytest
from int_support import DATA, MODELS, OPS_DATA, build_int, check_case, compile_host, fixture_arrays, mismatches, \
    run_host, write_codegen

from mcuorch_tvm.errors import UserError
from mcuorch_tvm.integer import fixedpoint as fp
from mcuorch_tvm.integer import simd
from mcuorch_tvm.integer.isa import parse_isa
from mcuorch_tvm.integer.kernels.conv import channel_vectors, even_odd_order

ISAS = ["cortex-m55+mve", "cortex-m4+dsp", "rv32gcv"]
# every CONV_2D / DEPTHWISE / FULLY_CONNECTED case: blocking tails, padding, strides, dilation,
# depth multipliers, the keyword-spotting first layer, per-tensor and per-channel requantization, ADD
CASES = sorted({p for d in (DATA, OPS_DATA) for pattern in ("conv*", "dw*", "fc*", "pad_then_conv", "reshape_fc",
                                                            "*residual*", "small_classifier", "add_*")
                for p in d.glob(pattern + ".tflite")})


def test_isa_names() -> None:
    m55 = parse_isa("cortex-m55+mve")
    assert (m55.mve, m55.dsp, m55.simd) == (True, True, "mve")
    assert parse_isa("cortex-m4+dsp").simd == "dsp"
    for vector in ("rv32gcv", "rv32imacv_zicsr", "rv64gcv"):
        assert parse_isa(vector).simd == "rvv", vector
    for plain in ("rv32gc", "generic", "cortex-m3", "rv32imc+zicsr", "rv32gc_zve32x", "cortex-m55+dsp"):
        assert parse_isa(plain).simd in (None, "dsp"), plain
        assert not parse_isa(plain).rvv
    with pytest.raises(UserError, match="not an ISA name"):
        parse_isa("cortex m55")


@pytest.mark.parametrize("isa", ISAS)
@pytest.mark.parametrize("model", CASES, ids=[p.stem for p in CASES])
def test_bit_exact_per_kernel(isa: str, model: Path, tmp_path: Path) -> None:
    diff, total, worst = check_case(model, fixture_arrays(model), tmp_path, isa)
    assert total > 0
    assert (diff, worst) == (0, 0), f"{isa}: {diff}/{total} elements differ, max {worst}"


def _aww_source(isa: str, tmp_path: Path) -> tuple[str, Path]:
    result = build_int((MODELS / "aww" / "model.tflite").read_bytes(), "aww", isa)
    codegen = write_codegen(result, tmp_path / isa)
    return (codegen / "mcuorch_kernels.c").read_text(), codegen


def test_generated_c_per_isa(tmp_path: Path) -> None:
    mve, _ = _aww_source("cortex-m55+mve", tmp_path)
    for token in ("#if defined(__ARM_FEATURE_MVE)\n#include <arm_mve.h>\n#endif", "vmladavaq_s8", "vqrdmulhq_s32",
                  "vrshlq_s32", "vctp8q", "mcuorch_mve_pwconv(", "mcuorch_mve_dwconv(", "mcuorch_mve_colconv48("):
        assert token in mve, token
    assert "__smlad" not in mve
    dsp, _ = _aww_source("cortex-m4+dsp", tmp_path)
    for token in ("#if defined(__ARM_FEATURE_DSP)\n#include <arm_acle.h>", "__smlad", "__sxtb16",
                  "sxtb16 %0, %1, ror #8", "mcuorch_dsp_dot_1x4(", "smmulr", "mcuorch_dsp_requantize(",
                  "mcuorch_dsp_dot4p("):
        assert token in dsp, token
    assert "arm_mve.h" not in dsp
    rvv, _ = _aww_source("rv32gcv", tmp_path)
    for token in ("#if defined(__riscv_vector)\n#include <riscv_vector.h>\n#endif", "__riscv_vwmacc_vx_i32m8",
                  "__riscv_vsmul_vv_i32m8", "__riscv_vssra_vv_i32m8", "mcuorch_rvv_chconv(", "mcuorch_rvv_dwconv("):
        assert token in rvv, token
    assert not re.search(r"arm_mve|arm_acle|__smlad", rvv)
    generic, _ = _aww_source("generic", tmp_path)
    assert not re.search(r"mcuorch_(mve|dsp|rvv)_|arm_mve|arm_acle|__ARM_FEATURE|riscv_vector", generic)
    # every helper has its portable body: the intrinsics only inside the feature test
    for source, macro in ((mve, "__ARM_FEATURE_MVE"), (dsp, "__ARM_FEATURE_DSP"), (rvv, "__riscv_vector")):
        outside = re.sub(rf"#if defined\({macro}\)\n.*?#(else|endif)\n", "", source, flags=re.S)
        assert not re.search(r"\bv[a-z]+q_[a-z_]*s(8|16|32)\(|__smlad|__sxtb16|__riscv_v|vint(8|16|32)m", outside)
        # no extern declaration of a helper is left (they are static inline)
        assert not re.search(r"^void mcuorch_(mve|dsp|rvv)_\w+\(", source, re.M)


@pytest.mark.parametrize("isa", ISAS)
def test_whole_model_bit_exact(isa: str, tmp_path: Path) -> None:
    source, codegen = _aww_source(isa, tmp_path)
    exe = tmp_path / "app"
    compile_host(codegen, exe)
    golden = MODELS / "aww" / "golden"
    v = 0
    while (golden / f"input_{v}_0.bin").exists():
        x = np.fromfile(golden / f"input_{v}_0.bin", dtype=np.int8).reshape(1, 49, 10, 1)
        want = [np.fromfile(golden / f"output_{v}_0.bin", dtype=np.int8)]
        got = run_host(exe, [x], 1, tmp_path)
        assert mismatches(got, want)[0] == 0, f"vector {v}"
        v += 1
    assert v >= 1


def _wrong_results(source: str, tmp_path: Path, stem: str) -> int:
    """Compile the C check program ``source`` with host gcc (warnings as errors), run it and
    return the count of wrong results it prints."""
    src = tmp_path / f"{stem}.c"
    src.write_text("#include <stdint.h>\n" + source)
    exe = tmp_path / stem
    subprocess.run(["gcc", "-std=c99", "-O2", "-Wall", "-Werror", str(src), "-o", str(exe)], check=True)
    return int(subprocess.run([str(exe)], check=True, capture_output=True, text=True).stdout)


def _table_program(helpers: str, fields: str, table: str, wrong: str) -> str:
    """A check program after the C ``helpers``: rows ``table`` of ``struct { fields }``, and the
    count of rows ``t[i]`` for which the C expression ``wrong`` is true printed."""
    return (helpers + "#include <stdio.h>\n"
            f"static const struct {{ {fields} }} t[] = {{\n" + table + "\n};\n"
            "int main(void) {\n  int bad = 0;\n"
            "  for (unsigned i = 0; i < sizeof t / sizeof t[0]; ++i)\n"
            f"    bad += {wrong};\n"
            '  printf("%d\\n", bad);\n  return 0;\n}\n')


def _dot_check_source(name: str, accumulators: int, cases: list[tuple[str, np.ndarray, np.ndarray, np.ndarray,
                                                                       np.ndarray]]) -> str:
    """A C program calling helper ``name`` once per case (``args`` with x, w, acc as arrays)
    and printing how many accumulators differ from ``want``."""
    def arr(values: np.ndarray) -> str:
        return ", ".join(str(int(e)) for e in values)

    body = ["int main(void) {", "  int bad = 0;"]
    for args, x, w, acc, want in cases:
        body += [f"  {{ static const int8_t x[] = {{{arr(x)}}}; static const int8_t w[] = {{{arr(w)}}};",
                 f"    int32_t acc[] = {{{arr(acc)}}}; static const int32_t want[] = {{{arr(want)}}};",
                 f"    {name}({args});",
                 f"    for (int i = 0; i < {accumulators}; ++i) bad += acc[i] != want[i]; }}"]
    body += ['  printf("%d\\n", bad);', "  return 0;", "}"]
    return simd.helper_source(name) + "#include <stdio.h>\n" + "\n".join(body) + "\n"


@pytest.mark.parametrize("flavour", ["mve", "dsp", "rvv"])
@pytest.mark.parametrize("shape", [(1, 4), (1, 3), (2, 2), (1, 6)])
def test_dot_helpers_against_numpy(flavour: str, shape: tuple[int, int], tmp_path: Path) -> None:
    """Every length (SIMD steps plus remainders), strides apart from the run length."""
    p_count, b_count = shape
    name = simd.helper_name(flavour, p_count, b_count)
    rng = np.random.default_rng(p_count * 10 + b_count)
    cases = []
    for n in (0, 1, 3, 4, 5, 15, 16, 17, 33, 64, 71):
        xs, ws = n + 3, n + 5
        x = rng.integers(-128, 128, size=p_count * xs + 1, dtype=np.int8)
        w = rng.integers(-128, 128, size=b_count * ws + 1, dtype=np.int8)
        acc = rng.integers(-1000, 1000, size=p_count * b_count, dtype=np.int32)
        want = acc.astype(np.int64).copy()
        for p in range(p_count):
            for r in range(b_count):
                want[p * b_count + r] += int(np.dot(x[p * xs:p * xs + n].astype(np.int64),
                                                    w[r * ws:r * ws + n].astype(np.int64)))
        cases.append((f"acc, x, {xs}, w, {ws}, {n}", x, w, acc, want))
    assert _wrong_results(_dot_check_source(name, p_count * b_count, cases), tmp_path, "dot") == 0


@pytest.mark.parametrize("flavour", ["mve", "dsp", "rvv"])
def test_dot_rows_helper_against_numpy(flavour: str, tmp_path: Path) -> None:
    """The row variant (a convolution's kernel rows in one call) equals the sum of its rows' dots."""
    blocks = 4
    name = simd.helper_name(flavour, 1, blocks, rows=True)
    rng = np.random.default_rng(7)
    cases = []
    for rows, n in ((1, 48), (3, 48), (3, 17), (5, 80), (2, 0)):
        xs, xr, ws = n + 2, 3 * n + 7, n + 1
        wr = blocks * ws + 3
        x = rng.integers(-128, 128, size=rows * xr + xs + 1, dtype=np.int8)
        w = rng.integers(-128, 128, size=rows * wr + 1, dtype=np.int8)
        acc = rng.integers(-1000, 1000, size=blocks, dtype=np.int32)
        want = acc.astype(np.int64).copy()
        for k in range(rows):
            for r in range(blocks):
                want[r] += int(np.dot(x[k * xr:k * xr + n].astype(np.int64), w[k * wr + r * ws:k * wr + r * ws + n]))
        cases.append((f"acc, x, {xs}, {xr}, w, {ws}, {wr}, {n}, {rows}", x, w, acc, want))
    assert _wrong_results(_dot_check_source(name, blocks, cases), tmp_path, "dotr") == 0


def test_c_requantize_matches_tflite(tmp_path: Path) -> None:
    """The C requantization of the channel-vector fallbacks against fixedpoint.py (TFLite)."""
    rng = np.random.default_rng(7)
    rows = []
    for _ in range(400):
        acc = int(rng.integers(-(2**31), 2**31))
        m = int(rng.integers(2**30, 2**31))
        s = int(rng.integers(-31, 8))
        lo, hi = -128, 127
        ref = fp.multiply_by_quantized_multiplier(acc, m, s)
        rows.append((acc, m, s, max(lo, min(hi, ref + 5))))
    for acc in (-(2**31), 2**31 - 1, -1, 0, 1, -(2**20) - 2**19, 2**20 + 2**19):  # ties and extremes
        for s in (-20, -1, 0, 3):
            ref = fp.multiply_by_quantized_multiplier(acc, 1 << 30, s)
            rows.append((acc, 1 << 30, s, max(-128, min(127, ref + 5))))
    table = ",\n".join(f"  {{{a}LL, {m}, {s}, {want}}}" for a, m, s, want in rows)
    source = _table_program(simd.REQUANT_C, "long long a; int32_t m, s, want;", table,
                            "mcuorch_requantize((int32_t)t[i].a, t[i].m, t[i].s, 5, -128, 127) != t[i].want")
    assert _wrong_results(source, tmp_path, "rq") == 0


def test_channel_vector_layouts() -> None:
    w = np.arange(16 * 3, dtype=np.int8).reshape(16, 3)  # 16 channels, 3 taps
    packed = channel_vectors(w, 8)
    assert packed[:8].tolist() == w[:8, 0].tolist() and packed[8:16].tolist() == w[:8, 1].tolist()
    assert packed[24:32].tolist() == w[8:, 0].tolist()
    assert even_odd_order(16).tolist() == [0, 2, 4, 6, 1, 3, 5, 7, 8, 10, 12, 14, 9, 11, 13, 15]


def test_border_zero_point_row_is_constant_data(tmp_path: Path) -> None:
    """SIMD border pixels read padded taps from a zero-point row stored after the weights, not
    from a stack buffer filled on every call (it was the deepest frame of resnet's kernels);
    the DSP's border dot is one shared, never-inlined copy."""
    from mcuorch_tvm.integer import lower

    tflite = (DATA / "conv_3x3_blocked.tflite").read_bytes()  # 3x3 SAME on 8 channels
    model = lower.read_model(tflite)
    (generic,) = [c for c in lower.lower_program(model, lower.Schedules().for_isa("generic")).calls
                  if c.op == "CONV_2D"]
    for isa in ("cortex-m55+mve", "cortex-m4+dsp"):
        (call,) = [c for c in lower.lower_program(model, lower.Schedules().for_isa(isa)).calls if c.op == "CONV_2D"]
        weights = call.kernel.constants[0]
        row = weights.size - generic.kernel.constants[0].size
        assert row == 3 * 8, (isa, row)  # one kernel row: k_w * input channels
        assert np.all(weights[-row:] == weights[-1]), isa
        source = (write_codegen(build_int(tflite, "conv", isa), tmp_path / isa) / "mcuorch_kernels.c").read_text()
        kernel = source[source.index("void mcuorch_conv_2d_0("):]
        assert not re.search(r"int8_t _ptr\w*\[\d+\];", kernel), isa  # no byte buffer on the stack
        if isa == "cortex-m4+dsp":
            assert "static __attribute__((noinline)) void mcuorch_dsp_dotb_1x4(" in source
            assert "mcuorch_dsp_dotb_1x4(" in kernel


def test_pointwise_convolution_blocks_pixels_across_rows() -> None:
    """A 1x1 stride-1 CONV_2D sweeps its image as one row: aww's 25x5 pointwise layers get the
    4-pixel register block instead of one sized by the 5-wide rows."""
    from mcuorch_tvm.integer import lower

    model = lower.read_model((MODELS / "aww" / "model.tflite").read_bytes())
    calls = [c for c in lower.lower_program(model, lower.Schedules().for_isa("rv32gc")).calls if c.op == "CONV_2D"]
    pointwise = [c for c in calls if c.kernel.macs == 25 * 5 * 64 * 64]
    assert len(pointwise) == 4
    assert all("block=4 pixels=4" in c.kernel.note for c in pointwise), [c.kernel.note for c in pointwise]


def test_kernels_source_turns_off_gcc_prescheduling() -> None:
    """GCC only (clang ignores the pragma and RVV kernels are built with clang)."""
    from mcuorch_tvm.emitter import kernels_source

    source = kernels_source("void f(void) {}\n")
    guard = source.index("#if defined(__GNUC__) && !defined(__clang__)")
    assert source.index('#pragma GCC optimize ("no-schedule-insns")') > guard
    assert source.index("void f(void)") > source.index("#endif")


def test_small_padded_input_is_copied_into_a_plane() -> None:
    """The keyword-spotting first layer (49x10x1, 10x4 SAME): every pixel runs the unguarded
    reduction on a zero-point padded copy, for scalar and DSP schedules alike."""
    from mcuorch_tvm.integer import lower

    model = lower.read_model((DATA / "conv_kws_first.tflite").read_bytes())
    for isa in ("generic", "cortex-m4+dsp"):
        (call,) = [c for c in lower.lower_program(model, lower.Schedules().for_isa(isa)).calls if c.op == "CONV_2D"]
        assert "padded_plane=True" in call.kernel.note, (isa, call.kernel.note)


def test_dsp_requantize_identity() -> None:
    """mcuorch_dsp_requantize's SMMULR(2x, m) = (2xm + 2^31) >> 32 (and tir.srdhm_small's high
    word plus carry, the same value) equals gemmlowp's SaturatingRoundingDoublingHighMul for
    |x| < 2^30, and the short rounding shift equals RoundingDivideByPOT: the two steps of
    TFLite's requantization."""
    rng = np.random.default_rng(3)
    xs = [int(v) for v in rng.integers(-(2**30) + 1, 2**30, size=3000)] + [-(2**30) + 1, 2**30 - 1, 0, -1, 1]
    for x in xs:
        m = int(rng.integers(2**30, 2**31))
        e = int(rng.integers(1, 32))
        h = (2 * x * m + 2**31) >> 32
        assert h == fp.srdhm(x, m)
        assert (h + (1 << (e - 1)) - (h < 0)) >> e == fp.rdbpot(h, e)


def test_dsp_pair_helper_against_numpy(tmp_path: Path) -> None:
    """mcuorch_dsp_dot4p's portable body: weights packed as lo + 65536*hi, negative halves too."""
    rng = np.random.default_rng(11)
    rows = []
    for _ in range(300):
        x = rng.integers(-128, 128, size=4)
        w = rng.integers(-128, 128, size=4)
        acc = int(rng.integers(-10**6, 10**6))
        we = (int(w[0]) & 0xFFFF) + int(w[2]) * 65536
        wo = (int(w[1]) & 0xFFFF) + int(w[3]) * 65536
        rows.append((list(map(int, x)), acc, we, wo, acc + int(np.dot(x, w))))
    table = ",\n".join(f"  {{{{{x[0]}, {x[1]}, {x[2]}, {x[3]}}}, {acc}, {we}, {wo}, {want}}}"
                        for x, acc, we, wo, want in rows)
    source = _table_program(simd.helper_source("mcuorch_dsp_dot4p"), "int8_t x[4]; int32_t acc, we, wo, want;",
                            table, "mcuorch_dsp_dot4p(t[i].acc, t[i].x, t[i].we, t[i].wo) != t[i].want")
    assert _wrong_results(source, tmp_path, "pair") == 0
