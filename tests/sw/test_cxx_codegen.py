"""C++ generated code: the C++ hook of the target software (a mcuorch.cmake in the codegen
directory) with the tumeda environment's -cxx toolchain images, on every target.

tests/data/codegen_tiny_cxx is the tiny model of codegen_tiny written in C++ (virtual calls and
destructors, a static object with a constructor, placement new, operator new/delete, std::array,
std::min, std::numeric_limits) with its kernels in a static library that its mcuorch.cmake
builds with `mcuorch_target_flags`. It has no C file. The same golden vectors validate it.
Programs run as the RUN stage runs them: the target components give the runner's argv.
"""

from __future__ import annotations

import json
import shlex
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import docker
import pytest

from orchestrator.components import collectors
from orchestrator.components.base import Kind, Stage, StageContext
from orchestrator.components.registry import builtin_registry
from orchestrator.environment import load_environment
from orchestrator.images.build import ImageBuilder
from orchestrator.images.progress import PlainProgress
from orchestrator.images.tags import resolve_images
from orchestrator.metrics import elf_metrics, load_target
from orchestrator.paths import project_paths

from .conftest import GOLDEN, SW, TINY, ImageShell, compiler_image, run_image

DATA = Path(__file__).resolve().parents[1] / "data"
TINY_CXX = DATA / "codegen_tiny_cxx"
CXX_DEFAULTS = ["-std=c++17", "-fno-exceptions", "-fno-rtti", "-fno-threadsafe-statics", "-fno-use-cxa-atexit"]
CASES = [  # (target, arch variant or None for the default)
    ("host_x86", None),
    ("riscv_qemu", None), ("riscv_qemu", "rv32imac"), ("riscv_qemu", "rv32imc"),
    ("spike", None),
    ("etiss_pulpino", None),
    ("mps2_an386", None), ("mps3_an547", None), ("mps2_an385", None),
]


def cxx_image(target: str) -> str:
    """The COMPILE image of a run whose backend generates C++ (platforms.Mlif.image)."""
    return f"{compiler_image(target)}-cxx"


@pytest.fixture(scope="module")
def cxx_shell(docker_client: docker.DockerClient, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ImageShell]:
    """An image shell over the tumeda environment: its -cxx images (built here when missing;
    they need no upstream sources), Spike, ETISS, QEMU and the host image."""
    env = load_environment("tumeda")
    names = sorted({cxx_image(t) for t, _ in CASES} | {run_image(t) for t, _ in CASES})
    try:
        ImageBuilder(docker_client, progress=PlainProgress(quiet=True)).build(env, names)
    except Exception as exc:  # noqa: BLE001 - one line saying which image is missing and why
        pytest.fail(f"tumeda images {', '.join(names)} are not available: {exc}", pytrace=False)
    shell = ImageShell(docker_client, env, resolve_images(env, client=docker_client),
                       tmp_path_factory.getbasetemp())
    try:
        yield shell
    finally:
        shell.close()


def compile_cxx(shell: ImageShell, target: str, out: Path, *options: str,
                codegen: Path = TINY_CXX, image: str | None = None) -> Any:
    argv = ["sh", str(SW / "compile.sh"), "--target", target, "--codegen", str(codegen),
            "--golden", str(GOLDEN), "--out", str(out), *options]
    return shell.run(image or cxx_image(target), argv)


def run_program(shell: ImageShell, target: str, arch: str | None, compiled: Path, out: Path) -> tuple[int, str]:
    """Runs app.elf like the RUN stage does; (program exit code, its output)."""
    if target == "host_x86":
        done = shell.run(run_image(target), ["mcuorch-host-run", "--elf", str(compiled / "app.elf"),
                                             "--out", str(out)])
    else:
        component = builtin_registry().create(Kind.TARGET, target)
        config = type(component).Config(**({"arch": arch} if arch else {}))
        ctx = StageContext(run=None, config={target: config},  # type: ignore[arg-type]
                           inputs={Stage.COMPILE.value: compiled}, out=out, project=project_paths())
        spec = component.job(ctx)
        done = shell.run(spec.image, spec.argv, env=spec.env)
    assert done.returncode == 0, f"{target}: runner failed ({done.returncode}): {done.stderr[-2000:]}"
    return int((out / "exit_code").read_text()), (out / "stdout.txt").read_text()


def test_the_cxx_codegen_has_no_c_file() -> None:
    assert (TINY_CXX / "mcuorch.cmake").is_file()
    assert not list(TINY_CXX.rglob("*.c")) and list(TINY_CXX.rglob("*.cc"))
    # the same model: the weights are the C model's (both written by make_tiny_model.py)
    assert (TINY_CXX / "tiny_weights.h").read_text() == (TINY / "tiny_weights.h").read_text()


