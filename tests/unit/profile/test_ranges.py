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


def test_file_qualified_name_picks_the_local_function_of_that_object() -> None:
    # TFLite-Micro: `tflite::(anonymous)::Eval` in conv.cc and in depthwise_conv.cc, one mangled name.
    sym = "_ZN6tflite12_GLOBAL__N_14EvalEP13TfLiteContextP10TfLiteNode"
    elf = image(Function(sym, 0x100, 0x40, "conv.cc"), Function(sym + ".part.0", 0x140, 0x10, "conv.cc"),
                Function(sym, 0x200, 0x30, "depthwise_conv.cc"), Function("k_conv", 0x300, 0x8))
    rows = function_ranges(elf, [f"depthwise_conv.cc:{sym}", f"conv.cc:{sym}", "k_conv"])
    assert rows == [(0, 0x200, 0x200, 0x230), (1, 0x100, 0x100, 0x140), (1, 0x100, 0x140, 0x150),
                    (2, 0x300, 0x300, 0x308)]
    with pytest.raises(ProfileError, match="no local functions of a source file 'pool.cc'"):
        function_ranges(elf, [f"pool.cc:{sym}"])
    with pytest.raises(ProfileError, match="'conv.cc:Other' is not in the ELF"):
        function_ranges(elf, ["conv.cc:Other"])
    twice = image(Function(sym, 0x100, 0x40, "conv.cc"), Function(sym, 0x200, 0x40, "conv.cc"))
    with pytest.raises(ProfileError, match="more than one object"):
        function_ranges(twice, [f"conv.cc:{sym}"])


def test_read_elf_gives_local_functions_their_source_file(tmp_path: Path) -> None:
    """A real link (the host's g++): the STT_FILE before each object's locals names them."""
    import shutil
    import subprocess

    from mcuorch_qemu.elf import read_elf

    if shutil.which("g++") is None:
        pytest.skip("no g++ on this host")
    for name, scale in (("conv.cc", 3), ("pool.cc", 5)):
        (tmp_path / name).write_text(
            "namespace tflite { namespace { __attribute__((noinline)) int Eval(int x) { return x * %d; } }\n"
            "int (*%s)(int) = Eval; }\n" % (scale, name[:4]))
    (tmp_path / "main.cc").write_text(
        "namespace tflite { extern int (*conv)(int); extern int (*pool)(int); }\n"
        "int main() { return tflite::conv(1) + tflite::pool(2); }\n")
    elf = tmp_path / "app"
    subprocess.run(["g++", "-O2", "-o", str(elf), "conv.cc", "pool.cc", "main.cc"], cwd=tmp_path, check=True)
    functions = [f for f in read_elf(elf).functions if f.name == "_ZN6tflite12_GLOBAL__N_14EvalEi"]
    assert sorted(f.file for f in functions) == ["conv.cc", "pool.cc"]
    rows = function_ranges(read_elf(elf), ["pool.cc:_ZN6tflite12_GLOBAL__N_14EvalEi"])
    assert [lo for _, _, lo, _ in rows] == [f.addr for f in functions if f.file == "pool.cc"]
    assert next(f for f in read_elf(elf).functions if f.name == "main").file is None
