"""C++ backends compile in the target's -cxx toolchain image, C backends in the C one; an arch
variant with its own model compiler (riscv_qemu's rv32gcv: clang) in that compiler's image."""

from __future__ import annotations

from pathlib import Path

import pytest

from orchestrator.components.base import Kind, Stage
from orchestrator.components.registry import builtin_registry
from orchestrator.environment import load_environment
from orchestrator.matrix import MatrixBuilder, MatrixRequest
from orchestrator.paths import project_paths
from orchestrator.plan import Planner

CXX_IMAGES = {
    "riscv_qemu": "gnu-riscv-cxx", "spike": "gnu-riscv-cxx", "etiss_pulpino": "gnu-riscv-cxx",
    "mps2_an386": "gnu-arm-cxx", "mps3_an547": "gnu-arm-cxx", "mps2_an385": "gnu-arm-cxx",
    "host_x86": "host-cxx",
}
C_IMAGES = {target: image.removesuffix("-cxx") for target, image in CXX_IMAGES.items()}


def compile_images(backend: str, targets: tuple[str, ...] = tuple(CXX_IMAGES),
                   config: tuple[str, ...] = ()) -> dict[str, str]:
    """Target -> image of the COMPILE job, planned with the fake image identities."""
    env = load_environment("tumeda")
    runs = MatrixBuilder(env, builtin_registry()).expand(
        MatrixRequest(models=["aww"], backends=[backend], targets=list(targets), config=list(config)))
    plan = Planner(project_paths()).plan(runs, identity=lambda name: f"image:{name}", until=Stage.COMPILE)
    images = {}
    for run in plan.runs:
        job = plan.run_jobs[run.index][Stage.COMPILE]
        assert job.key_inputs.image == f"image:{job.image}"  # the image enters the COMPILE key
        images[run.target] = job.image
    return images


@pytest.mark.parametrize("backend", ["tflmi"])
def test_tflm_runs_compile_in_the_cxx_images(backend: str, models: Path) -> None:
    assert compile_images(backend) == CXX_IMAGES


def test_tvmaot_runs_keep_the_c_images(models: Path) -> None:
    assert compile_images("tvmaot") == C_IMAGES


def test_only_the_tflm_backends_need_cxx() -> None:
    registry = builtin_registry()
    needs = {name for name in registry.names(Kind.BACKEND) if registry.get(Kind.BACKEND, name).needs_cxx}
    assert needs == {"tflmi", "tflmc"}


def test_tumeda_declares_every_cxx_image_on_its_c_parent() -> None:
    env = load_environment("tumeda")
    for image in set(CXX_IMAGES.values()):
        assert env.images[image].parent == image.removesuffix("-cxx")


@pytest.mark.parametrize(("backend", "image"), [("tvmaot", "llvm-riscv"), ("tflmi", "llvm-riscv-cxx")])
@pytest.mark.parametrize("config", ["riscv_qemu.arch=rv32gcv", "riscv_qemu.vext=1"])
def test_the_vector_variant_compiles_where_its_model_compiler_is(backend: str, image: str, config: str,
                                                                 models: Path) -> None:
    assert compile_images(backend, ("riscv_qemu",), (config,)) == {"riscv_qemu": image}


def test_the_model_compiler_images_add_clang_to_the_gnu_ones() -> None:
    env = load_environment("tumeda")
    assert env.images["llvm-riscv"].parent == "gnu-riscv" and env.images["llvm-riscv-cxx"].parent == "gnu-riscv-cxx"
    assert env.images["llvm-riscv"].recipe == env.images["llvm-riscv-cxx"].recipe == "llvm-riscv"
    assert "clang-16" in env.packages.apt
