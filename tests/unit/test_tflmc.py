"""Backend tflmc without Docker: the image-side logic of images/tumeda-tflm (link closure from
object symbols, subgraph count, flavour files, the adapter, the BUILD command with stand-in host
tools) and the host-side checks."""

from __future__ import annotations

import json
import stat
import struct
import sys
from pathlib import Path

import pytest

from orchestrator.components.registry import builtin_registry
from orchestrator.environment import load_environment
from orchestrator.errors import ConfigError
from orchestrator.matrix import MatrixBuilder, MatrixRequest
from tests.unit.test_cxx_selection import CXX_IMAGES, compile_images

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "images" / "tumeda-tflm"))
from mcuorch_tflm import cli, tflmc  # noqa: E402
from mcuorch_tflm.common import FLAVOURS, CodegenError  # noqa: E402
from mcuorch_tflm.index import closure, link_deps, object_path, object_symbols  # noqa: E402

NM = """\
_ZN6tflite16Register_CONV_2DEv T 0000000000000000 0000000000000020
_ZN6tflite10MicroPrintfEPKcz U
_ZN6tflite14GetTensorShapeEPK16TfLiteEvalTensor U
_ZNK6tflite12RuntimeShape4DimsEi W 0000000000000000 0000000000000010
__gxx_personality_v0 w
memcpy U
"""


def test_object_symbols_sorts_strong_weak_and_undefined() -> None:
    strong, weak, undefined = object_symbols(NM)
    assert strong == {"_ZN6tflite16Register_CONV_2DEv"}
    assert weak == {"_ZNK6tflite12RuntimeShape4DimsEi"}
    assert undefined == {"_ZN6tflite10MicroPrintfEPKcz", "_ZN6tflite14GetTensorShapeEPK16TfLiteEvalTensor", "memcpy"}


def test_link_deps_prefer_strong_definitions_and_ignore_foreign_symbols() -> None:
    symbols = {
        "conv.cc": ({"reg_conv"}, set(), {"print", "shape", "memcpy", "tmpl"}),
        "micro_log.cc": ({"print"}, set(), {"debug_log"}),
        "debug_log.cc": ({"debug_log"}, set(), {"vfprintf"}),
        "kernel_util.cc": ({"shape"}, {"tmpl"}, set()),
        "explicit.cc": ({"tmpl"}, set(), set()),
        "micro_interpreter.cc": ({"invoke"}, set(), {"print", "reg_conv"}),
    }
    deps = link_deps(symbols)
    assert deps["conv.cc"] == ["explicit.cc", "kernel_util.cc", "micro_log.cc"]
    assert deps["debug_log.cc"] == []
    # The closure of what a kernel needs leaves out whatever only refers to it.
    assert closure(deps, ["conv.cc"]) == ["conv.cc", "debug_log.cc", "explicit.cc", "kernel_util.cc",
                                          "micro_log.cc"]
    assert "micro_interpreter.cc" in closure(deps, ["micro_interpreter.cc"])


def test_object_path_from_either_compile_database() -> None:
    entry = {"directory": "/b", "file": "/t/x.cc", "command": "c++ -DX -o CMakeFiles/t.dir/x.cc.o -c /t/x.cc"}
    assert object_path(entry) == "CMakeFiles/t.dir/x.cc.o"  # CMake < 3.26 (Debian bookworm)
    assert object_path(dict(entry, output="CMakeFiles/u.dir/x.cc.o")) == "CMakeFiles/u.dir/x.cc.o"


def _model_with_subgraphs(count: int) -> bytes:
    """The smallest flatbuffer with a Model table whose field 2 (subgraphs) has `count` entries."""
    vtable = struct.pack("<HHHHH", 10, 8, 0, 0, 4) + b"\0\0"  # at 4: fields 0, 1 absent, 2 at +4
    table = struct.pack("<iI", 16 - 4, 24 - 20)  # at 16: soffset to the vtable, vector at 24
    vector = struct.pack("<I", count) + struct.pack("<I", 0) * count
    return struct.pack("<I", 16) + vtable + table + vector


