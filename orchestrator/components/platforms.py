"""Platforms (COMPILE): build the target software around generated code.

The platform runs in the target's toolchain image; the target contributes its own compile
arguments (architecture, ABI), and its output-affecting config enters the COMPILE key.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Literal

from pydantic import BeforeValidator

from orchestrator.components import collectors
from orchestrator.components.base import (
    ComponentConfig,
    FinishedJob,
    JobSpec,
    Metric,
    Platform,
    Stage,
    StageConfig,
    StageContext,
    setting,
)
from orchestrator.paths import ProjectPaths, home_paths

if TYPE_CHECKING:
    from orchestrator.runspec import RunSpec


def _level_text(value: object) -> object:
    """YAML reads `optimize: 3` as a number; the levels are compiler flag strings."""
    return str(value) if isinstance(value, int) else value


_LEVEL_AS_TEXT = BeforeValidator(_level_text)

ESP_TARGETS = frozenset({"esp32", "esp32c3"})
"""Built with ESP-IDF (`espidf`), not with the CMake target software (`mlif`)."""


class MlifConfig(StageConfig):
    optimize: Annotated[Literal["2", "3", "s"], _LEVEL_AS_TEXT] = setting(
        "2", description="compiler optimisation level")
    validate_outputs: Literal["exact", "atol", "argmax", "none"] = setting(
        "none", alias="validate", description="how the harness compares outputs with golden ones")
    atol: int = setting(1, ge=0, description="absolute tolerance for validate=atol")
    timeout_sec: float = setting(900.0, affects_outputs=False, gt=0)


class Mlif(Platform):
    """MLonMCU's CMake target software (`sw/`), one project for every target."""

    name = "mlif"
    Config = MlifConfig
    description = "the CMake target software in sw/ (harness + generated code)"
    unsupported_targets = ESP_TARGETS

    def supports(self, target: str) -> bool:
        return target not in self.unsupported_targets

    def sources(self, run: RunSpec, project: ProjectPaths) -> dict[str, Path]:
        return {"sw": project.sw}

    def image(self, run: RunSpec, config: Mapping[str, ComponentConfig]) -> str:
        """The target's toolchain image; its `-cxx` child when the backend generates C++."""
        image = run.target_component.compile_image(config[run.target])
        return f"{image}-cxx" if run.backend_component.needs_cxx else image

    def job(self, ctx: StageContext) -> JobSpec:
        cfg: MlifConfig = ctx.cfg(self.name)
        load, build = ctx.inputs[Stage.LOAD.value], ctx.inputs[Stage.BUILD.value]
        sw = ctx.project.sw
        target = ctx.run.target_component
        argv = ["sh", str(sw / "compile.sh"), "--target", target.sw_target(ctx.cfg(ctx.run.target)),
                "--codegen", str(build / "codegen"), "--golden", str(load / "golden"),
                "--out", str(ctx.out), "--optimize", cfg.optimize]
        mode = cfg.validate_outputs
        substitute = ctx.run.backend_component.exact_validation_as
        if mode == "exact" and substitute is not None:
            mode = substitute  # the backend's arithmetic is not TFLite-Micro's
        argv += ["--validate", mode]
        if mode == "atol":
            argv += ["--atol", str(cfg.atol)]
        argv += target.compile_args(ctx.cfg(ctx.run.target))
        cache = home_paths().compile_cache
        return JobSpec(image=self.image(ctx.run, ctx.config), argv=argv, inputs=[load, build, sw],
                       env={"MCUORCH_COMPILE_CACHE": str(cache)}, caches=[cache], timeout_sec=cfg.timeout_sec)

    def collect(self, job: FinishedJob, ctx: StageContext) -> dict[str, Metric]:
        target = ctx.run.target_component.sw_target(ctx.cfg(ctx.run.target))
        return collectors.compile_metrics(job.out / "app.elf", target)


class EspidfConfig(StageConfig):
    optimize: Annotated[Literal["2", "s"], _LEVEL_AS_TEXT] = setting("s")
    validate_outputs: bool = setting(False, alias="validate")
    debug: bool = setting(False)
    timeout_sec: float = setting(1800.0, affects_outputs=False, gt=0)


class Espidf(Platform):
    """Espressif's ESP-IDF build system for the ESP32 family."""

    name = "espidf"
    Config = EspidfConfig
    description = "ESP-IDF projects for esp32 / esp32c3"
    supported_targets = ESP_TARGETS

    def supports(self, target: str) -> bool:
        return target in self.supported_targets

    def sources(self, run: RunSpec, project: ProjectPaths) -> dict[str, Path]:
        return {"sw": project.sw}

    def image(self, run: RunSpec, config: Mapping[str, ComponentConfig]) -> str:
        return "espidf"

    def job(self, ctx: StageContext) -> JobSpec:
        cfg: EspidfConfig = ctx.cfg(self.name)
        load, build = ctx.inputs[Stage.LOAD.value], ctx.inputs[Stage.BUILD.value]
        argv = ["mcuorch-espidf-build", "--target", ctx.run.target, "--sw", str(ctx.project.sw),
                "--codegen", str(build / "codegen"), "--golden", str(load / "golden"),
                "--out", str(ctx.out), "--optimize", cfg.optimize]
        argv += ["--validate"] if cfg.validate_outputs else []
        argv += ["--debug"] if cfg.debug else []
        return JobSpec(image="espidf", argv=argv, inputs=[load, build, ctx.project.sw],
                       timeout_sec=cfg.timeout_sec)


ALL = [Mlif, Espidf]
