"""Builds and runs the target software for real: sw/compile.sh with the cross toolchains, then
mcuorch-qemu-run (with the instruction-count plugin) or mcuorch-host-run.

These tests run on the host for now and need the Debian packages listed in sw/README.md; a
target whose tools are missing is skipped with the reason.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from orchestrator.metrics.targets import load_target

REPO = Path(__file__).resolve().parents[2]
SW = REPO / "sw"
DATA = REPO / "tests" / "data"
TINY = DATA / "codegen_tiny"
GOLDEN = DATA / "golden_tiny"
QEMU_IMAGE = REPO / "images" / "qemu"
HOST_IMAGE = REPO / "images" / "host"
TARGETS = ["host_x86", "riscv_qemu", "mps3_an547", "mps2_an386", "mps2_an385"]
QEMU_TARGETS = [t for t in TARGETS if t != "host_x86"]
EXIT_MISMATCH = 0x12


def missing_tools(target: str) -> list[str]:
    spec = load_target(target, SW)
    tools = [spec.compiler, "cmake", "ninja"]
    if spec.run.kind == "qemu":
        tools.append("qemu-system-riscv32" if spec.run.board == "virt" else "qemu-system-arm")
    return [t for t in tools if shutil.which(t) is None]


def need_tools(target: str) -> None:
    missing = missing_tools(target)
    if missing:
        pytest.skip(f"{target}: not installed: {', '.join(missing)}")


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


def compile_sw(target: str, out: Path, codegen: Path = TINY, golden: Path = GOLDEN,
               *options: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    argv = ["sh", str(SW / "compile.sh"), "--target", target, "--codegen", str(codegen),
            "--golden", str(golden), "--out", str(out), *options]
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=600, check=False)
    if check and proc.returncode != 0:
        log = out / "compile.log"
        tail = log.read_text()[-3000:] if log.is_file() else ""
        raise AssertionError(f"compile failed ({proc.returncode}): {proc.stderr}\n{tail}")
    return proc


@pytest.fixture(scope="session")
def plugin(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The instruction-count plugin, built with images/qemu/plugin/build.sh."""
    if shutil.which("cc") is None and shutil.which("gcc") is None:
        pytest.skip("no host C compiler to build the QEMU plugin")
    out = tmp_path_factory.mktemp("plugin")
    subprocess.run(["sh", str(QEMU_IMAGE / "plugin" / "build.sh"), str(out)], check=True,
                   capture_output=True)
    return out / "libinsncount.so"


def image_env(image: Path, **extra: str) -> dict[str, str]:
    # No __pycache__ inside images/: the image folders are copied into the images as they are.
    return dict(os.environ, PYTHONPATH=str(image), PYTHONDONTWRITEBYTECODE="1", **extra)


def run_qemu(built: Built, out: Path, plugin: Path, *options: str) -> Ran:
    facts = built.facts
    cpu = facts["arch_variants"][facts["arch"]]["qemu_cpu"]
    argv = [sys.executable, str(QEMU_IMAGE / "bin" / "mcuorch-qemu-run"), "--board",
            facts["run"]["board"], "--elf", str(built.elf), "--out", str(out),
            *(["--cpu", cpu] if cpu else []), *options]
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=600, check=False,
                          env=image_env(QEMU_IMAGE, MCUORCH_QEMU_PLUGIN=str(plugin)))
    return Ran(proc.returncode, proc.stderr, out)


def run_host(built: Built, out: Path, *options: str) -> Ran:
    argv = [sys.executable, str(HOST_IMAGE / "bin" / "mcuorch-host-run"), "--elf", str(built.elf),
            "--out", str(out), *options]
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=600, check=False,
                          env=image_env(HOST_IMAGE))
    return Ran(proc.returncode, proc.stderr, out)


def run_target(built: Built, out: Path, plugin: Path | None, *options: str) -> Ran:
    if built.target == "host_x86":
        return run_host(built, out, *options)
    assert plugin is not None
    return run_qemu(built, out, plugin, *options)


@pytest.fixture(scope="session")
def tiny_builds(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Built]:
    """The tiny model compiled once per target (targets without tools are left out)."""
    builds = {}
    for target in TARGETS:
        if missing_tools(target):
            continue
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
