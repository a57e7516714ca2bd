"""C helpers of the SIMD schedules: int8 dot products of register blocks.

Kernels generated for a SIMD ISA (:mod:`.isa`) call small ``static inline`` functions for their
reduction loops (``T.call_extern`` in TIR); the emitter appends the definition of every helper
the kernel code names (:func:`helper_source`), so the kernels stay one C file with no
dependency. A helper's name says what it computes::

    mcuorch_<flavour>_dot_<P>x<B>(acc, x, xs, w, ws, n)
        acc[p*B + r] += sum_{i<n} x[p*xs + i] * w[r*ws + i]     (p < P, r < B)

``P`` pixels (input runs ``xs`` bytes apart) times ``B`` channels (weight runs ``ws`` bytes
apart), int8 operands, int32 accumulators. The row variant walks ``rows`` such runs (a
convolution's kernel rows: input ``xr`` and weights ``wr`` bytes further each time) with the
accumulators in registers throughout::

    mcuorch_<flavour>_dotr_<P>x<B>(acc, x, xs, xr, w, ws, wr, n, rows)

``dots`` instead of ``dotr`` is the same row helper for short rows (MVE, at most 48 bytes): its
16-byte loop is unrolled completely where the kernel inlines it with a constant row length.
``dotb`` is ``dot`` for a convolution's border pixels, never inlined on the DSP: one shared copy
instead of one per call site, which kept the kernels' frames above the scalar ones.

``flavour`` picks the SIMD code, always guarded by the compiler's own feature macro, with the
portable scalar loop as the fallback:

* ``mve``: ``#if defined(__ARM_FEATURE_MVE)`` — 16 bytes per ``vldrbq_s8``, 16 MACs per
  ``vmladavaq_s8``; a remainder of fewer than 16 bytes runs once with a ``vctp8q`` predicate
  (predicated-off lanes are not loaded);
* ``dsp``: ``#if defined(__ARM_FEATURE_DSP)`` — 4 bytes per 32-bit load, split into two
  sign-extended halfword pairs (``__sxtb16(v)`` = bytes 0 and 2, ``SXTB16 v, ROR #8`` = bytes
  1 and 3, as inline assembly: GCC 12's ``arm_acle.h`` has no ``__ror``; operands are split
  alike, so the pairs match), 2 MACs per ``__smlad``;
* ``rvv``: ``#if defined(__riscv_vector)`` — RISC-V V 1.0 through clang's ``riscv_vector.h``:
  per strip of up to ``vsetvl_e8m4(n - i)`` bytes (64 at VLEN=128), one ``vle8`` per pixel and
  channel, ``vwmul`` (int8 x int8 -> int16, exact) and ``vwredsum`` (int16 lanes summed into
  an int32 element) per accumulator; the accumulators stay in vector registers over all rows.
  The last strip is simply shorter (``vl``): no scalar remainder.

Integer sums are associative in two's complement, so every flavour returns the same bits as
the scalar loop; the accumulator never exceeds int32 for int8 data of realistic depth (TFLite's
own kernels make the same assumption).

Choosing the flavour when the code is generated (not only with ``#if``) is deliberate: the
schedule (block shape, weight layout) differs per ISA, and the generated C of a Cortex-M4 build
is not cluttered with Helium code. The ``#if`` keeps any generated C compilable and exact on
every compiler (the tests run the fallbacks with the host's gcc).
"""

from __future__ import annotations

import re

from tvm import tirx
from tvm.tirx.script import builder as T

from . import rvv
from .rvv import acc_name as _acc
from . import tir as K

HELPER_RE = re.compile(r"\bmcuorch_(mve|dsp|rvv|scalar)_dot([rsb]?)_(\d+)x(\d+)\b")
FEATURE_MACRO = {"mve": "__ARM_FEATURE_MVE", "dsp": "__ARM_FEATURE_DSP", "rvv": "__riscv_vector"}
INCLUDES = {
    "mve": "#include <arm_mve.h>",
    "rvv": "#include <riscv_vector.h>",
    # GCC 12's arm_acle.h has __sxtb16 but no __ror, and would not fold a C rotate into
    # SXTB16's rotation operand: one instruction as inline assembly.
    "dsp": "#include <arm_acle.h>\n"
           "static inline int32_t mcuorch_sxtb16_ror8(int32_t v) {\n"
           "  int32_t r;\n"
           "  __asm__(\"sxtb16 %0, %1, ror #8\" : \"=r\"(r) : \"r\"(v));\n"
           "  return r;\n"
           "}",
}


#: MVE kernel rows of at most this many bytes take the ``dots`` helper (16-byte loop unrolled)
MVE_SHORT_ROW = 48


def helper_name(flavour: str, pixels: int, block: int, rows: bool = False, short: bool = False,
                border: bool = False) -> str:
    kind = ("s" if short else "r") if rows else ("b" if border else "")
    return f"mcuorch_{flavour}_dot{kind}_{pixels}x{block}"