def test_subgraph_count() -> None:
    assert tflmc.subgraph_count((REPO / "models" / "aww" / "model.tflite").read_bytes()) == 1
    assert tflmc.subgraph_count(_model_with_subgraphs(1)) == 1
    assert tflmc.subgraph_count(_model_with_subgraphs(3)) == 3
    with pytest.raises(CodegenError, match="not a valid TFLite flatbuffer"):
        tflmc.subgraph_count(b"\x40\0\0\0")


def _flavours(*sources: str) -> list[tflmc.Flavour]:
    """cmsisnn's flavours (MVE, DSP, portable) with these generated sources."""
    return [tflmc.Flavour(name, condition, source, 100 + i)
            for i, ((name, condition), source) in enumerate(zip(FLAVOURS["cmsisnn"], sources))]


def test_flavour_files_share_equal_code() -> None:
    assert tflmc.file_names(_flavours("A", "A", "A")) == {
        "cmsis_nn": "model.cc", "cmsis_nn_dsp": "model.cc", "cmsis_nn_mve": "model.cc"}
    assert tflmc.file_names(_flavours("B", "B", "A")) == {
        "cmsis_nn": "model.cc", "cmsis_nn_dsp": "model_dsp.cc", "cmsis_nn_mve": "model_dsp.cc"}
    assert tflmc.file_names(_flavours("C", "B", "A")) == {
        "cmsis_nn": "model.cc", "cmsis_nn_dsp": "model_dsp.cc", "cmsis_nn_mve": "model_mve.cc"}


META = {"name": "toy", "ops": {"CONV_2D": 2, "RESHAPE": 1},
        "inputs": [{"name": "in", "dtype": "int8"}], "outputs": [{"name": "out", "dtype": "int8"}]}


def test_adapter_selects_the_flavour_the_compiler_would() -> None:
    flavours = _flavours("C", "B", "A")
    source = tflmc.adapter_source(META, "cmsisnn", flavours, tflmc.file_names(flavours))
    select = source[source.index("#if"):source.index("#endif")]
    assert select.index("__ARM_FEATURE_MVE") < select.index('"model_mve.cc"') < select.index("__ARM_FEATURE_DSP") \
        < select.index('"model_dsp.cc"') < select.index("#else") < select.index('"model.cc"')
    same = _flavours("A", "A", "A")
    plain = tflmc.adapter_source(META, "cmsisnn", same, tflmc.file_names(same))
    assert "#if" not in plain and plain.count('#include "model.cc"') == 1
    assert 'mcuorch_report_uint("Arena Size", (uint32_t)kTensorArenaSize)' in plain


def test_compiler_error_names_the_reason() -> None:
    stderr = "Didn't find op for builtin opcode 'FOO'\nFailed to get registration\nCould not set up compiler\n"
    assert tflmc.compiler_error(stderr, 1) == "tflite_micro_compiler failed: Didn't find op for builtin opcode 'FOO'"
    assert tflmc.compiler_error("", 139) == "tflite_micro_compiler failed: exit code 139"


# ---- the BUILD command, with stand-ins for the host tools of the image ---------------------------

FAKE_TFLMC = """#!{python}
import sys
from pathlib import Path
model, out, prefix = sys.argv[1:]
arena = {arena}
Path(out).write_text("// generated\\nconstexpr int kTensorArenaSize = %d;\\n" % arena)
Path(out + ".h").write_text("TfLiteStatus " + prefix + "init();\\n")
"""
FAKE_ARENA = """#!{python}
print('{{"arena_used_bytes": 1, "arena_min_bytes": {arena}, "inputs": 1, "outputs": 1}}')
"""


