"""The BUILD command as a process: outputs, errors, determinism, portability of the C."""

from __future__ import annotations

import json
import math
import subprocess
from pathlib import Path

import pytest
from support import CFLAGS, DATA, run_build, which, write_meta

pytestmark = pytest.mark.skipif(
    not __import__("support").have_tvm(), reason="needs apache-tvm (image tvm)"
)

MODEL = DATA / "ops" / "small_classifier.tflite"
# Everything the generated objects may leave undefined: libm, and the memset/memcpy that C
# compilers emit for array loops even in freestanding code (nothing of TVM).
LIBM = {"expf", "nearbyintf", "floorf", "ceilf", "roundf", "fabsf", "sqrtf", "logf", "powf",
        "fmaxf", "fminf", "tanhf", "memset", "memcpy"}
# Compiler runtime helpers for soft-float / multiply on cores without those instructions.
SOFT_FLOAT_PREFIXES = ("__aeabi_f", "__aeabi_i2f", "__aeabi_ui2f", "__addsf", "__subsf",
                       "__mulsf", "__divsf", "__fix", "__float", "__gtsf", "__ltsf", "__gesf",
                       "__lesf", "__eqsf", "__nesf", "__unordsf", "__mulsi3", "__aeabi_fcmp")


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("build") / "out"
    result = run_build(MODEL, out, name="small_classifier")
    assert result.returncode == 0, result.stderr
    return out


def test_outputs(built: Path):
    codegen = built / "codegen"
    assert sorted(p.name for p in codegen.iterdir()) == [
        "mcuorch_kernels.c", "mcuorch_kernels.h", "mcuorch_model.c", "mcuorch_model.h"]
    metrics = json.loads((built / "metrics.json").read_text())
    for key in ("Arena Size", "Weights Size", "Kernel Count", "Generation Time [s]"):
        assert isinstance(metrics[key], (int, float)) and metrics[key] >= 0, key
    # conv, depthwise, conv, avgpool, reshape+fc (reshape inlined), softmax
    assert metrics["Kernel Count"] == 6
    plan = json.loads((built / "memory_plan.json").read_text())
    assert plan["arena_size"] == metrics["Arena Size"]
    roles = [t["role"] for t in plan["tensors"]]
    assert "input 0" in roles and "output 0" in roles
    for t in plan["tensors"]:
        assert 0 <= t["offset"] and t["offset"] + t["size"] <= plan["arena_size"]
        assert t["first_use"] <= t["last_use"]
    out = next(t for t in plan["tensors"] if t["role"] == "output 0")
    assert out["last_use"] == len(plan["steps"])  # outputs stay untouched after invoke


def test_steps_name_layer_op_macs_and_shapes(built: Path):
    """What a profile (-f profile) labels kernels with: the layer, its operator and MACs."""
    steps = json.loads((built / "memory_plan.json").read_text())["steps"]
    assert [s["op"] for s in steps][0] == "CONV_2D" and steps[-1]["op"] == "SOFTMAX"
    assert len({s["name"] for s in steps}) == len(steps)
    for step in steps:
        assert step["name"].startswith(step["op"].lower() + "_")
        assert len(step["input_shapes"]) == len(step["inputs"]) and step["output_shape"]
        out_elements = math.prod(step["output_shape"])
        if step["op"] in ("CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED"):
            # every output element takes the same taps (padded ones included, as TFLite counts)
            assert step["macs"] > 0 and step["macs"] % out_elements == 0
        elif step["op"] in ("AVERAGE_POOL_2D", "SOFTMAX"):
            assert step["macs"] == 0


def test_header_is_the_contract(built: Path):
    header = (built / "codegen" / "mcuorch_model.h").read_text()
    for line in (
        "#define MCUORCH_NUM_INPUTS  1",
        "#define MCUORCH_NUM_OUTPUTS 1",
        "extern const int mcuorch_output_dtype[MCUORCH_NUM_OUTPUTS];",
        "int mcuorch_model_init(void);",
        "int mcuorch_model_invoke(void);",
        "void *mcuorch_model_input(size_t i);",
        "size_t mcuorch_model_input_bytes(size_t i);",
        "const void *mcuorch_model_output(size_t i);",
        "size_t mcuorch_model_output_bytes(size_t i);",
    ):
        assert line in header
    assert "mcuorch_k" not in header  # kernels are not part of the harness API


def test_deterministic(tmp_path: Path, built: Path):
    again = tmp_path / "again"
    assert run_build(MODEL, again, name="small_classifier").returncode == 0
    for path in sorted((built / "codegen").iterdir()):
        assert (again / "codegen" / path.name).read_bytes() == path.read_bytes(), path.name
    assert (again / "memory_plan.json").read_bytes() == (built / "memory_plan.json").read_bytes()


def _undefined(objects: list[Path], nm: str = "nm") -> set[str]:
    """Symbols the objects need from outside themselves (after resolving among them)."""
    out = subprocess.run([nm, *map(str, objects)], capture_output=True, text=True,
                         check=True).stdout
    undefined, defined = set(), set()
    for line in out.splitlines():
        parts = line.split()
        if len(parts) >= 2 and not line.endswith(":"):
            (undefined if parts[-2] == "U" else defined).add(parts[-1])
    return undefined - defined


