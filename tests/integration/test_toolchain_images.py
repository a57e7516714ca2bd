"""The default environment's images do their jobs: COMPILE in a toolchain image, RUN in qemu/host.

Drives the real target software (sw/compile.sh) on the tiny test model through the Docker
runtime, the way the scheduler does: inputs read-only, one output directory per job.
This also proves that the multilibs the environment leaves out are not needed by any target.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Iterator
from pathlib import Path

import docker
import pytest

from orchestrator.environment import Environment
from orchestrator.images.progress import PlainProgress
from orchestrator.images.tags import ImageSet
from orchestrator.runtime.base import ExecRequest, Mount
from orchestrator.runtime.docker import DockerRuntime

pytestmark = pytest.mark.docker
PROJECT = Path(__file__).resolve().parents[2]
SW = PROJECT / "sw"
DATA = PROJECT / "tests" / "data"
QEMU = {
    "riscv_qemu": ["qemu-system-riscv32", "-M", "virt", "-bios", "none", "-cpu", "rv32"],
    "mps2_an386": ["qemu-system-arm", "-M", "mps2-an386"],
    "mps3_an547": ["qemu-system-arm", "-M", "mps3-an547"],
}
COMPILER_IMAGE = {"riscv_qemu": "gnu-riscv", "mps2_an386": "gnu-arm", "mps3_an547": "gnu-arm", "host_x86": "host"}


@pytest.fixture(scope="module")
def runtime(docker_client: docker.DockerClient, default_env: Environment,
            built_images: ImageSet) -> Iterator[DockerRuntime]:
    rt = DockerRuntime(default_env, "it-toolchains", client=docker_client, progress=PlainProgress(quiet=True))
    yield rt
    rt.close()


def job(runtime: DockerRuntime, images: ImageSet, image: str, argv: list[str], inputs: list[Path],
        out: Path) -> str:
    out.mkdir(parents=True, exist_ok=True)
    request = ExecRequest(image=images.get(image).ref, argv=argv,
                          mounts=[*(Mount(path=p) for p in inputs), Mount(path=out, read_only=False)],
                          workdir=out, timeout_sec=300, stdout_path=out.parent / f"{out.name}.stdout",
                          stderr_path=out.parent / f"{out.name}.stderr")
    result = runtime.run(request, threading.Event())
    log = request.stdout_path.read_text() + request.stderr_path.read_text()
    assert result.exit_code == 0, log[-3000:]
    return request.stdout_path.read_text()


def compile_tiny(runtime: DockerRuntime, images: ImageSet, target: str, out: Path) -> Path:
    if not (SW / "compile.sh").is_file() or not (DATA / "codegen_tiny").is_dir():
        pytest.skip("target software or tiny test model not present")
    job(runtime, images, COMPILER_IMAGE[target],
        ["sh", str(SW / "compile.sh"), "--target", target, "--codegen", str(DATA / "codegen_tiny"),
         "--golden", str(DATA / "golden_tiny"), "--out", str(out)], [SW, DATA], out)
    elf = out / "app.elf"
    assert elf.is_file() and elf.stat().st_uid == os.getuid()
    return elf


@pytest.mark.parametrize("target", sorted(QEMU))
def test_cross_compile_then_run_in_qemu_with_the_count_plugin(runtime: DockerRuntime, built_images: ImageSet,
                                                              tmp_path: Path, target: str) -> None:
    elf = compile_tiny(runtime, built_images, target, tmp_path / "compile")
    run_out = tmp_path / "run"
    semihost = run_out / "stdout.txt"
    counts = run_out / "counts.json"
    script = (" ".join(QEMU[target]) + f" -kernel {elf} -display none -serial none -monitor none"
              f" -chardev file,id=sh,path={semihost} -semihosting-config enable=on,target=native,chardev=sh"
              f" -icount shift=0 -plugin \"$MCUORCH_QEMU_PLUGIN\",out={counts}")
    job(runtime, built_images, "qemu", ["sh", "-c", script], [elf.parent], run_out)
    text = semihost.read_text()
    assert "Program start." in text and "MLONMCU EXIT: 0" in text, text
    data = json.loads(counts.read_text())
    assert isinstance(data, dict) and data, data


def test_host_target_compiles_and_runs_natively(runtime: DockerRuntime, built_images: ImageSet,
                                                tmp_path: Path) -> None:
    elf = compile_tiny(runtime, built_images, "host_x86", tmp_path / "compile")
    text = job(runtime, built_images, "host", [str(elf)], [elf.parent], tmp_path / "run")
    assert "Program start." in text and "MLONMCU EXIT: 0" in text, text
