"""Make ETISS's RV32 F/D instructions follow the RISC-V unprivileged spec (chapters F and D).

    python3 rv32_fp_semantics.py ETISS_TREE

Runs on the unpacked ETISS tree before CMake. ETISS's RV32IMACFD instructions are C++ that
emits C code strings (ArchImpl/RV32IMACFD/RV32IMACFD_RV32{F,D}Instr.cpp) calling softfloat
helpers (src/jitlibs/softfloat/fp_functions.cpp). Every edit below names the exact text it
expects and how often; when that text is not there (another ETISS pin), the script stops with
exit status 1 and one line naming the fix, so no fix is ever skipped silently. Why each exists:

dynamic-rounding   An rm field of 7 (DYN) means the mode in frm = fcsr[7:5]. ETISS used the
                   low byte of fcsr, whose bits 2:0 are fflags (OF, UF, NX), so after an
                   inexact result the next operation rounded toward zero or up, and fesetround()
                   had no effect at all.
conversion-rm      The conversions (fcvt.{w,wu}.{s,d}, fcvt.{s,d}.{w,wu}, fcvt.s.d, fcvt.d.s)
                   passed rm unresolved, so DYN became rounding "up" (the helpers' table maps 7
                   there): every (float)double rounded upwards.
int-to-float-rm    fcvt.s.w and fcvt.s.wu never set softfloat's rounding mode and rounded with
                   whatever mode the previous instruction had left behind.
fcvt-wu-d          fcvt.wu.d converted as signed (fcvt.w.d's helper operation): 3e9 gave
                   0x7fffffff and the invalid flag instead of 3000000000.
fused-multiply-add fmsub/fnmadd/fnmsub must negate operands, not a rounded result:
                   fnmadd = -(a*b) - c is mulAdd(-a, b, -c), fmsub = mulAdd(a, b, -c),
                   fnmsub = mulAdd(-a, b, c). ETISS negated the rounded result for fnmadd and
                   fnmsub (exact zeros got the wrong sign, RDN/RUP rounded the wrong way) and
                   used softfloat's subtract-c variant for fmsub/fnmsub, which gives +c, not
                   -c, when the product is zero or c is infinite. The plain mulAdd with
                   negated operands has none of these problems.
accrued-flags      fflags accrue: an instruction ORs its exceptions into them and only software
                   clears them. ETISS replaced them with the last instruction's flags.
conversion-flags   fcvt.s.d, fcvt.d.s, fcvt.s.w and fcvt.s.wu raised no flags at all (inexact,
                   overflow, underflow, invalid on a signaling NaN).
nan-boxing         A single-precision operand whose register is not NaN-boxed (upper 32 bits
                   all ones) is the canonical NaN. fcvt.d.s alone converted the low half anyway.
"""

from __future__ import annotations

import sys
from pathlib import Path

F_INSTR = "ArchImpl/RV32IMACFD/RV32IMACFD_RV32FInstr.cpp"
D_INSTR = "ArchImpl/RV32IMACFD/RV32IMACFD_RV32DInstr.cpp"
FP_FUNCTIONS = "src/jitlibs/softfloat/fp_functions.cpp"

CPU = "((RV32IMACFD*)cpu)"
FRM = f"((({CPU}->FCSR) >> 5) & 7U)"
"""C code (inside the emitted strings) for frm, the dynamic rounding mode."""


def emits(code: str) -> str:
    """The generator's line (C++) that emits the C line `code` of an instruction."""
    return f'partInit.code() += "{code}\\n";\n'


RECORD_FLAGS = emits("etiss_uint32 flags = fget_flags();") + emits(f"{CPU}->FCSR = {CPU}->FCSR | (flags & 31U);")
"""Generator lines that OR the helper's exception flags into fflags."""
RD = '" + std::to_string(rd) + "'


class FixError(Exception):
    pass


class Tree:
    """The ETISS sources being edited; files are written only after every fix applied."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.texts: dict[str, str] = {}

    def text(self, rel: str) -> str:
        if rel not in self.texts:
            path = self.root / rel
            if not path.is_file():
                raise FixError(f"{rel} not found under {self.root}")
            self.texts[rel] = path.read_text()
        return self.texts[rel]

    def replace(self, fix: str, rel: str, old: str, new: str, count: int) -> None:
        """Replace all `count` occurrences of `old` (exactly that many must be there)."""
        text = self.text(rel)
        found = text.count(old)
        if found != count:
            raise FixError(f"{fix}: expected {count}x {old!r} in {rel}, found {found}")
        self.texts[rel] = text.replace(old, new)

    def replace_in_block(self, fix: str, rel: str, block: str, old: str, new: str) -> None:
        """Replace the first `old` after the generator's comment line for instruction `block`
        (e.g. `//FCVT_WU_D\\n`), within that instruction's definition."""
        text = self.text(rel)
        marker = f'std::string("//{block}\\n")'
        start = text.find(marker)
        if start < 0 or text.count(marker) != 1:
            raise FixError(f"{fix}: instruction {block} not found exactly once in {rel}")
        end = text.find("static InstructionDefinition", start)
        end = len(text) if end < 0 else end
        at = text.find(old, start, end)
        if at < 0:
            raise FixError(f"{fix}: {old!r} not found in instruction {block} of {rel}")
        self.texts[rel] = text[:at] + new + text[at + len(old):]

    def write(self) -> None:
        for rel, text in self.texts.items():
            (self.root / rel).write_text(text)