@pytest.mark.parametrize(("target", "arch"), CASES, ids=[f"{t}-{a}" if a else t for t, a in CASES])
def test_cxx_model_compiles_runs_and_validates(cxx_shell: ImageShell, target: str, arch: str | None,
                                               tmp_path: Path) -> None:
    compiled = tmp_path / "c"
    done = compile_cxx(cxx_shell, target, compiled, *(["--arch", arch] if arch else []))
    if done.returncode != 0:
        log = compiled / "compile.log"
        pytest.fail(f"compile failed ({done.returncode}): {done.stderr}\n"
                    f"{log.read_text()[-3000:] if log.is_file() else ''}", pytrace=False)

    code, stdout = run_program(cxx_shell, target, arch, compiled, tmp_path / "r")
    assert code == 0, stdout[-2000:]
    lines = stdout.splitlines()  # ETISS adds its own lines around the program's, Spike its counts
    assert "Program start." in lines and lines.index("Program start.") < lines.index("MLONMCU EXIT: 0")
    metrics = collectors.run_metrics(stdout, code, None, target)
    assert metrics["Validation"] is True and metrics["Inferences"] == 3
    assert metrics["Validation Mismatches"] == 0 and metrics["Validation Max Diff"] == 0

    # How it was built: the C++ sources of app and of the codegen's static library with the
    # common flags and the C++ defaults, the program linked by the C++ driver.
    image = cxx_image(target)
    commands = cxx_shell.run(image, ["ninja", "-C", str(compiled / "build"), "-t", "commands", "app"],
                             check=True).stdout.splitlines()
    cxx = json.loads((compiled / "target.json").read_text())["cxx_compiler"]
    assert cxx == load_target(target, SW).compiler.replace("gcc", "g++")
    for source in ("model.cc", "kernels/kernels.cc"):
        line = next(c for c in commands if c.rstrip().endswith(str(TINY_CXX / source)) or
                    f" -c {TINY_CXX / source}" in c)
        words = shlex.split(line)
        assert words[0].endswith(cxx), line
        assert all(flag in words for flag in CXX_DEFAULTS), line
        assert "-O2" in words and "-g" in words, line
        if arch:
            assert f"-march={arch}" in words, line
        assert ("--specs=picolibcpp.specs" in words) == (target != "host_x86"), line
    link = next(c for c in commands if " -o app.elf" in c)
    assert shlex.split(link.split("&&")[1])[0].endswith(cxx), link
    assert "libtiny_kernels.a" in link
    if target != "host_x86":
        assert "--specs=picolibcpp.specs" in link and "--specs=picolibc.specs" not in link
        board = (compiled / "build" / "board.ld").read_text()
        assert "INCLUDE picolibcpp.ld" in board

    # The C++ runtime the program uses comes from the image's libraries.
    nm = "nm" if target == "host_x86" else cxx.replace("g++", "nm")
    symbols = cxx_shell.run(image, [nm, "-C", str(compiled / "app.elf")], check=True).stdout
    assert "operator new(" in symbols and "operator delete(" in symbols
    assert "__cxa_pure_virtual" in symbols
    assert "vtable for tiny::Layer" in symbols
    assert elf_metrics(compiled / "app.elf", target)["Total ROM"] > 0


def test_a_c_codegen_is_unchanged_by_the_hook(cxx_shell: ImageShell, tmp_path: Path) -> None:
    """Without mcuorch.cmake nothing C++ happens, in the C image or the -cxx one."""
    for image in ("gnu-riscv", "gnu-riscv-cxx"):
        out = tmp_path / image
        done = compile_cxx(cxx_shell, "riscv_qemu", out, codegen=TINY, image=image)
        assert done.returncode == 0, done.stderr
        commands = cxx_shell.run(image, ["ninja", "-C", str(out / "build"), "-t", "commands", "app"],
                                 check=True).stdout
        assert "g++" not in commands and "-std=c++17" not in commands
        assert "--specs=picolibc.specs" in commands and "picolibcpp" not in commands
        assert "INCLUDE picolibc.ld" in (out / "build" / "board.ld").read_text()


def test_cxx_code_in_an_image_without_a_cxx_compiler_is_one_error_line(cxx_shell: ImageShell,
                                                                       tmp_path: Path) -> None:
    done = compile_cxx(cxx_shell, "host_x86", tmp_path / "c", image="host")
    assert done.returncode == 2
    assert done.stderr.strip() == (
        "error: C++ compiler g++ for target host_x86 not found on PATH (the codegen directory has a "
        "mcuorch.cmake: C++ code builds in the target's -cxx image)")
