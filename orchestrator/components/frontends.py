"""Frontends (LOAD): validate the model, write metadata and golden vectors."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from orchestrator.components.base import ComponentConfig, Frontend, JobSpec, StageConfig, StageContext, setting

if TYPE_CHECKING:
    from orchestrator.runspec import RunSpec


class TfliteConfig(StageConfig):
    num_vectors: int | None = setting(
        None, ge=1, le=1000, description="golden vectors (None: all the model brings, else the loader's default)")
    timeout_sec: float = setting(300.0, affects_outputs=False, gt=0)


class TfliteFrontend(Frontend):
    """`.tflite` models, loaded in the `tflite` image by `mcuorch-load`."""

    name = "tflite"
    Config = TfliteConfig
    description = "TFLite flatbuffer models (TFLite-Micro reference outputs as golden vectors)"

    def image(self, run: RunSpec, config: Mapping[str, ComponentConfig]) -> str:
        return "tflite"

    def job(self, ctx: StageContext) -> JobSpec:
        cfg: TfliteConfig = ctx.cfg(self.name)
        model = ctx.run.model
        argv = ["mcuorch-load", "--model", str(model.path)]
        if model.definition is not None:
            argv += ["--definition", str(model.definition)]
        if model.golden is not None:
            argv += ["--golden-dir", str(model.golden)]
        if cfg.num_vectors is not None:
            argv += ["--num-vectors", str(cfg.num_vectors)]
        argv += ["--out", str(ctx.out)]
        return JobSpec(image=self.image(ctx.run, ctx.config), argv=argv, inputs=model.files,
                       timeout_sec=cfg.timeout_sec)


ALL = [TfliteFrontend]
