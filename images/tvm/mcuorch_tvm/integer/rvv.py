"""C of the RISC-V vector (RVV 1.0) helpers, for clang's ``riscv_vector.h`` (clang 16 names).

Every helper is guarded by ``#if defined(__riscv_vector)`` with the portable code as its
``#else`` (:mod:`.simd` assembles them). Vector lengths are never assumed: each loop asks
``vsetvl`` how many lanes the core gives, so the same code is exact at any VLEN.

Rounding: ``vsmul`` and ``vssra`` round as the ``vxrm`` CSR says; the harness sets it to
round-to-nearest-up (0) before main (sw/harness/platform_baremetal.c), which makes ``vsmul``
TFLite's SaturatingRoundingDoublingHighMul.
"""

from __future__ import annotations


def acc_name(p: int, r: int) -> str:
    """The C name of the accumulator of pixel ``p``, channel ``r`` in every dot helper."""
    return f"a{p}_{r}"


PRELUDE = """/* One copy of each RVV dot-product helper per file, called by every kernel (and by each
   kernel's interior, border and tail paths): inlined into each, they doubled resnet's kernel ROM
   for a few percent of instructions. The per-pixel helpers stay inline: their loop bounds are
   the call's constants. */
#if defined(__GNUC__)
#define MCUORCH_RVV_SHARED __attribute__((noinline))
#else
#define MCUORCH_RVV_SHARED
#endif
"""


def dot_body(P: int, B: int, rows: bool) -> list[str]:
    """Body of ``mcuorch_rvv_dot[r]_PxB`` (:mod:`.simd` has the contract): per strip of up to
    ``vsetvl_e8m4`` bytes one ``vle8`` per pixel and channel, ``vwmul`` (int8 x int8 -> int16,
    exact) and ``vwredsum`` (int16 lanes into an int32 element) per accumulator; the sums stay
    in element 0 of a vector register over all rows and strips (no scalar remainder)."""
    accs = [(p, r) for p in range(P) for r in range(B)]
    lines = [f"  vint32m1_t {acc_name(p, r)} = __riscv_vmv_s_x_i32m1(acc[{p * B + r}], 1);" for p, r in accs]
    indent = "  "
    # clang would unroll the (short, constant) row and strip loops into every kernel: twice the
    # kernel ROM for a few percent of instructions
    if rows:
        lines += ["#pragma clang loop unroll(disable)", "  for (int32_t k = 0; k < rows; ++k, x += xr, w += wr) {"]
        indent = "    "
    lines += ["#pragma clang loop unroll(disable)", f"{indent}for (int32_t i = 0; i < n;) {{",
              f"{indent}  size_t vl = __riscv_vsetvl_e8m4((size_t)(n - i));"]
    lines += [f"{indent}  vint8m4_t x{p} = __riscv_vle8_v_i8m4(x + {p} * xs + i, vl);" for p in range(P)]
    for r in range(B):
        lines.append(f"{indent}  vint8m4_t w{r} = __riscv_vle8_v_i8m4(w + {r} * ws + i, vl);")
        lines += [f"{indent}  {acc_name(p, r)} = __riscv_vwredsum_vs_i16m8_i32m1("
                  f"__riscv_vwmul_vv_i16m8(x{p}, w{r}, vl), {acc_name(p, r)}, vl);" for p in range(P)]
    lines += [f"{indent}  i += (int32_t)vl;", f"{indent}}}"]
    if rows:
        lines.append("  }")
    lines += [f"  acc[{p * B + r}] = __riscv_vmv_x_s_i32m1_i32({acc_name(p, r)});" for p, r in accs]
    return lines


