"""The instruction set kernels are generated for (``--isa``, host config ``tvmaot.isa``).

An ISA string is a base name plus ``+extension`` suffixes, as the target's facts state it
(``sw/targets/<target>.json``): ``cortex-m55+mve``, ``cortex-m4+dsp``, ``rv32gc``, ``generic``.
Three extensions change the generated kernels:

* ``dsp`` — Arm's DSP extension (Cortex-M4/M7/M33/M55): dual 16-bit multiply-accumulate
  (``SMLAD``) on sign-extended byte pairs (``SXTB16``), 4 MACs per 32-bit load pair;
* ``mve`` — Arm's M-profile Vector Extension (Helium, Cortex-M55/M85): 16 int8 MACs per
  ``VMLADAVA`` with tail predication. Every MVE core has the DSP extension too;
* ``v`` of a RISC-V march string (``rv32gcv``) — the vector extension 1.0 (RVV): byte products
  widened to int16 (``vwmul``) and summed into int32 (``vwredsum``), as many lanes per
  instruction as the core's vector length holds (``vsetvl``), no tail loop.

Anything else (other RISC-V march strings, ``generic``) gets the portable scalar schedules.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..errors import UserError

_ISA = re.compile(r"^[a-z][a-z0-9_]*(\+[a-z0-9_.]+)*$")
# rv32/rv64, single-letter extensions (g = imafd), then `_`-separated multi-letter ones
_MARCH = re.compile(r"^rv(32|64)([a-z]*)((_[a-z0-9]+)*)$")


@dataclass(frozen=True)
class Isa:
    name: str = "generic"
    dsp: bool = False
    mve: bool = False
    rvv: bool = False

    @property
    def simd(self) -> str | None:
        """The SIMD flavour of the dot-product helpers: ``mve``, ``dsp``, ``rvv`` or None (scalar)."""
        return "mve" if self.mve else "dsp" if self.dsp else "rvv" if self.rvv else None


GENERIC = Isa()


def parse_isa(text: str) -> Isa:
    """``cortex-m55+mve`` -> Isa(mve=True, dsp=True), ``rv32gcv`` -> Isa(rvv=True); unknown
    extensions are ignored."""
    text = text.strip().lower()
    if not _ISA.match(text.replace("-", "_")):
        raise UserError(f"--isa: '{text}' is not an ISA name like cortex-m55+mve, cortex-m4+dsp or rv32gc")
    extensions = set(text.split("+")[1:])
    mve = "mve" in extensions or "mve.fp" in extensions
    march = _MARCH.match(text.split("+")[0])
    rvv = bool(march) and "v" in march.group(2)  # type: ignore[union-attr]
    return Isa(text, dsp=mve or "dsp" in extensions, mve=mve, rvv=rvv)
