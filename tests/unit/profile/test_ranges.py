"""Profile ranges of the qemu image (mcuorch_qemu.profile): what the plugin's ranges= file says."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

QEMU_IMAGE = Path(__file__).resolve().parents[3] / "images" / "qemu"
sys.path.insert(0, str(QEMU_IMAGE))
_write_bytecode, sys.dont_write_bytecode = sys.dont_write_bytecode, True
from mcuorch_qemu.elf import ElfImage, Function  # noqa: E402
from mcuorch_qemu.profile import ProfileError, describe, function_ranges, write_ranges  # noqa: E402

sys.dont_write_bytecode = _write_bytecode


def image(*functions: Function) -> ElfImage:
    return ElfImage(bits=32, machine=243, sections=(), symbols={f.name: f.addr for f in functions},
                    functions=functions)


def test_each_name_gets_an_id_in_order_and_gcc_clones_join_their_function() -> None:
    elf = image(Function("k_conv", 0x100, 0x40), Function("k_pool", 0x200, 0x10),
                Function("k_conv.part.0", 0x300, 0x20), Function("k_conv_2", 0x400, 0x8))
    rows = function_ranges(elf, ["k_pool", "k_conv"])
    assert rows == [(0, 0x200, 0x200, 0x210), (1, 0x100, 0x100, 0x140), (1, 0x100, 0x300, 0x320)]
    assert describe(["k_pool", "k_conv"], rows)[1] == {"name": "k_conv",
                                                       "ranges": [["0x100", "0x140"], ["0x300", "0x320"]]}


def test_ranges_file_has_one_hex_line_per_range(tmp_path: Path) -> None:
    write_ranges([(0, 0x200, 0x200, 0x210), (1, 0x100, 0x300, 0x320)], tmp_path / "r.txt")
    assert (tmp_path / "r.txt").read_text() == "0 200 200 210\n1 100 300 320\n"


def test_missing_function_and_overlapping_ranges_are_refused() -> None:
    with pytest.raises(ProfileError, match="'k_gone' is not in the ELF"):
        function_ranges(image(Function("k_a", 0x100, 0x10)), ["k_gone"])
    with pytest.raises(ProfileError, match="overlap at 0x108"):
        function_ranges(image(Function("k_a", 0x100, 0x10), Function("k_b", 0x108, 0x10)), ["k_a", "k_b"])
