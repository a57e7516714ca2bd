"""A tiny real toolchain for end-to-end tests, loaded through MCUORCH_PLUGINS.

The "model" is a small C program. LOAD copies it, BUILD compiles it to an object file with
host gcc, COMPILE links it, RUN executes it and parses its `# Name: value` lines. Config keys
let a test make a stage fail (`toycc.fail`) or hang (`toyhost.hang`), and give the program
some work (`toyhost.work_ms`) so parallel speed-up is measurable.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from orchestrator.components import (
    Backend,
    ComponentConfig,
    FinishedJob,
    Frontend,
    JobSpec,
    Platform,
    Registry,
    Stage,
    StageConfig,
    StageContext,
    Target,
    setting,
)

IMAGE = "toy"
HANG_SEC = 987654
"""How long a hanging job sleeps: unusual, so tests can look for leftover processes."""
_LINE = re.compile(r"^# (.+): ([0-9.eE+-]+)$")


class ToyFrontend(Frontend):
    name = "toyfe"

    def image(self, run: Any, config: Mapping[str, ComponentConfig]) -> str:
        return IMAGE

    def job(self, ctx: StageContext) -> JobSpec:
        script = 'cp "$1" "$2/model.c" && printf "{\\"Source Bytes\\": %s}" "$(wc -c < "$1")" > "$2/metrics.json"'
        return JobSpec(image=IMAGE, argv=["sh", "-c", script, "toyfe", str(ctx.run.model.path), str(ctx.out)],
                       inputs=ctx.run.model.files, timeout_sec=ctx.cfg(self.name).timeout_sec)


class ToyCcConfig(StageConfig):
    opt: int = setting(1, ge=0, le=3)
    fail: bool = setting(False)


class ToyBackend(Backend):
    name = "toycc"
    framework = "toy"
    Config = ToyCcConfig

    def image(self, run: Any, config: Mapping[str, ComponentConfig]) -> str:
        return IMAGE

    def job(self, ctx: StageContext) -> JobSpec:
        cfg: ToyCcConfig = ctx.cfg(self.name)
        load = ctx.inputs[Stage.LOAD.value]
        if cfg.fail:
            argv = ["sh", "-c", "echo 'toycc: deliberate failure' >&2; exit 1"]
        else:
            argv = ["gcc", f"-O{cfg.opt}", "-c", str(load / "model.c"), "-o", str(ctx.out / "model.o")]
        return JobSpec(image=IMAGE, argv=argv, inputs=[load], timeout_sec=cfg.timeout_sec)


class ToyPlatform(Platform):
    name = "toylink"

    def image(self, run: Any, config: Mapping[str, ComponentConfig]) -> str:
        return IMAGE

    def job(self, ctx: StageContext) -> JobSpec:
        build = ctx.inputs[Stage.BUILD.value]
        argv = ["gcc", str(build / "model.o"), "-o", str(ctx.out / "app")]
        return JobSpec(image=IMAGE, argv=argv, inputs=[build], timeout_sec=ctx.cfg(self.name).timeout_sec)


class ToyHostConfig(StageConfig):
    work_ms: int = setting(0, ge=0)
    hang: bool = setting(False)
    timeout_sec: float = setting(30.0, affects_outputs=False, gt=0)


class ToyTarget(Target):
    name = "toyhost"
    Config = ToyHostConfig
    toolchain_image = IMAGE
    run_image = IMAGE

    def job(self, ctx: StageContext) -> JobSpec:
        cfg: ToyHostConfig = ctx.cfg(self.name)
        app = ctx.inputs[Stage.COMPILE.value] / "app"
        if cfg.hang:  # a process tree that never ends on its own: the group kill must take it all
            script = f"sleep {HANG_SEC} & sleep {HANG_SEC} & wait"
        else:
            script = f'sleep {cfg.work_ms / 1000:.3f}; "$1" > "$2/stdout.txt"'
        return JobSpec(image=IMAGE, argv=["sh", "-c", script, "toyhost", str(app), str(ctx.out)],
                       inputs=[ctx.inputs[Stage.COMPILE.value]], timeout_sec=cfg.timeout_sec)

    def collect(self, job: FinishedJob, ctx: StageContext) -> dict[str, float | int | str | bool]:
        metrics: dict[str, float | int | str | bool] = {}
        for line in (job.out / "stdout.txt").read_text().splitlines():
            match = _LINE.match(line)
            if match:
                value = float(match.group(2))
                metrics[match.group(1)] = int(value) if value.is_integer() else value
        return metrics


def register(registry: Registry) -> None:
    registry.register_all([ToyFrontend, ToyBackend, ToyPlatform, ToyTarget])