def dot(flavour: str, pixels: int, block: int, acc, x_ptr, xs, w_ptr, ws, n, border: bool = False) -> None:
    """Emit ``helper(acc, x, xs, w, ws, n)`` as a statement (pointers from ``T.address_of``);
    ``border``: the never-inlined copy (DSP) for a kernel's border pixels."""
    call(helper_name(flavour, pixels, block, border=border), acc, x_ptr, xs, w_ptr, ws, n)


def dot_rows(flavour: str, pixels: int, block: int, acc, x_ptr, xs, xr, w_ptr, ws, wr, n, rows,
             short: bool = False) -> None:
    """Emit ``helper(acc, x, xs, xr, w, ws, wr, n, rows)``: ``rows`` dots, one call (``short``:
    the unrolled variant for rows of at most :data:`MVE_SHORT_ROW` bytes)."""
    call(helper_name(flavour, pixels, block, rows=True, short=short), acc, x_ptr, xs, xr, w_ptr, ws, wr, n, rows)


def _mve_body(P: int, B: int, short: bool = False) -> list[str]:
    # short rows: unrolled completely (immediate offsets, no loop), a larger loop stays rolled
    lines = ([f"#pragma GCC unroll {MVE_SHORT_ROW // 16}"] if short else []) + ["  for (; i + 16 <= n; i += 16) {"]
    lines += [f"    int8x16_t x{p} = vldrbq_s8(x + {p} * xs + i);" for p in range(P)]
    for r in range(B):
        lines.append(f"    int8x16_t w{r} = vldrbq_s8(w + {r} * ws + i);")
        lines += [f"    {_acc(p, r)} = vmladavaq_s8({_acc(p, r)}, x{p}, w{r});" for p in range(P)]
    lines += ["  }", "  if (i < n) {", "    mve_pred16_t pred = vctp8q((uint32_t)(n - i));"]
    lines += [f"    int8x16_t x{p} = vldrbq_z_s8(x + {p} * xs + i, pred);" for p in range(P)]
    for r in range(B):
        lines.append(f"    int8x16_t w{r} = vldrbq_z_s8(w + {r} * ws + i, pred);")
        lines += [f"    {_acc(p, r)} = vmladavaq_p_s8({_acc(p, r)}, x{p}, w{r}, pred);" for p in range(P)]
    lines += ["    i = n;", "  }"]
    return lines


def _dsp_body(P: int, B: int) -> list[str]:
    lines = ["  for (; i + 4 <= n; i += 4) {"]
    for p in range(P):
        lines += [f"    int32_t xv{p};", f"    memcpy(&xv{p}, x + {p} * xs + i, 4);",
                  f"    int32_t xl{p} = __sxtb16(xv{p}), xh{p} = mcuorch_sxtb16_ror8(xv{p});"]
    for r in range(B):
        lines += [f"    int32_t wv{r};", f"    memcpy(&wv{r}, w + {r} * ws + i, 4);",
                  f"    int32_t wl{r} = __sxtb16(wv{r}), wh{r} = mcuorch_sxtb16_ror8(wv{r});"]
        for p in range(P):
            lines.append(f"    {_acc(p, r)} = __smlad(xh{p}, wh{r}, __smlad(xl{p}, wl{r}, {_acc(p, r)}));")
    lines.append("  }")
    return lines


def _signature(name: str, B: int, P: int, rows: bool) -> list[str]:
    """The comment and the first lines of a helper, up to its opening brace."""
    storage = "static MCUORCH_RVV_SHARED" if name.startswith("mcuorch_rvv_") else "static inline"
    if rows and name.startswith("mcuorch_mve_"):
        # each kernel's interior: inlined, its row length and count become constants and the
        # call's 30-instruction prologue disappears (GCC otherwise keeps one generic copy)
        storage = "static inline __attribute__((always_inline))"
    elif name.startswith("mcuorch_dsp_dotb_"):
        # border pixels: one shared copy, so the kernel's frame does not grow by an inlined copy
        # per call site (the deepest frame of resnet on the M4 with them inlined)
        storage = "static __attribute__((noinline))"
    if rows:
        return [f"/* acc[p*{B} + r] += sum_(k<rows, i<n) x[k*xr + p*xs + i] * w[k*wr + r*ws + i], p < {P}, "
                f"r < {B} */",
                f"{storage} void {name}(int32_t* acc, const int8_t* x, int32_t xs, int32_t xr,",
                "    const int8_t* w, int32_t ws, int32_t wr, int32_t n, int32_t rows) {"]
    return [f"/* acc[p*{B} + r] += sum_(i<n) x[p*xs + i] * w[r*ws + i], p < {P}, r < {B} */",
            f"{storage} void {name}(int32_t* acc, const int8_t* x, int32_t xs, const int8_t* w,",
            "    int32_t ws, int32_t n) {"]


