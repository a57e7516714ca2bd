"""Backends (BUILD): generate model code from the loaded model.

Every backend runs one command inside its framework's image:
`<command> --model LOAD/model.tflite --meta LOAD/model.json --out OUT [options]`, where the
options come from the backend's output-affecting config keys.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from orchestrator.components.base import (
    Backend,
    ComponentConfig,
    JobSpec,
    Stage,
    StageConfig,
    StageContext,
    setting,
)
from orchestrator.components.targets import RiscvTarget
from orchestrator.errors import ConfigError
from orchestrator.paths import project_paths

if TYPE_CHECKING:
    from orchestrator.runspec import RunSpec


class CodegenBackend(Backend):
    """A backend driven by one image-side command with `--key value` options."""

    command: ClassVar[str]
    image_name: ClassVar[str]

    def image(self, run: RunSpec, config: Mapping[str, ComponentConfig]) -> str:
        return self.image_name

    def options(self, cfg: ComponentConfig) -> list[str]:
        """`--key value` for output-affecting keys that differ from their defaults.

        Image-side commands share these defaults, so an unchanged key needs no flag and an
        image that lacks an option only fails when a run really asks for it.
        """
        defaults = type(cfg)().key_values()
        argv: list[str] = []
        for key, value in cfg.key_values().items():
            if value == defaults[key]:
                continue
            flag = "--" + key.replace("_", "-")
            if isinstance(value, bool):
                argv.append(flag if value else "--no-" + flag[2:])
            elif value is not None:
                argv += [flag, str(value)]
        return argv

    def job(self, ctx: StageContext) -> JobSpec:
        cfg = ctx.cfg(self.name)
        load = ctx.inputs[Stage.LOAD.value]
        argv = [self.command, "--model", str(load / "model.tflite"), "--meta", str(load / "model.json"),
                "--out", str(ctx.out), *self.options(cfg)]
        return JobSpec(image=self.image(ctx.run, ctx.config), argv=argv, inputs=[load],
                       timeout_sec=cfg.timeout_sec)


class TvmConfig(StageConfig):
    opt_level: int = setting(3, ge=0, le=3, description="Relax/TIR optimisation level")
    timeout_sec: float = setting(1800.0, affects_outputs=False, gt=0)


class TvmAotConfig(TvmConfig):
    kernels: Literal["int", "float", "cmsisnn", "muriscvnn"] = setting(
        "int", description="int: integer kernels bit-exact with TFLite-Micro; float: dequantize/float/"
        "quantize for comparison; cmsisnn, muriscvnn: BYOC kernel libraries (TVM fork only)")
    unroll_reduction: int = setting(0, ge=0, description="fully unroll reduction loops up to this extent")
    arena_alignment: int = setting(16, gt=0, description="alignment of every tensor in the arena (bytes)")
    fuse_epilogues: bool = setting(True, description="fuse residual ADD/clip into the producing kernel")
    usmp: bool = setting(False, description="unified static memory planning (the fork's tvmaot in tumeda)")
    unpacked_api: bool = setting(False, description="call kernels with plain pointers (the fork's tvmaot in tumeda)")
    isa: str = setting("auto", pattern=r"^[a-z][a-z0-9_-]*(\+[a-z0-9_.]+)*$",
                       description="instruction set the integer kernels are generated for: auto = the run's "
                       "target (e.g. cortex-m55+mve, cortex-m4+dsp, rv32gc), generic = portable scalar C")


class TvmAot(CodegenBackend):
    """TVM to dependency-free C with a static arena (upstream Relax, or the fork's AOT).

    The kernels are generated for the target's instruction set (`isa`, resolved from the
    target's facts when `auto`): it is passed as `--isa` and enters the BUILD key, so a run on
    a Cortex-M55 and one on a Cortex-M4 build different code from the same model."""

    name = "tvmaot"
    framework = "tvm"
    Config = TvmAotConfig
    command = "mcuorch-tvmaot"
    image_name = "tvm"
    kernel_listing = "memory_plan.json"
    description = "TVM ahead-of-time C with one statically planned arena"
    #: The image's list of operators its integer kernels lower (one per line, # comments).
    SUPPORTED_OPS_FILE = Path("tvm") / "mcuorch_tvm" / "integer" / "supported_ops.txt"

    @classmethod
    def supported_ops(cls) -> frozenset[str]:
        """Operators `--kernels int` (the default) compiles, as the image declares them."""
        path = project_paths().images / cls.SUPPORTED_OPS_FILE
        lines = (line.strip() for line in path.read_text().splitlines())
        return frozenset(line for line in lines if line and not line.startswith("#"))

    @staticmethod
    def resolved_isa(run: RunSpec, cfg: ComponentConfig) -> str:
        """`isa` of the backend's config, `auto` replaced by the run's target ISA (`generic`
        when the target states none)."""
        isa = cfg.isa  # type: ignore[attr-defined]
        if isa != "auto":
            return isa
        return run.target_component.isa(run.configs[run.target]) or "generic"

    def key_config(self, run: RunSpec) -> dict[str, dict[str, Any]]:
        cfg = run.configs[self.name]
        return {self.name: {**cfg.key_values(), "isa": self.resolved_isa(run, cfg)}}

    def options(self, cfg: ComponentConfig) -> list[str]:
        argv = super().options(cfg)
        if "--isa" in argv:  # job() passes the resolved value
            i = argv.index("--isa")
            del argv[i:i + 2]
        return argv

    def job(self, ctx: StageContext) -> JobSpec:
        spec = super().job(ctx)
        isa = self.resolved_isa(ctx.run, ctx.cfg(self.name))
        if isa == "generic":
            return spec
        return spec.model_copy(update={"argv": [*spec.argv, "--isa", isa]})


class TflmConfig(StageConfig):
    arena_size: int | None = setting(None, gt=0, description="tflmi's tensor arena bytes (None: measured "
                                     "from the model); tflmc plans its own and refuses it")
    kernels: Literal["reference", "cmsisnn", "muriscvnn"] = setting(
        "reference", description="TFLite-Micro's reference kernels, or its CMSIS-NN kernels over CMSIS-NN "
        "(Arm DSP/MVE where the core has them, portable C elsewhere) or over muRISCV-NN (RISC-V)")
    timeout_sec: float = setting(900.0, affects_outputs=False, gt=0)


class TflmBackend(CodegenBackend):
    """TFLite-Micro backends: the runtime is compiled for each run's own target (C++)."""

    framework = "tflm"
    Config = TflmConfig
    image_name = "tflm"
    needs_cxx = True
    kernel_listing = "kernels.json"

    def check_run(self, run: RunSpec) -> None:
        cfg: TflmConfig = run.configs[self.name]  # type: ignore[assignment]
        if cfg.kernels == "muriscvnn" and not isinstance(run.target_component, RiscvTarget):
            raise ConfigError(f"{self.name}.kernels=muriscvnn needs a RISC-V target, not {run.target} "
                              "(use cmsisnn on Arm)")


class Tflmi(TflmBackend):
    """TFLite-Micro interpreter with an op resolver of the model's ops and a sized arena."""

    name = "tflmi"
    command = "mcuorch-tflmi"
    description = "TFLite-Micro interpreter linked into the target software"


class Tflmc(TflmBackend):
    """TFLite-Micro compiler: tflite_micro_compiler's offline pre-interpretation (ported to the
    pinned TFLite-Micro by the image's patch), so the target links kernels but no interpreter."""

    name = "tflmc"
    command = "mcuorch-tflmc"
    description = "tflite_micro_compiler: TFLite-Micro kernels, set up at build time, no interpreter"

    def check_run(self, run: RunSpec) -> None:
        super().check_run(run)
        cfg: TflmConfig = run.configs[self.name]  # type: ignore[assignment]
        if cfg.arena_size is not None:
            raise ConfigError("tflmc.arena_size cannot be set: tflite_micro_compiler plans the arena itself "
                              "(its size is the report's Arena Size); the key sizes tflmi's arena")


ALL = [TvmAot, Tflmi, Tflmc]
