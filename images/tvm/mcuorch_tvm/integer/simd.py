"""C helpers of the SIMD schedules: int8 dot products of register blocks.

Kernels generated for a SIMD ISA (:mod:`.isa`) call small ``static inline`` functions for their
reduction loops (``T.call_extern`` in TIR); the emitter appends the definition of every helper
the kernel code names (:func:`helper_source`), so the kernels stay one C file with no
dependency. A helper's name says what it computes::

    mcuorch_<flavour>_dot_<P>x<B>(acc, x, xs, w, ws, n)
        acc[p*B + r] += sum_{i<n} x[p*xs + i] * w[r*ws + i]     (p < P, r < B)

``P`` pixels (input runs ``xs`` bytes apart) times ``B`` channels (weight runs ``ws`` bytes
apart), int8 operands, int32 accumulators. ``flavour`` picks the SIMD code, always guarded by
the compiler's own feature macro, with the portable scalar loop as the fallback:

* ``mve``: ``#if defined(__ARM_FEATURE_MVE)`` — 16 bytes per ``vldrbq_s8``, 16 MACs per
  ``vmladavaq_s8``; a remainder of fewer than 16 bytes runs once with a ``vctp8q`` predicate
  (predicated-off lanes are not loaded);
* ``dsp``: ``#if defined(__ARM_FEATURE_DSP)`` — 4 bytes per 32-bit load, split into two
  sign-extended halfword pairs (``__sxtb16(v)`` = bytes 0 and 2, ``SXTB16 v, ROR #8`` = bytes
  1 and 3, as inline assembly: GCC 12's ``arm_acle.h`` has no ``__ror``; operands are split
  alike, so the pairs match), 2 MACs per ``__smlad``.

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

from . import tir as K

HELPER_RE = re.compile(r"\bmcuorch_(mve|dsp|scalar)_dot_(\d+)x(\d+)\b")
FEATURE_MACRO = {"mve": "__ARM_FEATURE_MVE", "dsp": "__ARM_FEATURE_DSP"}
INCLUDES = {
    "mve": "#include <arm_mve.h>",
    # GCC 12's arm_acle.h has __sxtb16 but no __ror, and would not fold a C rotate into
    # SXTB16's rotation operand: one instruction as inline assembly.
    "dsp": "#include <arm_acle.h>\n"
           "static inline int32_t mcuorch_sxtb16_ror8(int32_t v) {\n"
           "  int32_t r;\n"
           "  __asm__(\"sxtb16 %0, %1, ror #8\" : \"=r\"(r) : \"r\"(v));\n"
           "  return r;\n"
           "}",
}


def helper_name(flavour: str, pixels: int, block: int) -> str:
    return f"mcuorch_{flavour}_dot_{pixels}x{block}"


def dot(flavour: str, pixels: int, block: int, acc, x_ptr, xs, w_ptr, ws, n) -> None:
    """Emit ``helper(acc, x, xs, w, ws, n)`` as a statement (pointers from ``T.address_of``)."""
    def i32(v):
        return K.c32(v) if isinstance(v, int) else v
    T.evaluate(tirx.call_extern("void", helper_name(flavour, pixels, block), acc, x_ptr, i32(xs), w_ptr,
                                i32(ws), i32(n)))


def _acc(p: int, r: int) -> str:
    return f"a{p}_{r}"


def _mve_body(P: int, B: int) -> list[str]:
    lines = ["  for (; i + 16 <= n; i += 16) {"]
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


def helper_definition(flavour: str, P: int, B: int) -> str:
    name = helper_name(flavour, P, B)
    accs = [(p, r) for p in range(P) for r in range(B)]
    lines = [f"/* acc[p*{B} + r] += sum_(i<n) x[p*xs + i] * w[r*ws + i], p < {P}, r < {B} */",
             f"static inline void {name}(int32_t* acc, const int8_t* x, int32_t xs, const int8_t* w,",
             "    int32_t ws, int32_t n) {"]
    lines += [f"  int32_t {_acc(p, r)} = acc[{p * B + r}];" for p, r in accs]
    lines.append("  int32_t i = 0;")
    if flavour in FEATURE_MACRO:
        lines.append(f"#if defined({FEATURE_MACRO[flavour]})")
        lines += _mve_body(P, B) if flavour == "mve" else _dsp_body(P, B)
        lines.append("#endif")
    lines.append("  for (; i < n; ++i) {")
    lines += [f"    int32_t x{p} = x[{p} * xs + i];" for p in range(P)]
    for r in range(B):
        lines.append(f"    int32_t w{r} = w[{r} * ws + i];")
        lines += [f"    {_acc(p, r)} += x{p} * w{r};" for p in range(P)]
    lines.append("  }")
    lines += [f"  acc[{p * B + r}] = {_acc(p, r)};" for p, r in accs]
    lines.append("}")
    return "\n".join(lines) + "\n"


_EXTERN_DECL = re.compile(r"^void mcuorch_(?:mve|dsp|scalar)_dot_\d+x\d+\([^)]*\);\n", re.M)


def attach_helpers(kernel_code: str) -> tuple[str, str]:
    """(helper definitions, kernel code without the C printer's extern declarations of them)."""
    return helper_source(kernel_code), _EXTERN_DECL.sub("", kernel_code)


def helper_source(kernel_code: str) -> str:
    """Includes and definitions of every helper ``kernel_code`` calls ('' when none)."""
    used = sorted({(m.group(1), int(m.group(2)), int(m.group(3))) for m in HELPER_RE.finditer(kernel_code)})
    if not used:
        return ""
    parts = ["/* SIMD helpers of the integer kernels (mcuorch_tvm/integer/simd.py). */",
             "#include <string.h>"]
    for flavour in sorted({f for f, _, _ in used}):
        if flavour in INCLUDES:
            parts.append(f"#if defined({FEATURE_MACRO[flavour]})\n{INCLUDES[flavour]}\n#endif")
    return "\n".join(parts) + "\n\n" + "\n".join(helper_definition(*u) for u in used) + "\n"