def _register_body(flavour: str, P: int, B: int, rows: bool, short: bool = False) -> list[str]:
    """Scalar, MVE or DSP body: int32 accumulators in GPRs, the SIMD steps (if any) under the
    feature macro, then the scalar loop for what is left of each run."""
    accs = [(p, r) for p in range(P) for r in range(B)]
    lines = [f"  int32_t {_acc(p, r)} = acc[{p * B + r}];" for p, r in accs]
    body = ["  int32_t i = 0;"]
    if flavour in ("mve", "dsp"):
        body.append(f"#if defined({FEATURE_MACRO[flavour]})")
        body += _mve_body(P, B, short) if flavour == "mve" else _dsp_body(P, B)
        body.append("#endif")
    body.append("  for (; i < n; ++i) {")
    body += [f"    int32_t x{p} = x[{p} * xs + i];" for p in range(P)]
    for r in range(B):
        body.append(f"    int32_t w{r} = w[{r} * ws + i];")
        body += [f"    {_acc(p, r)} += x{p} * w{r};" for p in range(P)]
    body.append("  }")
    if rows:
        lines.append("  for (int32_t k = 0; k < rows; ++k, x += xr, w += wr) {")
        lines += ["  " + line if not line.startswith("#") else line for line in body]
        lines.append("  }")
    else:
        lines += body
    lines += [f"  acc[{p * B + r}] = {_acc(p, r)};" for p, r in accs]
    return lines


def helper_definition(flavour: str, P: int, B: int, kind: str = "") -> str:
    """``kind``: '' one run, 'r' rows, 's' short rows, 'b' one run, never inlined (see the
    module docstring)."""
    rows, short = kind in ("r", "s"), kind == "s"
    lines = _signature(helper_name(flavour, P, B, rows, short, border=kind == "b"), B, P, rows)
    if flavour == "rvv":
        # vector accumulators for the whole call; the scalar helper's body as the fallback
        lines += ["#if defined(__riscv_vector)", *rvv.dot_body(P, B, rows), "#else",
                  *_register_body("scalar", P, B, rows), "#endif"]
    else:
        lines += _register_body(flavour, P, B, rows, short)
    lines.append("}")
    return "\n".join(lines) + "\n"


_EXTERN_DECL = re.compile(r"^(?:void|int32_t) mcuorch_(?:mve|dsp|rvv|scalar)_\w+\([^)]*\);\n", re.M)


def attach_helpers(kernel_code: str) -> tuple[str, str]:
    """(helper definitions, kernel code without the C printer's extern declarations of them)."""
    return helper_source(kernel_code), _EXTERN_DECL.sub("", kernel_code)


def helper_source(kernel_code: str) -> str:
    """Includes and definitions of every helper ``kernel_code`` calls ('' when none)."""
    used = sorted({(m.group(1), int(m.group(3)), int(m.group(4)), m.group(2))
                   for m in HELPER_RE.finditer(kernel_code)})
    if not used and not _WHOLE_RE.search(kernel_code):
        return ""
    parts = ["/* SIMD helpers of the integer kernels (mcuorch_tvm/integer/simd.py). */",
             "#include <string.h>"]
    whole = sorted({base + size for base, size in _WHOLE_RE.findall(kernel_code)})
    flavours = {f for f, _, _, _ in used} | {name.split("_")[1] for name in whole}
    for flavour in sorted(flavours):
        if flavour in INCLUDES:
            parts.append(f"#if defined({FEATURE_MACRO[flavour]})\n{INCLUDES[flavour]}\n#endif")
    if "rvv" in flavours:
        parts.append(rvv.PRELUDE)
    defs = [helper_definition(*u) for u in used]
    if whole:
        common = [REQUANT_C] + ([MVE_REQUANT_C] if any(n in MVE_HELPERS for n in whole) else []) \
            + ([rvv.REQUANT_C] if any(n in rvv.HELPERS for n in whole) else []) + [WINDOW_C]
        defs = common + [whole_definition(name) for name in whole] + defs
    return "\n".join(parts) + "\n\n" + "\n".join(defs) + "\n"
# appended to simd.py

# --------------------------------------------------------------------------- channel-vector helpers
#
# Requantization and the layers whose reduction is too short for VMLADAVA (depthwise: one tap
# per channel; a first layer with 1-3 input channels) vectorise over output channels instead:
# 4 channels per int32x4 lane set. These are whole C functions, called once per output pixel.

REQUANT_C = r"""/* TFLite MultiplyByQuantizedMultiplier (double rounding) + zero point + clamp, as the
   kernels' TIR computes it: defined C only (no signed overflow, no shift of a negative value). */
static inline int32_t mcuorch_requantize(int32_t acc, int32_t m, int32_t s, int32_t zp, int32_t lo, int32_t hi) {
  int32_t left = s > 0 ? s : 0, right = s > 0 ? 0 : -s;
  int64_t wide = (int64_t)acc * ((int64_t)1 << left);
  int32_t x = (int32_t)(((wide + INT64_C(2147483648)) & INT64_C(0xFFFFFFFF)) - INT64_C(2147483648));
  int64_t p = (int64_t)x * m + ((int64_t)1 << 30);
  int32_t h = (int32_t)(p >= 0 ? p >> 31 : ~(~p >> 31));
  int32_t mask = (int32_t)(((int64_t)1 << right) - 1);
  int32_t threshold = (mask >> 1) + (h < 0);
  int32_t q = (h >= 0 ? h >> right : ~(~h >> right)) + ((h & mask) > threshold);
  q += zp;
  return q < lo ? lo : q > hi ? hi : q;
}
"""