def _compile_objects(cc: list[str], codegen: Path, tmp: Path) -> list[Path]:
    objs = []
    for src in sorted(codegen.glob("*.c")):
        obj = tmp / (src.stem + ".o")
        result = subprocess.run([*cc, *CFLAGS, "-c", str(src), "-o", str(obj)],
                                capture_output=True, text=True)
        assert result.returncode == 0 and not result.stderr, result.stderr
        objs.append(obj)
    return objs


def test_host_objects_need_only_libm(built: Path, tmp_path: Path):
    objs = _compile_objects(["gcc"], built / "codegen", tmp_path)
    assert _undefined(objs) <= LIBM


TARGETS = {
    "rv32gc": ["riscv64-unknown-elf-gcc", "-march=rv32gc", "-mabi=ilp32d"],
    "rv32imc": ["riscv64-unknown-elf-gcc", "-march=rv32imc", "-mabi=ilp32"],
    "cortex-m55": ["arm-none-eabi-gcc", "-mcpu=cortex-m55", "-mthumb", "-mfloat-abi=hard"],
    "cortex-m4f": ["arm-none-eabi-gcc", "-mcpu=cortex-m4", "-mthumb", "-mfloat-abi=hard",
                   "-mfpu=fpv4-sp-d16"],
    "cortex-m3": ["arm-none-eabi-gcc", "-mcpu=cortex-m3", "-mthumb"],
}


@pytest.mark.parametrize("target", sorted(TARGETS))
def test_cross_compiles_without_warnings(target: str, built: Path, tmp_path: Path):
    cc = TARGETS[target]
    if which(cc[0]) is None:
        pytest.skip(f"{cc[0]} not installed")
    objs = _compile_objects([*cc, "--specs=picolibc.specs"], built / "codegen", tmp_path)
    nm = cc[0].replace("gcc", "nm")
    missing = _undefined(objs, nm) - LIBM
    assert all(sym.startswith(SOFT_FLOAT_PREFIXES) for sym in missing), missing


def _one_line_error(result: subprocess.CompletedProcess) -> str:
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ")
    return lines[0]


def test_unsupported_operator(tmp_path: Path):
    model = DATA / "unsupported_log_softmax.tflite"
    result = run_build(model, tmp_path / "out", name="log_softmax")
    assert result.returncode == 2
    line = _one_line_error(result)
    assert line.startswith("error: log_softmax: unsupported operator LOG_SOFTMAX")
    assert "Traceback" not in result.stdout + result.stderr


def test_unsupported_operator_verbose_has_traceback(tmp_path: Path):
    result = run_build(DATA / "unsupported_log_softmax.tflite", tmp_path / "out", "--verbose")
    assert result.returncode == 2
    assert "Traceback" in result.stderr
    assert result.stderr.splitlines()[-1].startswith("error: ")


@pytest.mark.parametrize("content", [b"", b"not a model at all", None])
def test_invalid_model_file(tmp_path: Path, content: bytes | None):
    bad = tmp_path / "model.tflite"
    bad.write_bytes(MODEL.read_bytes()[:400] if content is None else content)
    meta = write_meta(MODEL, tmp_path / "model.json", "broken")
    result = run_build(bad, tmp_path / "out", meta=meta)
    assert result.returncode == 2
    assert _one_line_error(result).startswith("error: broken: ")


def test_meta_must_match_model(tmp_path: Path):
    meta = write_meta(DATA / "ops" / "fc_relu.tflite", tmp_path / "model.json", "mixed")
    result = run_build(MODEL, tmp_path / "out", meta=meta)
    assert result.returncode == 2
    assert "model.json input 0" in _one_line_error(result)


def test_bad_option_is_a_usage_error(tmp_path: Path):
    result = run_build(MODEL, tmp_path / "out", "--arena-alignment", "3")
    assert result.returncode == 2
    assert "power of two" in result.stderr


def test_help_documents_options(tmp_path: Path):
    result = run_build(MODEL, tmp_path / "out", "--help")
    assert result.returncode == 0
    for option in ("--opt-level", "--unroll-reduction", "--arena-alignment", "--fuse-epilogues"):
        assert option in result.stdout


def test_crash_inside_tvm_is_one_line_internal_error(tmp_path: Path, monkeypatch, capsys):
    """A failure of TVM on a supported model: exit 1 and one line, no traceback."""
    from mcuorch_tvm import cli, compiler

    def crash(*_args, **_kwargs):
        raise RuntimeError("Check failed: (x) is false: something deep\n  at frame 1\n  at frame 2")

    monkeypatch.setattr(compiler, "build", crash)
    meta = write_meta(MODEL, tmp_path / "model.json", "crashy")
    code = cli.main(["--model", str(MODEL), "--meta", str(meta), "--out", str(tmp_path / "o")])
    err = capsys.readouterr().err
    assert code == 1
    assert err.splitlines() == [
        "error: crashy: internal error: RuntimeError: Check failed: (x) is false: something deep"
    ]
