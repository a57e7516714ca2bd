"""The instruction set kernels are generated for (``--isa``, host config ``tvmaot.isa``).

An ISA string is a base name plus ``+extension`` suffixes, as the target's facts state it
(``sw/targets/<target>.json``): ``cortex-m55+mve``, ``cortex-m4+dsp``, ``rv32gc``, ``generic``.
Only two extensions change the generated kernels:

* ``dsp`` — Arm's DSP extension (Cortex-M4/M7/M33/M55): dual 16-bit multiply-accumulate
  (``SMLAD``) on sign-extended byte pairs (``SXTB16``), 4 MACs per 32-bit load pair;
* ``mve`` — Arm's M-profile Vector Extension (Helium, Cortex-M55/M85): 16 int8 MACs per
  ``VMLADAVA`` with tail predication. Every MVE core has the DSP extension too.

Anything else (RISC-V march strings, ``generic``) gets the portable scalar schedules.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..errors import UserError

_ISA = re.compile(r"^[a-z][a-z0-9_]*(\+[a-z0-9_.]+)*$")


@dataclass(frozen=True)
class Isa:
    name: str = "generic"
    dsp: bool = False
    mve: bool = False

    @property
    def simd(self) -> str | None:
        """The SIMD flavour of the dot-product helpers: ``mve``, ``dsp`` or None (scalar)."""
        return "mve" if self.mve else "dsp" if self.dsp else None


GENERIC = Isa()


def parse_isa(text: str) -> Isa:
    """``cortex-m55+mve`` -> Isa(mve=True, dsp=True); unknown extensions are ignored."""
    text = text.strip().lower()
    if not _ISA.match(text.replace("-", "_")):
        raise UserError(f"--isa: '{text}' is not an ISA name like cortex-m55+mve, cortex-m4+dsp or rv32gc")
    extensions = set(text.split("+")[1:])
    mve = "mve" in extensions or "mve.fp" in extensions
    return Isa(text, dsp=mve or "dsp" in extensions, mve=mve)