WINDOW_C = r"""/* The C input bytes under tap (ih, iw) of an image (NHWC, C channels), or zrow (C bytes of the
   input zero point: what a padded tap contributes once the offset is folded). The one spelling
   of "is this tap inside the image" for every per-pixel helper. */
static inline const int8_t* mcuorch_tap(const int8_t* x, int32_t ih, int32_t iw, int32_t in_h, int32_t in_w,
    int32_t C, const int8_t* zrow) {
  /* one unsigned compare per axis: a negative coordinate wraps above any image size */
  return (uint32_t)ih < (uint32_t)in_h && (uint32_t)iw < (uint32_t)in_w ? x + (ih * in_w + iw) * C : zrow;
}

/* tp[kh*k_w + kw] = the tap (kh, kw) of the window at (ih0, iw0); returns k_h * k_w */
static inline int32_t mcuorch_window_taps(const int8_t** tp, const int8_t* x, int32_t ih0, int32_t iw0,
    int32_t C, int32_t in_h, int32_t in_w, int32_t k_h, int32_t k_w, int32_t dh, int32_t dw, const int8_t* zrow) {
  for (int32_t kh = 0; kh < k_h; ++kh) {
    int32_t ih = ih0 + kh * dh;
    for (int32_t kw = 0; kw < k_w; ++kw)
      tp[kh * k_w + kw] = mcuorch_tap(x, ih, iw0 + kw * dw, in_h, in_w, C, zrow);
  }
  return k_h * k_w;
}
"""

MVE_REQUANT_C = r"""#if defined(__ARM_FEATURE_MVE)
/* requantize() on 4 lanes: VQRDMULH is SaturatingRoundingDoublingHighMul; RoundingDivideByPOT is a
   rounding shift (VRSHL by -e) after subtracting 1 from negative values when e > 0 (the sign
   bit of x & -e), which turns round-half-up into round-half-away-from-zero. */
static inline int32x4_t mcuorch_mve_requant(int32x4_t acc, int32x4_t m, int32x4_t s, int32_t zp, int32_t lo, int32_t hi) {
  int32x4_t right = vminq_s32(s, vdupq_n_s32(0));
  int32x4_t x = vqrdmulhq_s32(vshlq_s32(acc, vmaxq_s32(s, vdupq_n_s32(0))), m);
  x = vqaddq_s32(x, vshrq_n_s32(vandq_s32(x, right), 31));
  x = vaddq_n_s32(vrshlq_s32(x, right), zp);
  return vmaxq_s32(vminq_s32(x, vdupq_n_s32(hi)), vdupq_n_s32(lo));
}

/* 4 consecutive channels' int32 sums (bias included) requantized and stored: per-channel
   multipliers and shifts at mult/shift when pc, else m0/s0 for all. */
static inline void mcuorch_mve_store4(int8_t* y, int32x4_t acc, const int32_t* mult, const int8_t* shift,
    int32_t pc, int32_t m0, int32_t s0, int32_t zp, int32_t lo, int32_t hi) {
  int32x4_t m = pc ? vldrwq_s32(mult) : vdupq_n_s32(m0);
  int32x4_t s = pc ? vldrbq_s32(shift) : vdupq_n_s32(s0);
  vstrbq_s32(y, mcuorch_mve_requant(acc, m, s, zp, lo, hi));
}
#endif
"""

