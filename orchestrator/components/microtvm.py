"""Backends of the TVM fork (image `tumeda-tvm`), MLonMCU's meaning of each name:

  microtvm_aot      AOT executor on the C runtime; packed API, or unpacked with `unpacked_api`
  microtvm_aotplus  AOT with the embedded C interface, the unpacked API and USMP (low RAM)
  microtvm_rt       the CRT graph executor over a system library
  tvm_llvm          LLVM's host code on TVM's own C++ runtime and graph executor (host_x86 only)

The tumeda environment binds them to MLonMCU's names (`tvmaot`, `tvmaotplus`, `tvmrt`,
`tvmllvm`; the environment's `component:` key), so `tvmaot` keeps meaning the Relax C backend
in `default`.

Their arithmetic is not TFLite-Micro's: Relay's QNN lowering requantizes with its own rounding
(intermediate tensors differ by a step here and there, and later layers amplify that: the sine
model's output by up to 5 steps) and computes softmax in float (aww's class scores by up to 64
steps of 1/256). So an `exact` validation request is checked as `argmax` (the same class wins,
`Validation Argmax Mismatches`), and the report's `Validation Mismatches` and `Validation Max
Diff` say how far the raw outputs were apart. `-c mlif.validate=atol -c mlif.atol=N` asks for a
tolerance instead.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, ClassVar, Literal

from pydantic import field_validator

from orchestrator.components.backends import CodegenBackend
from orchestrator.components.base import ComponentConfig, StageConfig, setting
from orchestrator.components.targets import HostX86
from orchestrator.errors import ConfigError

if TYPE_CHECKING:
    from orchestrator.runspec import RunSpec

_PASS_LIST = re.compile(r"^[A-Za-z][A-Za-z0-9_.]*(,[A-Za-z][A-Za-z0-9_.]*)*$")


class MicroTvmConfig(StageConfig):
    opt_level: int = setting(3, ge=0, le=3, description="Relay optimisation level (tvmc --opt-level)")
    desired_layout: Literal["NCHW", "NHWC"] | None = setting(
        None, description="convert convolutions to this layout first (tvmc --desired-layout)")
    disabled_passes: str = setting("", description="comma-separated Relay/TIR passes to skip (tvmc --disabled-pass)")
    workspace_alignment: int = setting(16, gt=0, description="byte alignment of workspace buffers")
    constant_alignment: int = setting(16, gt=0, description="byte alignment of constants (weights)")
    timeout_sec: float = setting(1800.0, affects_outputs=False, gt=0)

    @field_validator("workspace_alignment", "constant_alignment")
    @classmethod
    def _power_of_two(cls, value: int) -> int:
        if value & (value - 1):
            raise ValueError(f"must be a power of two, not {value}")
        return value

    @field_validator("disabled_passes")
    @classmethod
    def _pass_names(cls, value: str) -> str:
        value = value.replace(" ", "")
        if value and not _PASS_LIST.match(value):
            raise ValueError("must be pass names separated by commas, e.g. AlterOpLayout,FoldScaleAxis")
        return value


class MicroTvmAotConfig(MicroTvmConfig):
    unpacked_api: bool = setting(False, description="call the model with plain pointers (C interface)")
    usmp: bool = setting(False, description="unified static memory planning: one static pool, no workspace calls")
    usmp_algorithm: Literal["greedy_by_size", "greedy_by_conflicts", "hill_climb"] = setting(
        "greedy_by_size", description="USMP's placement algorithm")


class MicroTvmAotPlusConfig(MicroTvmAotConfig):
    unpacked_api: bool = setting(True, description="call the model with plain pointers (C interface)")
    usmp: bool = setting(True, description="unified static memory planning: one static pool, no workspace calls")


class MicroTvmRtConfig(MicroTvmConfig):
    max_args: int | None = setting(None, gt=0, description="TVM_CRT_MAX_ARGS of crt_config.h (None: the "
                                   "graph's largest operator; smaller is refused)")
    heap_size: int | None = setting(None, gt=0, description="bytes of the CRT heap (None: the graph's "
                                    "storage plus the executor's tables)")


class MicroTvmBackend(CodegenBackend):
    """One `mcuorch-microtvm --executor ...` call in the fork's image."""

    framework = "tvm"
    command = "mcuorch-microtvm"
    image_name = "tumeda-tvm"
    executor: ClassVar[str]
    codegen_target: ClassVar[str] = "c"
    exact_validation_as = "argmax"
    kernel_listing = "kernels.json"
    """The fused operator functions in call order (mcuorch_microtvm/listing.py): `-f profile`."""

    def options(self, cfg: ComponentConfig) -> list[str]:
        """Every output-affecting key, explicitly: tvmaotplus's defaults are not the command's."""
        argv = ["--executor", self.executor, "--target", self.codegen_target]
        for key, value in cfg.key_values().items():
            flag = "--" + key.replace("_", "-")
            if isinstance(value, bool):
                argv.append(flag if value else "--no-" + flag[2:])
            elif value not in (None, ""):
                argv += [flag, str(value)]
        return argv


class MicroTvmAot(MicroTvmBackend):
    """microTVM's AOT executor: the model as C functions, intermediate tensors from a workspace."""

    name = "microtvm_aot"
    Config = MicroTvmAotConfig
    executor = "aot"
    description = "microTVM AOT executor on the C runtime (TVM fork)"


class MicroTvmAotPlus(MicroTvmBackend):
    """MLonMCU's tvmaotplus: AOT with the embedded C interface, unpacked API and USMP."""

    name = "microtvm_aotplus"
    Config = MicroTvmAotPlusConfig
    executor = "aot"
    description = "microTVM AOT, embedded interface, unpacked API and USMP (TVM fork)"


class MicroTvmRt(MicroTvmBackend):
    """microTVM's graph executor: the CRT interprets the JSON graph over a system library."""

    name = "microtvm_rt"
    Config = MicroTvmRtConfig
    executor = "graph"
    description = "microTVM graph executor on the C runtime (TVM fork)"


class TvmLlvm(MicroTvmBackend):
    """MLonMCU's tvmllvm: LLVM's x86-64 code as a system library, run by TVM's C++ runtime
    (libtvm_runtime.so beside the program) through its graph executor: the host only."""

    name = "tvm_llvm"
    Config = MicroTvmConfig
    executor = "graph"
    codegen_target = "llvm"
    kernel_listing = None
    description = "TVM fork's LLVM host code on TVM's C++ runtime (host_x86 only)"

    def check_run(self, run: RunSpec) -> None:
        if not isinstance(run.target_component, HostX86):
            raise ConfigError(f"{run.backend} compiles x86-64 code for TVM's C++ runtime on Linux: it runs on "
                              f"host_x86 only, not {run.target}")


ALL = [MicroTvmAot, MicroTvmAotPlus, MicroTvmRt, TvmLlvm]