def _tool(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    path.chmod(path.stat().st_mode | stat.S_IXUSR)


@pytest.fixture()
def tflm_dir(tmp_path: Path) -> Path:
    """An image's /opt/tflm in small: trees with a few files, an index, stand-in host tools whose
    arenas differ by flavour as CMSIS-NN's scratch buffers make them."""
    root = tmp_path / "opt-tflm"
    arenas = {"reference": 800, "cmsis_nn": 800, "cmsis_nn_dsp": 960, "cmsis_nn_mve": 960, "muriscvnn": 800,
              "muriscvnn_vext": 1100}
    for flavour, arena in arenas.items():
        _tool(root / "bin" / f"tflmc-{flavour}", FAKE_TFLMC.format(python=sys.executable, arena=arena))
        _tool(root / "bin" / f"mcuorch-tflm-arena-{flavour}",
              FAKE_ARENA.format(python=sys.executable, arena=arena + 1000))
    k = "tensorflow/lite/micro/kernels"
    files = [f"{k}/conv.cc", f"{k}/conv_common.cc", f"{k}/reshape.cc", f"{k}/kernel_util.cc",
             "tensorflow/lite/micro/micro_context.cc", "tensorflow/lite/micro/micro_log.cc",
             "tensorflow/lite/micro/micro_interpreter.cc", "tensorflow/lite/micro/micro_allocator.cc"]
    links = {f"{k}/conv.cc": [f"{k}/conv_common.cc", f"{k}/kernel_util.cc"],
             f"{k}/kernel_util.cc": ["tensorflow/lite/micro/micro_log.cc"],
             "tensorflow/lite/micro/micro_interpreter.cc": ["tensorflow/lite/micro/micro_allocator.cc"]}
    index = {}
    for tree in ("reference", "cmsis_nn", "muriscvnn"):
        for f in files + ["tensorflow/lite/micro/micro_context.h"]:
            (root / tree / f).parent.mkdir(parents=True, exist_ok=True)
            (root / tree / f).write_text(f"// {f}\n")
        index[tree] = {"ops": {"CONV_2D": {"add": "AddConv2D", "files": [f"{k}/conv.cc", f"{k}/conv_common.cc"]},
                               "RESHAPE": {"add": "AddReshape", "files": [f"{k}/reshape.cc"]}},
                       "core": files[3:], "links": links}
    (root / "index.json").write_text(json.dumps(index))
    return root


def _build(tmp_path: Path, tflm_dir: Path, *argv: str, meta: dict = META,
           model: bytes | None = None) -> tuple[int, Path]:
    """mcuorch-tflmc on the bundled aww model (or `model`) with `meta` as its model.json."""
    out = tmp_path / "out"
    out.mkdir(exist_ok=True)
    (tmp_path / "model.tflite").write_bytes(model or (REPO / "models" / "aww" / "model.tflite").read_bytes())
    (tmp_path / "model.json").write_text(json.dumps(meta))
    code = cli.main_tflmc(["--model", str(tmp_path / "model.tflite"), "--meta", str(tmp_path / "model.json"),
                           "--out", str(out), "--tflm-dir", str(tflm_dir), *argv])
    return code, out


def test_tflmc_build_writes_the_codegen_directory(tmp_path: Path, tflm_dir: Path) -> None:
    code, out = _build(tmp_path, tflm_dir)
    assert code == 0
    codegen = out / "codegen"
    assert sorted(p.name for p in codegen.iterdir()) == [
        "mcuorch.cmake", "mcuorch_model.h", "model.cc", "model.cc.h", "tflm", "tflmc.json", "tflmc_model.cc"]
    # Only what the generated code links: the kernels, their helpers, MicroContext; no interpreter.
    assert (codegen / "tflm" / "sources.txt").read_text().split() == [
        "tensorflow/lite/micro/kernels/conv.cc", "tensorflow/lite/micro/kernels/conv_common.cc",
        "tensorflow/lite/micro/kernels/kernel_util.cc", "tensorflow/lite/micro/kernels/reshape.cc",
        "tensorflow/lite/micro/micro_context.cc", "tensorflow/lite/micro/micro_log.cc"]
    assert not (codegen / "tflm" / "tensorflow/lite/micro/micro_interpreter.cc").exists()
    assert (codegen / "tflm" / "tensorflow/lite/micro/micro_context.h").exists()
    assert "tflmc_model.cc" in (codegen / "mcuorch.cmake").read_text()
    assert "int mcuorch_model_init(void);" in (codegen / "mcuorch_model.h").read_text()
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["Arena Size"] == 800 and metrics["Runtime Sources"] == 6 and metrics["Kernels"] == "reference"


def test_tflmc_cmsisnn_keeps_one_file_per_distinct_flavour(tmp_path: Path, tflm_dir: Path) -> None:
    code, out = _build(tmp_path, tflm_dir, "--kernels", "cmsisnn")
    assert code == 0
    codegen = out / "codegen"
    assert sorted(p.name for p in codegen.glob("model*.cc")) == ["model.cc", "model_dsp.cc"]
    assert "= 960;" in (codegen / "model_dsp.cc").read_text() and "= 800;" in (codegen / "model.cc").read_text()
    assert json.loads((out / "metrics.json").read_text())["Arena Size"] == 960


@pytest.mark.parametrize(("meta", "model", "message"), [
    (META, _model_with_subgraphs(2), "error: toy: the model has 2 subgraphs; tflite_micro_compiler handles"),
    (dict(META, ops={"CONV_2D": 1, "WHILE": 1}), None, "error: toy: TFLite-Micro has no kernel for operator(s) WHILE"),
])
def test_tflmc_build_refuses_in_one_line(tmp_path: Path, tflm_dir: Path, meta: dict, model: bytes | None,
                                         message: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out = _build(tmp_path, tflm_dir, meta=meta, model=model)
    err = capsys.readouterr().err
    assert code == 2 and err.startswith(message) and len(err.splitlines()) == 1, err
    assert not (out / "metrics.json").exists()


def test_tflmi_arena_is_the_largest_over_the_kernels_flavours(tmp_path: Path, tflm_dir: Path) -> None:
    assert cli.measured_arena(tmp_path / "m.tflite", "reference", tflm_dir) == 1800
    assert cli.measured_arena(tmp_path / "m.tflite", "cmsisnn", tflm_dir) == 1960
    # muRISCV-NN's vector build (USE_VEXT) sizes its buffers like CMSIS-NN's MVE: larger
    assert cli.measured_arena(tmp_path / "m.tflite", "muriscvnn", tflm_dir) == 2100


def test_muriscvnn_vector_flavour_follows_the_arch_variant(tmp_path: Path, tflm_dir: Path) -> None:
    """tflmc writes the vector flavour's code under the macro a vector arch variant defines."""
    assert FLAVOURS["muriscvnn"][0] == ("muriscvnn_vext", "defined(MCUORCH_RISCV_VECTOR)")
    code, out = _build(tmp_path, tflm_dir, "--kernels", "muriscvnn")
    assert code == 0
    adapter = (out / "codegen" / "tflmc_model.cc").read_text()
    assert "defined(MCUORCH_RISCV_VECTOR)" in adapter
    assert sorted(p.name for p in (out / "codegen").glob("model*.cc")) == ["model.cc", "model_vext.cc"]
    cmake = (out / "codegen" / "mcuorch.cmake").read_text()
    assert "mcuorch_model_compile(nn_objects" in cmake and "DEFINES USE_VEXT" in cmake


# ---- host side --------------------------------------------------------------------------------

def _expand(*config: str, target: str = "spike", backend: str = "tflmc") -> None:
    MatrixBuilder(load_environment("tumeda"), builtin_registry()).expand(
        MatrixRequest(models=["aww"], backends=[backend], targets=[target], config=list(config)))


def test_tflmc_plans_and_compiles_in_the_cxx_images(models: Path) -> None:
    _expand()
    _expand("tflmc.kernels=muriscvnn")
    _expand("tflmc.kernels=cmsisnn", target="mps2_an386")
    assert compile_images("tflmc") == CXX_IMAGES


@pytest.mark.parametrize(("config", "target", "message"), [
    ("tflmc.arena_size=65536", "spike", "tflmc.arena_size cannot be set"),
    ("tflmc.kernels=muriscvnn", "mps2_an386", "tflmc.kernels=muriscvnn needs a RISC-V target"),
])
def test_tflmc_refuses_what_it_cannot_do(config: str, target: str, message: str, models: Path) -> None:
    with pytest.raises(ConfigError, match=message):
        _expand(config, target=target)


def test_tflmi_keeps_its_arena_size(models: Path) -> None:
    _expand("tflmi.arena_size=65536", backend="tflmi")
