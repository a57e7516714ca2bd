"""How to start QEMU for each board the targets name (sw/targets/*.json: run.board).

Board names are QEMU machine names. Which QEMU binary runs an ELF follows from the ELF's
machine and class, so a board entry only lists what differs between boards.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .elf import EM_ARM, EM_RISCV


@dataclass(frozen=True)
class Board:
    machine: str
    binaries: dict[tuple[int, int], str]  # (ELF machine, bits) -> QEMU system emulator
    extra_args: tuple[str, ...] = field(default=())


BOARDS: dict[str, Board] = {
    # -bios none: load the ELF at 0x80000000 instead of OpenSBI.
    "virt": Board(
        "virt",
        {(EM_RISCV, 32): "qemu-system-riscv32", (EM_RISCV, 64): "qemu-system-riscv64"},
        ("-bios", "none"),
    ),
    # QEMU's model of Spike's platform (HTIF at the ELF's tohost/fromhost): runs the ELFs of
    # the `spike` target, so both simulators can count the same program.
    "spike": Board(
        "spike",
        {(EM_RISCV, 32): "qemu-system-riscv32", (EM_RISCV, 64): "qemu-system-riscv64"},
        ("-bios", "none"),
    ),
    "mps3-an547": Board("mps3-an547", {(EM_ARM, 32): "qemu-system-arm"}),
    "mps2-an386": Board("mps2-an386", {(EM_ARM, 32): "qemu-system-arm"}),
    "mps2-an385": Board("mps2-an385", {(EM_ARM, 32): "qemu-system-arm"}),
}


class BoardError(Exception):
    """Unknown board, or an ELF the board cannot run."""


def qemu_binary(board: str, machine: int, bits: int) -> tuple[Board, str]:
    """The board entry and the QEMU binary that runs an ELF of this machine/class on it."""
    entry = BOARDS.get(board)
    if entry is None:
        raise BoardError(f"unknown board '{board}' (known: {', '.join(sorted(BOARDS))})")
    binary = entry.binaries.get((machine, bits))
    if binary is None:
        raise BoardError(f"board '{board}' cannot run a {bits}-bit ELF for machine {machine}")
    return entry, binary