MVE_HELPERS = {
    "mcuorch_mve_requant_store": r"""/* y[i] = requantize(acc[i]) for i < n <= 4 consecutive channels (per-channel mult/shift
   arrays when pc, else m0/s0 for all) */
static inline void mcuorch_mve_requant_store(int8_t* y, const int32_t* acc, const int32_t* mult,
    const int8_t* shift, int32_t pc, int32_t m0, int32_t s0, int32_t n, int32_t zp, int32_t lo, int32_t hi) {
#if defined(__ARM_FEATURE_MVE)
  mve_pred16_t p = vctp32q((uint32_t)n);
  int32x4_t m = pc ? vldrwq_z_s32(mult, p) : vdupq_n_s32(m0);
  int32x4_t s = pc ? vldrbq_z_s32(shift, p) : vdupq_n_s32(s0);
  vstrbq_p_s32(y, mcuorch_mve_requant(vldrwq_z_s32(acc, p), m, s, zp, lo, hi), p);
#else
  for (int32_t i = 0; i < n; ++i)
    y[i] = (int8_t)mcuorch_requantize(acc[i], pc ? mult[i] : m0, pc ? shift[i] : s0, zp, lo, hi);
#endif
}
""",
    "mcuorch_mve_add": r"""/* int8 ADD of two equal-shaped tensors, 4 elements per pass: each input offset, shifted into
   the common domain (ls: 20), rescaled, summed, rescaled to the output, zero point, clamp: TFLite's
   AddElementwise with every multiply-high and rounding shift on 4 lanes. The multipliers and
   shifts are the call's constants (one per tensor, not per lane): scalar-operand VQRDMULH/VRSHL,
   and a shift of 0 costs nothing once the call is inlined. */
#if defined(__ARM_FEATURE_MVE)
static inline int32x4_t mcuorch_mve_rescale(int32x4_t x, int32_t m, int32_t s) {
  if (s > 0) x = vshlq_r_s32(x, s);
  x = vqrdmulhq_n_s32(x, m);
  if (s < 0) x = vrshlq_n_s32(vqaddq_s32(x, vshrq_n_s32(x, 31)), s);  /* half away from zero */
  return x;
}
#endif

static inline void mcuorch_mve_add(int8_t* y, const int8_t* a, const int8_t* b, int32_t n, int32_t ls,
    int32_t off1, int32_t m1, int32_t s1, int32_t off2, int32_t m2, int32_t s2, int32_t mo, int32_t so,
    int32_t zp, int32_t lo, int32_t hi) {
#if defined(__ARM_FEATURE_MVE)
  int32x4_t vlo = vdupq_n_s32(lo), vhi = vdupq_n_s32(hi);
  for (int32_t i = 0; i < n; i += 4) {
    mve_pred16_t p = vctp32q((uint32_t)(n - i));
    int32x4_t av = vshlq_r_s32(vaddq_n_s32(vldrbq_z_s32(a + i, p), off1), ls);
    int32x4_t bv = vshlq_r_s32(vaddq_n_s32(vldrbq_z_s32(b + i, p), off2), ls);
    int32x4_t sum = vaddq_s32(mcuorch_mve_rescale(av, m1, s1), mcuorch_mve_rescale(bv, m2, s2));
    int32x4_t out = vaddq_n_s32(mcuorch_mve_rescale(sum, mo, so), zp);
    vstrbq_p_s32(y + i, vmaxq_s32(vminq_s32(out, vhi), vlo), p);
  }
#else
  for (int32_t i = 0; i < n; ++i) {
    int32_t sum = mcuorch_requantize((a[i] + off1) * (1 << ls), m1, s1, 0, INT32_MIN, INT32_MAX)
                + mcuorch_requantize((b[i] + off2) * (1 << ls), m2, s2, 0, INT32_MIN, INT32_MAX);
    y[i] = (int8_t)mcuorch_requantize(sum, mo, so, zp, lo, hi);
  }
#endif
}
""",
    "mcuorch_mve_pwconv": r"""/* One output pixel of a 1x1 CONV_2D (IC % 16 == 0, OC % 4 == 0): x is the pixel's IC
   inputs, weights [OC/4][IC/16][4][16] (the four channels' next 16 bytes are one 64-byte
   run). Four VMLADAVA sums per step become one vector, bias added, requantized, stored. */
static inline void mcuorch_mve_pwconv(int8_t* y, const int8_t* x, const int8_t* w, const int32_t* bias,
    const int32_t* mult, const int8_t* shift, int32_t pc, int32_t m0, int32_t s0, int32_t OC,
    int32_t IC, int32_t zp, int32_t lo, int32_t hi) {
#if defined(__ARM_FEATURE_MVE)
  for (int32_t c = 0; c < OC; c += 4) {
    int32_t a0 = 0, a1 = 0, a2 = 0, a3 = 0;
    for (int32_t i = 0; i < IC; i += 16, w += 64) {
      int8x16_t xv = vldrbq_s8(x + i);
      a0 = vmladavaq_s8(a0, xv, vldrbq_s8(w));
      a1 = vmladavaq_s8(a1, xv, vldrbq_s8(w + 16));
      a2 = vmladavaq_s8(a2, xv, vldrbq_s8(w + 32));
      a3 = vmladavaq_s8(a3, xv, vldrbq_s8(w + 48));
    }
    int32x4_t acc = vsetq_lane_s32(a3, vsetq_lane_s32(a2, vsetq_lane_s32(a1, vdupq_n_s32(a0), 1), 2), 3);
    mcuorch_mve_store4(y + c, vaddq_s32(acc, vldrwq_s32(bias + c)), mult + c, shift + c, pc, m0, s0, zp, lo, hi);
  }
#else
  for (int32_t c = 0; c < OC; ++c) {
    int32_t acc = bias[c];
    for (int32_t i = 0; i < IC; ++i)
      acc += x[i] * w[(c >> 2) * 4 * IC + (i >> 4) * 64 + (c & 3) * 16 + (i & 15)];
    y[c] = (int8_t)mcuorch_requantize(acc, pc ? mult[c] : m0, pc ? shift[c] : s0, zp, lo, hi);
  }
#endif
}
""",
    "mcuorch_mve_dwconv": r"""/* One output pixel of DEPTHWISE_CONV_2D (depth multiplier 1, C % 8 == 0, k_h*k_w <= 25),
   all C channels, 8 per pass: window origin (ih0, iw0) in the image x (NHWC, one batch),
   weights [C/8][tap][8]. A padded tap reads zrow (C bytes of the input zero point: what the
   tap contributes once the offset is folded), so every pixel runs the same unrolled taps.
   Products are int16 (VMUL.S16 on bytes widened by VLDRB.S16); with pair != 0 (no weight is
   -128, so two products never exceed int16) two taps are added before widening to int32.
   Widening splits even and odd channels (VMOVLB/VMOVLT), so bias, mult and shift are stored
   permuted per group of 8 ([0 2 4 6 1 3 5 7]); VMOVNB/VMOVNT interleave the results back. */
static __attribute__((noinline)) void mcuorch_mve_dwconv(int8_t* y, const int8_t* x, int32_t ih0, int32_t iw0,
    const int8_t* w, const int32_t* bias, const int32_t* mult, const int8_t* shift, int32_t pc,
    int32_t m0, int32_t s0, int32_t C, int32_t in_h, int32_t in_w, int32_t k_h, int32_t k_w,
    int32_t dh, int32_t dw, const int8_t* zrow, int32_t pair, int32_t zp, int32_t lo, int32_t hi) {
  /* one copy, not inlined: inlined into every layer (or one copy per tap count) with its taps
     unrolled, the frames reached 568 (504) bytes for a 1x15 window */
  const int8_t* tp[25];
  int32_t taps = mcuorch_window_taps(tp, x, ih0, iw0, C, in_h, in_w, k_h, k_w, dh, dw, zrow);
#if defined(__ARM_FEATURE_MVE)
  for (int32_t c = 0; c < C; c += 8, w += 8 * taps) {
    int32x4_t ae = vldrwq_s32(bias + c), ao = vldrwq_s32(bias + c + 4);
    int32_t t = 0;
    if (pair) {
#pragma GCC unroll 12
      for (; t + 2 <= taps; t += 2) {
        int16x8_t p = vmulq_s16(vldrbq_s16(tp[t] + c), vldrbq_s16(w + 8 * t));
        p = vaddq_s16(p, vmulq_s16(vldrbq_s16(tp[t + 1] + c), vldrbq_s16(w + 8 * t + 8)));
        ae = vaddq_s32(ae, vmovlbq_s16(p));
        ao = vaddq_s32(ao, vmovltq_s16(p));
      }
    }
#pragma GCC unroll 25
    for (; t < taps; ++t) {
      int16x8_t p = vmulq_s16(vldrbq_s16(tp[t] + c), vldrbq_s16(w + 8 * t));
      ae = vaddq_s32(ae, vmovlbq_s16(p));
      ao = vaddq_s32(ao, vmovltq_s16(p));
    }
    /* even then odd lanes, each loading its own multipliers: fewer vectors live at once */
    int16x8_t out = vmovnbq_s32(vdupq_n_s16(0), mcuorch_mve_requant(ae,
        pc ? vldrwq_s32(mult + c) : vdupq_n_s32(m0), pc ? vldrbq_s32(shift + c) : vdupq_n_s32(s0), zp, lo, hi));
    out = vmovntq_s32(out, mcuorch_mve_requant(ao,
        pc ? vldrwq_s32(mult + c + 4) : vdupq_n_s32(m0), pc ? vldrbq_s32(shift + c + 4) : vdupq_n_s32(s0),
        zp, lo, hi));
    vstrbq_s16(y + c, out);
  }
#else
  (void)pair;
  for (int32_t c = 0; c < C; ++c) {
    int32_t k = (c & ~7) + (c & 1) * 4 + ((c & 7) >> 1);  /* permuted index of channel c */
    int32_t acc = bias[k];
    for (int32_t t = 0; t < taps; ++t)
      acc += tp[t][c] * w[(c >> 3) * 8 * taps + 8 * t + (c & 7)];
    y[c] = (int8_t)mcuorch_requantize(acc, pc ? mult[k] : m0, pc ? shift[k] : s0, zp, lo, hi);
  }
#endif
}
""",
    "mcuorch_mve_colconv": r"""/* One output pixel of CONV_2D whose whole window is short (k_h*k_w*IC <= 128 taps, a first
   layer on few input channels; OC % 4 == 0): the window is gathered once into col (a padded
   position reads zrow, IC bytes of the input zero point), kept in up to 8 vectors, and every
   output channel is VMLADAVA over them against its weights [OC][taps]; 4 channels' sums
   become one vector for the requantization. Against broadcasting each input byte over
   16-channel vectors, 4x fewer instructions on a 3x3x3 window. */
static __attribute__((noinline)) void mcuorch_mve_colconv(int8_t* y, const int8_t* x, int32_t ih0, int32_t iw0,
    const int8_t* w, const int32_t* bias, const int32_t* mult, const int8_t* shift, int32_t pc,
    int32_t m0, int32_t s0, int32_t OC, int32_t IC, int32_t in_h, int32_t in_w, int32_t k_h,
    int32_t k_w, int32_t dh, int32_t dw, const int8_t* zrow, int32_t zp, int32_t lo, int32_t hi) {
  int8_t col[HELPER_SIZE] __attribute__((aligned(16)));  /* the window, rounded up to 16 bytes */
  int32_t taps = k_h * k_w * IC, run = k_w * IC;
  int cols_in = iw0 >= 0 && iw0 + (k_w - 1) * dw < in_w;
  for (int32_t kh = 0; kh < k_h; ++kh) {
    int32_t ih = ih0 + kh * dh;
    int8_t* dst = col + kh * run;
    if (ih >= 0 && ih < in_h && cols_in && dw == 1) {
      memcpy(dst, x + (ih * in_w + iw0) * IC, (size_t)run);  /* the kernel row is contiguous */
      continue;
    }
    for (int32_t kw = 0; kw < k_w; ++kw) {
      int32_t iw = iw0 + kw * dw;
      const int8_t* src = mcuorch_tap(x, ih, iw, in_h, in_w, IC, zrow);
      for (int32_t ci = 0; ci < IC; ++ci)
        dst[kw * IC + ci] = src[ci];
    }
  }
#if defined(__ARM_FEATURE_MVE)
  int8x16_t xv[8];
  int32_t full = taps / 16, rest = taps - 16 * full;
  mve_pred16_t tail = vctp8q((uint32_t)rest);
#pragma GCC unroll 8
  for (int32_t v = 0; v < full; ++v)
    xv[v] = vldrbq_s8(col + 16 * v);
  if (rest)
    xv[full] = vldrbq_z_s8(col + 16 * full, tail);
  for (int32_t c = 0; c < OC; c += 4) {
    int32_t a[4];
#pragma GCC unroll 4
    for (int32_t r = 0; r < 4; ++r) {
      const int8_t* wc = w + (c + r) * taps;
      int32_t sum = bias[c + r];
#pragma GCC unroll 8
      for (int32_t v = 0; v < full; ++v)
        sum = vmladavaq_s8(sum, xv[v], vldrbq_s8(wc + 16 * v));
      if (rest)
        sum = vmladavaq_s8(sum, xv[full], vldrbq_z_s8(wc + 16 * full, tail));
      a[r] = sum;
    }
    int32x4_t acc = vsetq_lane_s32(a[3], vsetq_lane_s32(a[2], vsetq_lane_s32(a[1], vdupq_n_s32(a[0]), 1), 2), 3);
    mcuorch_mve_store4(y + c, acc, mult + c, shift + c, pc, m0, s0, zp, lo, hi);
  }
#else
  for (int32_t c = 0; c < OC; ++c) {
    int32_t acc = bias[c];
    for (int32_t t = 0; t < taps; ++t)
      acc += col[t] * w[c * taps + t];
    y[c] = (int8_t)mcuorch_requantize(acc, pc ? mult[c] : m0, pc ? shift[c] : s0, zp, lo, hi);
  }
#endif
}
""",
    "mcuorch_mve_chconv": r"""/* One output pixel of CONV_2D with a short reduction row (few input channels; OC % 16 == 0,
   k_h*k_w <= 64), all OC channels, 16 per pass: input bytes are broadcast (VMLA by scalar)
   against weights [OC/16][tap][16] (tap = (kh*k_w + kw)*IC + ci); a padded position reads
   zrow (IC bytes of the input zero point). */
static inline void mcuorch_mve_chconv(int8_t* y, const int8_t* x, int32_t ih0, int32_t iw0,
    const int8_t* w, const int32_t* bias, const int32_t* mult, const int8_t* shift, int32_t pc,
    int32_t m0, int32_t s0, int32_t OC, int32_t IC, int32_t in_h, int32_t in_w, int32_t k_h,
    int32_t k_w, int32_t dh, int32_t dw, const int8_t* zrow, int32_t zp, int32_t lo, int32_t hi) {
  const int8_t* tp[64];
  int32_t positions = mcuorch_window_taps(tp, x, ih0, iw0, IC, in_h, in_w, k_h, k_w, dh, dw, zrow);
#if defined(__ARM_FEATURE_MVE)
  for (int32_t c = 0; c < OC; c += 16) {
    int32x4_t a0 = vldrwq_s32(bias + c), a1 = vldrwq_s32(bias + c + 4);
    int32x4_t a2 = vldrwq_s32(bias + c + 8), a3 = vldrwq_s32(bias + c + 12);
    for (int32_t t = 0; t < positions; ++t) {
      const int8_t* xt = tp[t];
#pragma GCC unroll 16
      for (int32_t ci = 0; ci < IC; ++ci, w += 16) {
        int32_t xv = xt[ci];
        a0 = vmlaq_n_s32(a0, vldrbq_s32(w), xv);
        a1 = vmlaq_n_s32(a1, vldrbq_s32(w + 4), xv);
        a2 = vmlaq_n_s32(a2, vldrbq_s32(w + 8), xv);
        a3 = vmlaq_n_s32(a3, vldrbq_s32(w + 12), xv);
      }
    }
    int32x4_t acc[4] = {a0, a1, a2, a3};
    for (int32_t k = 0; k < 4; ++k) {
      mcuorch_mve_store4(y + c + 4 * k, acc[k], mult + c + 4 * k, shift + c + 4 * k, pc, m0, s0, zp, lo, hi);
    }
  }
#else
  int32_t taps = positions * IC;
  for (int32_t c = 0; c < OC; ++c) {
    int32_t acc = bias[c];
    for (int32_t t = 0; t < positions; ++t)
      for (int32_t ci = 0; ci < IC; ++ci)
        acc += tp[t][ci] * w[(c >> 4) * 16 * taps + 16 * (t * IC + ci) + (c & 15)];
    y[c] = (int8_t)mcuorch_requantize(acc, pc ? mult[c] : m0, pc ? shift[c] : s0, zp, lo, hi);
  }
#endif
}
""",
}


