"""A no-op toolchain for benchmarks/orchestration.py: every stage is one short `sh -c`."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from orchestrator.components import (
    Backend,
    ComponentConfig,
    Frontend,
    JobSpec,
    Platform,
    Registry,
    StageConfig,
    StageContext,
    Target,
    setting,
)

IMAGE = "noop"


class _Noop:
    name: str

    def image(self, run: Any, config: Mapping[str, ComponentConfig]) -> str:
        return IMAGE

    def job(self, ctx: StageContext) -> JobSpec:
        cfg = ctx.cfg(self.name)
        inputs = list(ctx.inputs.values())
        upstream = " ".join(f'"{p}/out.txt"' for p in inputs)
        own = f"{self.name} {cfg.model_dump_json(exclude={'timeout_sec'})}"
        # out.txt carries its inputs along, so distinct runs stay distinct in every stage
        script = (f'sleep {getattr(cfg, "sleep_ms", 0) / 1000:.3f}; '
                  f'{{ cat {upstream} /dev/null; echo \'{own}\'; }} > "$1/out.txt"')
        return JobSpec(image=IMAGE, argv=["sh", "-c", script, self.name, str(ctx.out)], inputs=inputs,
                       timeout_sec=cfg.timeout_sec)


class NoopFrontendConfig(StageConfig):
    variant: int = setting(0)


class NoopFrontend(_Noop, Frontend):
    name = "noopfe"
    Config = NoopFrontendConfig


class NoopBackend(_Noop, Backend):
    name = "noopbe"
    framework = "noop"


class NoopPlatform(_Noop, Platform):
    name = "noopplat"


class NoopTargetConfig(StageConfig):
    sleep_ms: int = setting(0, ge=0)


class NoopTarget(_Noop, Target):
    name = "nooptarget"
    Config = NoopTargetConfig
    toolchain_image = IMAGE
    run_image = IMAGE


def register(registry: Registry) -> None:
    registry.register_all([NoopFrontend, NoopBackend, NoopPlatform, NoopTarget])
