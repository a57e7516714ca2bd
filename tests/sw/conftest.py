"""Builds and runs the target software for real, inside the default environment's images:
sw/compile.sh in the target's compiler image, then mcuorch-qemu-run (with the image's
instruction-count plugin) in `qemu` or mcuorch-host-run in `host`.

Commands go through tests/integration/image_exec.py (the stage-job conventions: invoking
user, no network, repository read-only, the session's temporary folder read-write), so the
host needs only Docker. The images come from `built_images` (built once, reused by tag).
Helpers that tests call directly (`compile_sw`, `run_target`, `tool`, ...) use the session's
shell, set up by the autouse `toolchains` fixture.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from orchestrator.components.base import Kind
from orchestrator.components.registry import builtin_registry

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tests" / "integration"))
from docker_fixtures import built_images, default_env, docker_client  # noqa: F401 - fixtures
from image_exec import ImageShell, image_shell  # noqa: F401 - a fixture

SW = REPO / "sw"
DATA = REPO / "tests" / "data"
TINY = DATA / "codegen_tiny"
GOLDEN = DATA / "golden_tiny"
QEMU_IMAGE = REPO / "images" / "qemu"
TARGETS = ["host_x86", "riscv_qemu", "mps3_an547", "mps2_an386", "mps2_an385"]
QEMU_TARGETS = [t for t in TARGETS if t != "host_x86"]
EXIT_MISMATCH = 0x12
TIMEOUT_SEC = 600.0

_shells: list[ImageShell] = []


def shell() -> ImageShell:
    """The session's image shell (the autouse `toolchains` fixture provides it)."""
    if not _shells:
        raise RuntimeError("tests/sw helpers need the `toolchains` fixture (a Docker engine)")
    return _shells[-1]


@contextmanager
def using_shell(active: ImageShell) -> Iterator[ImageShell]:
    """Make `active` the shell the helpers below use (scripts call this outside pytest)."""
    _shells.append(active)
    try:
        yield active
    finally:
        _shells.remove(active)


@pytest.fixture(scope="session", autouse=True)
def toolchains(image_shell: ImageShell) -> Iterator[ImageShell]:  # noqa: F811
    with using_shell(image_shell):
        yield image_shell


def compiler_image(target: str) -> str:
    """The image sw/compile.sh runs in for `target` (the COMPILE stage's choice)."""
    return builtin_registry().get(Kind.TARGET, target).toolchain_image  # type: ignore[attr-defined]


def run_image(target: str) -> str:
    """The image that runs `target`'s program (the RUN stage's choice)."""
    return builtin_registry().get(Kind.TARGET, target).run_image  # type: ignore[attr-defined]


def need_tools(target: str) -> None:
    """Fail (never skip) unless the environment has the images `target` needs."""
    missing = [image for image in (compiler_image(target), run_image(target))
               if image not in shell().images.images]
    if missing:
        pytest.fail(f"{target}: the default environment has no image {', '.join(missing)}")


def tool(image: str, argv: Sequence[str], *, check: bool = False, env: dict[str, str] | None = None,
         timeout: float = TIMEOUT_SEC) -> subprocess.CompletedProcess[str]:
    """Any command inside an image of the environment (e.g. `nm`, `ninja -t commands`)."""
    return shell().run(image, argv, check=check, env=env, timeout=timeout)


@dataclass
class Built:
    target: str
    out: Path

    @property
    def elf(self) -> Path:
        return self.out / "app.elf"

    @property
    def facts(self) -> dict:
        return json.loads((self.out / "target.json").read_text())


@dataclass
class Ran:
    returncode: int
    stderr: str
    out: Path

    @property
    def exit_code(self) -> int:
        return int((self.out / "exit_code").read_text())

    @property
    def stdout(self) -> str:
        return (self.out / "stdout.txt").read_text()

    @property
    def counts(self) -> dict:
        return json.loads((self.out / "counts.json").read_text())

    @property
    def counts_path(self) -> Path | None:
        path = self.out / "counts.json"
        return path if path.is_file() else None


def compile_script(target: str, argv: Sequence[str]) -> subprocess.CompletedProcess[str]:
    """`sh sw/compile.sh ARGV` in the compiler image of `target` (argv may name another)."""
    return tool(compiler_image(target), ["sh", str(SW / "compile.sh"), *argv])