DSP_HELPERS = {
    "mcuorch_dsp_dot4p": r"""/* acc + x[0]*lo(we) + x[2]*hi(we) + x[1]*lo(wo) + x[3]*hi(wo): four consecutive input bytes
   against weights packed as int16 pairs (lo + 65536*hi). SXTB16 splits the bytes the same way
   (0 and 2, 1 and 3), so two SMLAD do four MACs. x[0..3] must be readable. */
static inline int32_t mcuorch_dsp_dot4p(int32_t acc, const int8_t* x, int32_t we, int32_t wo) {
#if defined(__ARM_FEATURE_DSP)
  int32_t v;
  memcpy(&v, x, 4);
  return __smlad(mcuorch_sxtb16_ror8(v), wo, __smlad(__sxtb16(v), we, acc));
#else
  /* halves of lo + 65536*hi: lo = the low 16 bits as int16, hi = (v - (v & 0xFFFF)) / 65536 */
  int32_t el = ((we & 0xFFFF) ^ 0x8000) - 0x8000, ol = ((wo & 0xFFFF) ^ 0x8000) - 0x8000;
  int32_t eh = (we - (we & 0xFFFF)) / 65536, oh = (wo - (wo & 0xFFFF)) / 65536;
  return acc + x[0] * el + x[2] * eh + x[1] * ol + x[3] * oh;
#endif
}
""",
    "mcuorch_dsp_requantize": r"""/* requantize() for |acc| < 2^30 and a right shift e = -s >= 1 (RequantStage.short_rounding):
   SaturatingRoundingDoublingHighMul(acc, m) = floor((acc*m + 2^30) / 2^31) is SMMULR(2*acc, m),
   one instruction; RoundingDivideByPOT is (h + 2^(e-1) - (h < 0)) >> e, which cannot overflow. */
static inline int32_t mcuorch_dsp_requantize(int32_t acc, int32_t m, int32_t s, int32_t zp, int32_t lo, int32_t hi) {
#if defined(__ARM_FEATURE_DSP)
  int32_t h, e = -s;
  __asm__("smmulr %0, %1, %2" : "=r"(h) : "r"(acc * 2), "r"(m));
  h = h + (1 << (e - 1)) - (h < 0);
  h = (h >= 0 ? h >> e : ~(~h >> e)) + zp;
  return h < lo ? lo : h > hi ? hi : h;
#else
  return mcuorch_requantize(acc, m, s, zp, lo, hi);
#endif
}
""",
}

