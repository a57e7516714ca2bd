"""ROM split by origin on a synthetic GNU ld map: parsing, classification, and the invariant
that the buckets add up to Total ROM whatever the map leaves out or lists twice."""

from __future__ import annotations

import pytest

from orchestrator.metrics.elf_memory import SectionUse, StaticMemory
from orchestrator.metrics.link_map import InputSection, parse_link_map
from orchestrator.metrics.rom_origin import classify, model_root
from orchestrator.metrics.rom_split import rom_split

CODEGEN = "CMakeFiles/app.dir/home/me/tensorflow/jobs/BUILD/ab12/outputs/codegen/"
PICO = "/usr/lib/picolibc/riscv64-unknown-elf/lib/rv32imafdc/ilp32d/"

# The shapes GNU ld 2.40 writes: long input names on their own line, `*fill*`, symbol and
# assignment lines, "size before relaxing" notes, `load address`, a discarded-sections list
# before the map proper (whose entries must not count).
MAP = f"""\
Discarded input sections

 .text.unused   0x00000000       0x40 {CODEGEN}mcuorch_model.c.obj

Memory Configuration

Linker script and memory map

LOAD {PICO}crt0-semihost.o
                0x80000000                        __flash = 0x80000000

.init           0x80000000       0x40
 *(.text.init.enter)
 .text.init.enter
                0x80000000       0x36 {PICO}crt0-semihost.o
                0x80000000                _start
 *fill*         0x80000036        0xa 

.text           0x80000040      0x1c0
 .text.main     0x80000040       0x40 CMakeFiles/app.dir/harness/main.c.obj
                0x80000040                main
 .text.tvmgen_default_fused_conv2d
                0x80000080       0x60 {CODEGEN}mcuorch_kernels.c.obj
 .text.TVMArrayAlloc
                0x800000e0       0x20 {CODEGEN}crt/common/ndarray.c.obj
 .text.memcpy   0x80000100       0x10 {PICO}libc.a(memcpy-asm.S.o)
 .text._ZN6tflite12MicroInterpreter6InvokeEv
                0x80000110       0x30 libtflm.a(micro_interpreter.cc.obj)
 .rodata.str1.4
                0x80000140       0x20 CMakeFiles/app.dir/harness/main.c.obj
                                 0x23 (size before relaxing)
 .rodata.str1.4
                0x80000150       0x10 {PICO}libc.a(vfprintf.c.o)
 .rodata.weights_0
                0x80000160       0x80 {CODEGEN}mcuorch_model.c.obj
 .srodata.cst8  0x800001e0       0x8 {CODEGEN}mcuorch_kernels.c.obj
                0x80000200                        . = ALIGN (0x8)

.data           0x81000000       0x10 load address 0x80000200
 .data.table    0x81000000        0xc {CODEGEN}mcuorch_model.c.obj

.bss            0x81000010      0x100
 .bss.arena     0x81000010      0x100 {CODEGEN}mcuorch_model.c.obj

.mcuorch_golden
                0x80000210       0x20
 .mcuorch_golden
                0x80000210       0x20 CMakeFiles/app.dir/mcuorch_golden_data.S.obj

.comment        0x00000000       0x1a
 .comment       0x00000000       0x1a CMakeFiles/app.dir/harness/main.c.obj
OUTPUT(app.elf elf32-littleriscv)
"""


def test_parse_link_map_reads_placed_input_sections_only() -> None:
    sections = parse_link_map(MAP)
    assert [(s.output, s.name) for s in sections][:3] == [
        (".init", ".text.init.enter"), (".text", ".text.main"), (".text", ".text.tvmgen_default_fused_conv2d")]
    weights = next(s for s in sections if s.name == ".rodata.weights_0")
    assert (weights.address, weights.size) == (0x80000160, 0x80)
    assert weights.origin == CODEGEN + "mcuorch_model.c.obj"
    data = next(s for s in sections if s.output == ".data")
    assert (data.name, data.address, data.size) == (".data.table", 0x81000000, 0xC)
    assert not any(s.name == ".text.unused" for s in sections)  # discarded, before the map
    assert not any("fill" in s.name or s.origin.startswith("load address") for s in sections)
    assert len(sections) == 14


def test_parse_link_map_without_a_map_section() -> None:
    assert parse_link_map("Archive member included to satisfy reference by file (symbol)\n") == []


ROOT = CODEGEN.rstrip("/") + "/"
PREBUILT = "/" + CODEGEN.removeprefix("CMakeFiles/app.dir/")