def dynamic_rounding(tree: Tree) -> None:
    for rel in (F_INSTR, D_INSTR):
        # add, sub, mul, div, sqrt and the four fused multiply-adds
        tree.replace("dynamic-rounding", rel, f"((etiss_uint8)({CPU}->FCSR))", FRM, 9)


def conversion_rm(tree: Tree) -> None:
    old = ', " + std::to_string(rm) + ");\\n";'
    new = f', (" + std::to_string(rm < 7U) + ") ? (" + std::to_string(rm) + ") : {FRM});\\n";'
    tree.replace("conversion-rm", F_INSTR, old, new, 4)   # fcvt.w.s fcvt.wu.s fcvt.s.w fcvt.s.wu
    tree.replace("conversion-rm", D_INSTR, old, new, 6)   # fcvt.s.d fcvt.d.s fcvt.{w,wu}.d fcvt.d.{w,wu}


def int_to_float_rm(tree: Tree) -> None:
    header = "uint32_t fcvt_s(uint32_t v1, uint32_t op, uint8_t mode) {\n"
    tree.replace("int-to-float-rm", FP_FUNCTIONS, header,
                 header + "    softfloat_roundingMode=rmm_map[mode&0x7];\n", 1)


def fcvt_wu_d(tree: Tree) -> None:
    call = f'"res = fcvt_64_32({CPU}->F[" + std::to_string(rs1) + "], '
    tree.replace_in_block("fcvt-wu-d", D_INSTR, "FCVT_WU_D", call + '0U, ', call + '1U, ')


def fused_multiply_add(tree: Tree) -> None:
    for width, kind, sign in ((32, "F32", "1ULL<<31"), (64, "F64", "1ULL<<63")):
        setup = "    softfloat_roundingMode=rmm_map[mode&0x7];\n    softfloat_exceptionFlags=0;\n"
        old = ("    // op should be {softfloat_mulAdd_subProd(2), softfloat_mulAdd_subC(1)}\n" + setup
               + f"    float{width}_t res = softfloat_mulAdd{kind}(v1, v2, v3, op&0x1);\n"
               f"    if(op>1) res.v ^= {sign};\n")
        new = ("    // op: 0 fmadd, 1 fmsub, 2 fnmadd, 3 fnmsub. The operands' signs change, never\n"
               "    // the rounded result's (an exact zero's sign, directed rounding).\n" + setup
               + f"    if(op==2 || op==3) v1 ^= {sign};  // -(a*b)\n"
               f"    if(op==1 || op==2) v3 ^= {sign};  // -c\n"
               f"    float{width}_t res = softfloat_mulAdd{kind}(v1, v2, v3, 0);\n")
        tree.replace("fused-multiply-add", FP_FUNCTIONS, old, new, 1)


def accrued_flags(tree: Tree) -> None:
    old = f"({CPU}->FCSR & -32U) | (flags & 31U)"
    for rel in (F_INSTR, D_INSTR):
        # arithmetic (9), fmin/fmax, feq/flt/fle, fcvt.{w,wu}
        tree.replace("accrued-flags", rel, old, f"{CPU}->FCSR | (flags & 31U)", 16)


def conversion_flags(tree: Tree) -> None:
    for function in ("uint32_t fconv_d2f(uint64_t v1, uint8_t mode){\n",
                     "uint64_t fconv_f2d(uint32_t v1, uint8_t mode){\n"):
        tree.replace("conversion-flags", FP_FUNCTIONS, function,
                     function + "    softfloat_exceptionFlags=0;\n", 1)
    # after the line writing the result register
    single = emits(f"{CPU}->F[{RD}] = -4294967296UL | (etiss_uint64)(res);")
    for block in ("FCVT_S_W", "FCVT_S_WU"):
        tree.replace_in_block("conversion-flags", F_INSTR, block, single, single + RECORD_FLAGS)
    narrowed = emits(f"{CPU}->F[{RD}] = -4294967296UL + res;")
    tree.replace_in_block("conversion-flags", D_INSTR, "FCVT_S_D", narrowed, narrowed + RECORD_FLAGS)
    widened = emits(f"{CPU}->F[{RD}] = res;")
    tree.replace_in_block("conversion-flags", D_INSTR, "FCVT_D_S", widened, widened + RECORD_FLAGS)


def nan_boxing(tree: Tree) -> None:
    tree.replace("nan-boxing", D_INSTR, f"fconv_f2d((etiss_uint64)({CPU}->F[",
                 f"fconv_f2d(unbox_s({CPU}->F[", 1)


FIXES = (dynamic_rounding, conversion_rm, int_to_float_rm, fcvt_wu_d, fused_multiply_add,
         accrued_flags, conversion_flags, nan_boxing)


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: rv32_fp_semantics.py ETISS_TREE", file=sys.stderr)
        return 2
    tree = Tree(Path(argv[0]))
    try:
        for fix in FIXES:
            fix(tree)
    except FixError as exc:
        print(f"rv32_fp_semantics: {exc}: ETISS is not the version these fixes were written for",
              file=sys.stderr)
        return 1
    tree.write()
    print(f"rv32_fp_semantics: {len(FIXES)} fixes applied")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