def compile_sw(target: str, out: Path, codegen: Path = TINY, golden: Path = GOLDEN,
               *options: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    argv = ["--target", target, "--codegen", str(codegen), "--golden", str(golden),
            "--out", str(out), *options]
    proc = compile_script(target, argv)
    if check and proc.returncode != 0:
        log = out / "compile.log"
        tail = log.read_text()[-3000:] if log.is_file() else ""
        raise AssertionError(f"compile failed ({proc.returncode}): {proc.stderr}\n{tail}")
    return proc


@pytest.fixture(scope="session")
def plugin(toolchains: ImageShell) -> Path:
    """The instruction-count plugin inside the `qemu` image (built from images/qemu/plugin)."""
    path = toolchains.image_env("qemu").get("MCUORCH_QEMU_PLUGIN")
    if not path:
        pytest.fail("the qemu image sets no MCUORCH_QEMU_PLUGIN: it was built without the plugin")
    return Path(path)


def qemu_runner(*args: str, plugin: Path) -> subprocess.CompletedProcess[str]:
    """`mcuorch-qemu-run ARGS` in the `qemu` image with the plugin at `plugin`."""
    return tool("qemu", ["mcuorch-qemu-run", *args], env={"MCUORCH_QEMU_PLUGIN": str(plugin)})


def run_qemu(built: Built, out: Path, plugin: Path, *options: str) -> Ran:
    facts = built.facts
    cpu = facts["arch_variants"][facts["arch"]]["qemu_cpu"]
    proc = qemu_runner("--board", facts["run"]["board"], "--elf", str(built.elf), "--out", str(out),
                       *(["--cpu", cpu] if cpu else []), *options, plugin=plugin)
    return Ran(proc.returncode, proc.stderr, out)


def run_host(built: Built, out: Path, *options: str) -> Ran:
    proc = tool("host", ["mcuorch-host-run", "--elf", str(built.elf), "--out", str(out), *options])
    return Ran(proc.returncode, proc.stderr, out)


def run_target(built: Built, out: Path, plugin: Path | None, *options: str) -> Ran:
    if built.target == "host_x86":
        return run_host(built, out, *options)
    if plugin is None:
        raise ValueError(f"{built.target} runs in QEMU and needs the plugin path")
    return run_qemu(built, out, plugin, *options)


@pytest.fixture(scope="session")
def tiny_builds(toolchains: ImageShell, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Built]:
    """The tiny model compiled once per target."""
    builds = {}
    for target in TARGETS:
        out = tmp_path_factory.mktemp(f"c_{target}")
        compile_sw(target, out)
        builds[target] = Built(target, out)
    return builds


def tiny_build(tiny_builds: dict[str, Built], target: str) -> Built:
    need_tools(target)
    return tiny_builds[target]


def variant_codegen(tmp: Path, body: str, invoke: str | None = None, init: str | None = None) -> Path:
    """A copy of the tiny model with extra C code; `invoke`/`init` replace the bodies of
    mcuorch_model_invoke/mcuorch_model_init (the originals stay callable as tiny_invoke/tiny_init)."""
    dst = tmp / "codegen"
    shutil.copytree(TINY, dst)
    model = dst / "model.c"
    text = model.read_text()
    if invoke is not None:
        text = text.replace("int mcuorch_model_invoke(void)\n", "static int tiny_invoke(void)\n")
        body += f"\nint mcuorch_model_invoke(void)\n{{\n{invoke}\n}}\n"
    if init is not None:
        text = text.replace("int mcuorch_model_init(void)\n", "static int tiny_init(void)\n")
        body += f"\nint mcuorch_model_init(void)\n{{\n{init}\n}}\n"
    model.write_text(text + "\n" + body)
    return dst


def golden_copy(tmp: Path, edit: dict[str, bytes] | None = None) -> Path:
    """A copy of the tiny model's golden vectors with some files replaced."""
    dst = tmp / "golden"
    shutil.copytree(GOLDEN, dst)
    for name, data in (edit or {}).items():
        (dst / name).write_bytes(data)
    return dst