@pytest.mark.parametrize(("origin", "section", "bucket"), [
    (CODEGEN + "mcuorch_model.c.obj", ".rodata.weights_0", "weights"),
    (CODEGEN + "mcuorch_model.c.obj", ".data.table", "weights"),
    (CODEGEN + "mcuorch_model.c.obj", ".srodata.mcuorch_output_dtype", "weights"),
    (CODEGEN + "mcuorch_kernels.c.obj", ".text.fused_conv2d", "kernels"),
    (CODEGEN + "mcuorch_kernels.c.obj", ".srodata.cst8", "kernels"),  # the code's literal pool
    (CODEGEN + "mcuorch_kernels.c.obj", ".rodata.fused_conv2d.str1.1", "kernels"),
    (CODEGEN + "mcuorch_kernels.c.obj", ".eh_frame", "kernels"),
    (CODEGEN + "crt/common/ndarray.c.obj", ".text.TVMArrayAlloc", "runtime"),
    # A prebuilt object of the generated code (tvmllvm's LLVM object), named by its absolute path.
    (PREBUILT + "model/default_lib0.o", ".text", "kernels"),
    (PREBUILT + "model/default_lib0.o", ".rodata", "weights"),
    (PREBUILT + "crt/prebuilt_runtime.o", ".text", "runtime"),
    ("/home/me/elsewhere/model/default_lib0.o", ".text", "runtime"),
    (CODEGEN + "crt/graph_executor/load_json.c.obj", ".rodata.keys", "runtime"),
    ("libtflm.a(micro_interpreter.cc.obj)", ".text.Invoke", "runtime"),
    ("CMakeFiles/tflm.dir/codegen/tflm/tensorflow/lite/micro/kernels/conv.cc.obj", ".text.Eval", "runtime"),
    (PICO + "libc.a(memcpy-asm.S.o)", ".text.memcpy", "libc"),
    (PICO + "libsemihost.a(sys_putc.c.o)", ".text.sys_semihost_putc", "libc"),
    ("/usr/lib/gcc/riscv64-unknown-elf/12.2.0/rv32imafdc/ilp32d/libgcc.a(save-restore.o)", ".text", "libc"),
    ("/usr/lib/x86_64-linux-gnu/libc_nonshared.a(atexit.oS)", ".text.atexit", "libc"),
    ("/usr/lib/arm-none-eabi/lib/libstdc++.a(new_op.o)", ".text._Znwj", "libc"),
    (PICO + "crt0-semihost.o", ".text.init.enter", "harness"),
    ("/usr/lib/gcc/x86_64-linux-gnu/12/crtbeginS.o", ".text", "harness"),
    ("/usr/lib/x86_64-linux-gnu/Scrt1.o", ".note.ABI-tag", "harness"),
    ("CMakeFiles/app.dir/harness/main.c.obj", ".text.main", "harness"),
    ("CMakeFiles/app.dir/harness/main.c.obj", ".rodata.main.str1.4", "harness"),
    # Sections the linker writes, credited by the map to the first object it read.
    ("/usr/lib/x86_64-linux-gnu/Scrt1.o", ".dynsym", "other"),
    ("/usr/lib/x86_64-linux-gnu/Scrt1.o", ".rela.plt", "other"),
    ("/usr/lib/x86_64-linux-gnu/Scrt1.o", ".got.plt", "other"),
    ("/usr/lib/x86_64-linux-gnu/Scrt1.o", ".eh_frame_hdr", "other"),
    ("", ".text", "other"),
])
def test_classify(origin: str, section: str, bucket: str) -> None:
    assert classify(origin, section, ROOT) == bucket


def test_folders_above_the_generated_code_do_not_make_it_runtime() -> None:
    """The codegen folder lies below a user folder named `tensorflow`: still the model's code."""
    origins = [s.origin for s in parse_link_map(MAP)]
    root = model_root(origins)
    assert root == ROOT
    assert classify(CODEGEN + "mcuorch_kernels.c.obj", ".text.k", root) == "kernels"
    assert classify(CODEGEN + "mcuorch_kernels.c.obj", ".text.k", "CMakeFiles/app.dir/") == "runtime"


def _memory(*sections: tuple[str, int, int, dict[str, int]]) -> StaticMemory:
    uses = [SectionUse(name=n, address=a, size=s, rom=rom, ram={}) for n, a, s, rom in sections]
    rom = [u.rom for u in uses]
    return StaticMemory(rom_code=sum(r.get("code", 0) for r in rom),
                        rom_read_only=sum(r.get("read-only", 0) for r in rom), rom_misc=sum(r.get("misc", 0) for r in rom), ram_data=0, ram_zero_init=0,
                        rom_golden=sum(r.get("golden", 0) for r in rom), sections=uses)


def test_split_adds_up_to_total_rom() -> None:
    memory = _memory(
        (".init", 0x80000000, 0x40, {"misc": 0x40}),
        (".text", 0x80000040, 0x1C0, {"code": 0x100, "read-only": 0xC0}),
        (".data", 0x81000000, 0x10, {"misc": 0x10}),  # its image in flash
        (".mcuorch_golden", 0x80000210, 0x20, {"golden": 0x20}),
        (".vectors", 0x80000300, 0x18, {"misc": 0x18}),  # in the ELF, not in the map
    )
    split = rom_split(memory, parse_link_map(MAP))
    assert split.total == memory.total_rom == 0x40 + 0x1C0 + 0x10 + 0x18
    assert split.buckets == {
        "weights": 0x80 + 0xC,
        "kernels": 0x60 + 0x8,
        "runtime": 0x20 + 0x30,
        "libc": 0x10,  # memcpy; its string pool lies inside the harness's and is not counted again
        "harness": 0x36 + 0x40 + 0x20,
        # fill after _start, the gap after the pool, the end of .text, .data's padding, .vectors
        "other": 0xA + 0x18 + 0x4 + 0x18,
    }
    assert split.columns()["ROM weights"] == 0x8C and list(split.columns())[-1] == "ROM other"


def test_split_clips_map_entries_to_the_section() -> None:
    """A map entry reaching past the ELF section (or a map of another build) never adds bytes."""
    memory = _memory((".text", 0x80000040, 0x50, {"code": 0x50}))
    split = rom_split(memory, [InputSection(output=".text", name=".text.big", address=0x80000000, size=0x1000,
                                            origin=CODEGEN + "k.c.obj")])
    assert split.buckets["kernels"] == 0x50 and split.total == 0x50
    assert split.piece_at(0x8000008F, ".text").bucket == "kernels"
    assert split.piece_at(0x80000090, ".text") is None