REQUANT_C = r"""#if defined(__riscv_vector)
/* requantize() on vl lanes: the left shift wraps as in the scalar code, vsmul (vxrm = 0) is
   SaturatingRoundingDoublingHighMul, and RoundingDivideByPOT is vssra by e = -min(s, 0) (round
   half up) after subtracting 1 from negative values when e > 0 (the sign bit of x & min(s, 0)),
   which turns it into round half away from zero; saturating, as INT32_MIN - 1 must not wrap. */
static inline vint32m8_t mcuorch_rvv_requant(vint32m8_t acc, vint32m8_t m, vint32m8_t s, int32_t zp,
    int32_t lo, int32_t hi, size_t vl) {
  vint32m8_t right = __riscv_vmin_vx_i32m8(s, 0, vl);
  vuint32m8_t left = __riscv_vreinterpret_v_i32m8_u32m8(__riscv_vmax_vx_i32m8(s, 0, vl));
  vint32m8_t x = __riscv_vsmul_vv_i32m8(__riscv_vsll_vv_i32m8(acc, left, vl), m, vl);
  x = __riscv_vsadd_vv_i32m8(x, __riscv_vsra_vx_i32m8(__riscv_vand_vv_i32m8(x, right, vl), 31, vl), vl);
  x = __riscv_vssra_vv_i32m8(x, __riscv_vreinterpret_v_i32m8_u32m8(__riscv_vneg_v_i32m8(right, vl)), vl);
  x = __riscv_vadd_vx_i32m8(x, zp, vl);
  return __riscv_vmax_vx_i32m8(__riscv_vmin_vx_i32m8(x, hi, vl), lo, vl);
}

/* y[i] = requantize(acc lane i), i < vl: per-channel mult/shift from the arrays when pc, else
   m0/s0; narrowed to int8 and stored */
static inline void mcuorch_rvv_requant_lanes(int8_t* y, vint32m8_t acc, const int32_t* mult,
    const int8_t* shift, int32_t pc, int32_t m0, int32_t s0, int32_t zp, int32_t lo, int32_t hi, size_t vl) {
  vint32m8_t m = pc ? __riscv_vle32_v_i32m8(mult, vl) : __riscv_vmv_v_x_i32m8(m0, vl);
  vint32m8_t s = pc ? __riscv_vsext_vf4_i32m8(__riscv_vle8_v_i8m2(shift, vl), vl) : __riscv_vmv_v_x_i32m8(s0, vl);
  vint32m8_t q = mcuorch_rvv_requant(acc, m, s, zp, lo, hi, vl);
  __riscv_vse8_v_i8m2(y, __riscv_vncvt_x_x_w_i8m2(__riscv_vncvt_x_x_w_i16m4(q, vl), vl), vl);
}
#endif
"""