#: Helpers whose name carries the size of their stack buffer (``mcuorch_mve_colconv32``: 32
#: bytes of window): the template's ``HELPER_SIZE`` becomes that number, so the frame holds
#: what the call site needs and no more.
SIZED_HELPERS = ("mcuorch_mve_colconv",)
_WHOLE_RE = re.compile(r"\b(" + "|".join([*MVE_HELPERS, *DSP_HELPERS, *rvv.HELPERS]) + r")(\d*)\b")


def sized_name(helper: str, size: int) -> str:
    """The name of a :data:`SIZED_HELPERS` helper specialised for ``size`` bytes."""
    if helper not in SIZED_HELPERS:
        raise ValueError(f"{helper} takes no size")
    return f"{helper}{size}"


def whole_definition(name: str) -> str:
    """The C of a whole-function helper, a sized one specialised to its name's size."""
    for base in SIZED_HELPERS:
        size = name[len(base):]
        if name.startswith(base) and size.isdigit():
            template = MVE_HELPERS[base]
            return template.replace(f"{base}(", f"{name}(").replace("HELPER_SIZE", size)
    return {**MVE_HELPERS, **DSP_HELPERS, **rvv.HELPERS}[name]


def pack16(lo, hi):
    """Two int8 weights (int32 exprs, or None for 0) as the int16 pair ``lo + 65536*hi``."""
    lo_part = tirx.bitwise_and(lo, K.c32(0xFFFF)) if lo is not None else K.c32(0)
    return lo_part + hi * K.c32(65536) if hi is not None else lo_part


def requantize(flavour: str | None, acc, stage, multiplier=None, shift=None, round_const=None):
    """``K.requantize`` or, on the DSP (short rounding form only), ``mcuorch_dsp_requantize``."""
    if flavour != "dsp" or not stage.short_rounding:
        return K.requantize(acc, stage, multiplier, shift, round_const)
    if multiplier is None:
        multiplier, shift = K.c32(stage.multiplier[0]), K.c32(stage.shift[0])
    return tirx.call_extern("int32", "mcuorch_dsp_requantize", K.named(acc), multiplier, K.i32(shift),
                            K.c32(stage.output_zero_point), K.c32(stage.act_min), K.c32(stage.act_max))


def call(name: str, *args) -> None:
    """Emit ``name(args...)`` as a statement; ints become int32 immediates."""
    T.evaluate(tirx.call_extern("void", name, *[K.c32(a) if isinstance(a, int) else a for a in args]))
