"""C++ model code (tflmi) compiles in the target's `-cxx` toolchain image; C code keeps the C one."""

from __future__ import annotations

import pytest

from orchestrator.components.registry import builtin_registry
from orchestrator.environment import load_environment
from orchestrator.matrix import MatrixBuilder, MatrixRequest

TARGETS = {"riscv_qemu": "gnu-riscv", "spike": "gnu-riscv", "etiss_pulpino": "gnu-riscv",
           "mps2_an386": "gnu-arm", "mps3_an547": "gnu-arm", "mps2_an385": "gnu-arm", "host_x86": "host"}


@pytest.mark.parametrize("backend", ["tflmi", "tvmaot"])
def test_compile_image_follows_the_backends_language(backend: str) -> None:
    env = load_environment("tumeda")
    runs = MatrixBuilder(env, builtin_registry()).expand(
        MatrixRequest(models=["sine_model"], backends=[backend], targets=list(TARGETS)))
    for run in runs:
        image = run.components["platform"].image(run, run.configs)
        expected = TARGETS[run.target] + ("-cxx" if backend == "tflmi" else "")
        assert image == expected, run.target
        assert expected in env.images, expected  # the environment can build it