HELPERS = {
    "mcuorch_rvv_requant_store": r"""/* y[i] = requantize(acc[i]) for i < n consecutive channels (per-channel mult/shift arrays
   when pc, else m0/s0 for all), as many per pass as the vector length holds */
static inline void mcuorch_rvv_requant_store(int8_t* y, const int32_t* acc, const int32_t* mult,
    const int8_t* shift, int32_t pc, int32_t m0, int32_t s0, int32_t n, int32_t zp, int32_t lo, int32_t hi) {
#if defined(__riscv_vector)
  for (size_t i = 0, vl; i < (size_t)n; i += vl) {
    vl = __riscv_vsetvl_e32m8((size_t)n - i);
    mcuorch_rvv_requant_lanes(y + i, __riscv_vle32_v_i32m8(acc + i, vl), mult + (pc ? i : 0),
                              shift + (pc ? i : 0), pc, m0, s0, zp, lo, hi, vl);
  }
#else
  for (int32_t i = 0; i < n; ++i)
    y[i] = (int8_t)mcuorch_requantize(acc[i], pc ? mult[i] : m0, pc ? shift[i] : s0, zp, lo, hi);
#endif
}
""",
    "mcuorch_rvv_dwconv": r"""/* One output pixel of DEPTHWISE_CONV_2D (depth multiplier 1, k_h*k_w <= 25), all C channels,
   as many per pass as the vector length holds: window origin (ih0, iw0) in the image x (NHWC,
   one batch), weights [tap][C] (TFLite's own layout). Per tap: the channels' bytes of input and
   weights widened to int16 and vwmacc'd into the int32 sums, every step at SEW 16 (the byte loads
   too), so no vsetvl between them; then the bias-started sums are requantized. */
static inline void mcuorch_rvv_dwconv(int8_t* y, const int8_t* x, int32_t ih0, int32_t iw0,
    const int8_t* w, const int32_t* bias, const int32_t* mult, const int8_t* shift, int32_t pc,
    int32_t m0, int32_t s0, int32_t C, int32_t in_h, int32_t in_w, int32_t k_h, int32_t k_w,
    int32_t dh, int32_t dw, const int8_t* zrow, int32_t zp, int32_t lo, int32_t hi) {
  const int8_t* tp[k_h * k_w];  /* C99 VLA: a constant once inlined */
  int32_t taps = mcuorch_window_taps(tp, x, ih0, iw0, C, in_h, in_w, k_h, k_w, dh, dw, zrow);
#if defined(__riscv_vector)
  for (size_t c = 0, vl; c < (size_t)C; c += vl) {
    vl = __riscv_vsetvl_e32m8((size_t)C - c);
    vint32m8_t a = __riscv_vle32_v_i32m8(bias + c, vl);
#pragma clang loop unroll_count(3)
    for (int32_t t = 0; t < taps; ++t) {
      vint16m4_t xv = __riscv_vsext_vf2_i16m4(__riscv_vle8_v_i8m2(tp[t] + c, vl), vl);
      vint16m4_t wv = __riscv_vsext_vf2_i16m4(__riscv_vle8_v_i8m2(w + t * C + c, vl), vl);
      a = __riscv_vwmacc_vv_i32m8(a, xv, wv, vl);
    }
    mcuorch_rvv_requant_lanes(y + c, a, mult + (pc ? c : 0), shift + (pc ? c : 0), pc, m0, s0, zp, lo, hi, vl);
  }
#else
  for (int32_t c = 0; c < C; ++c) {
    int32_t acc = bias[c];
    for (int32_t t = 0; t < taps; ++t)
      acc += tp[t][c] * w[t * C + c];
    y[c] = (int8_t)mcuorch_requantize(acc, pc ? mult[c] : m0, pc ? shift[c] : s0, zp, lo, hi);
  }
#endif
}
""",
    "mcuorch_rvv_chconv": r"""/* One output pixel of CONV_2D with a short reduction row (few input channels, k_h*k_w <= 64),
   all OC channels, as many per pass as the vector length holds: the channels' weights widened
   to int16 times each input byte (vwmacc by scalar) into the int32 sums; weights [tap][OC]
   (tap = (kh*k_w + kw)*IC + ci); a padded position reads zrow (IC bytes of the input zero point). */
static inline void mcuorch_rvv_chconv(int8_t* y, const int8_t* x, int32_t ih0, int32_t iw0,
    const int8_t* w, const int32_t* bias, const int32_t* mult, const int8_t* shift, int32_t pc,
    int32_t m0, int32_t s0, int32_t OC, int32_t IC, int32_t in_h, int32_t in_w, int32_t k_h,
    int32_t k_w, int32_t dh, int32_t dw, const int8_t* zrow, int32_t zp, int32_t lo, int32_t hi) {
  const int8_t* tp[k_h * k_w];
  int32_t positions = mcuorch_window_taps(tp, x, ih0, iw0, IC, in_h, in_w, k_h, k_w, dh, dw, zrow);
#if defined(__riscv_vector)
  for (size_t c = 0, vl; c < (size_t)OC; c += vl) {
    vl = __riscv_vsetvl_e32m8((size_t)OC - c);
    vint32m8_t a = __riscv_vle32_v_i32m8(bias + c, vl);
    const int8_t* wc = w + c;
    for (int32_t t = 0; t < positions; ++t) {
      const int8_t* xt = tp[t];
#pragma clang loop unroll_count(4)
      for (int32_t ci = 0; ci < IC; ++ci, wc += OC)
        a = __riscv_vwmacc_vx_i32m8(a, xt[ci], __riscv_vsext_vf2_i16m4(__riscv_vle8_v_i8m2(wc, vl), vl), vl);
    }
    mcuorch_rvv_requant_lanes(y + c, a, mult + (pc ? c : 0), shift + (pc ? c : 0), pc, m0, s0, zp, lo, hi, vl);
  }
#else
  int32_t taps = positions * IC;
  for (int32_t c = 0; c < OC; ++c) {
    int32_t acc = bias[c];
    for (int32_t t = 0; t < taps; ++t)
      acc += tp[t / IC][t % IC] * w[t * OC + c];
    y[c] = (int8_t)mcuorch_requantize(acc, pc ? mult[c] : m0, pc ? shift[c] : s0, zp, lo, hi);
  }
#endif
}
""",
}
