"""`hangaot`: a backend whose generated model never returns from invoke (end-to-end tests).

Loaded through MCUORCH_PLUGINS. Its BUILD job copies the hand-written C of hang_codegen/
into the job's output, inside the default environment's `host` image, so everything after
it (COMPILE with the real target software, RUN on a real simulator) is the real thing.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from orchestrator.components import Backend, ComponentConfig, JobSpec, Registry, Stage, StageContext

CODEGEN = Path(__file__).resolve().parent / "hang_codegen"


class HangBackend(Backend):
    name = "hangaot"
    framework = "test"

    def image(self, run: Any, config: Mapping[str, ComponentConfig]) -> str:
        return "host"

    def job(self, ctx: StageContext) -> JobSpec:
        out = ctx.out / "codegen"
        argv = ["sh", "-c", 'mkdir -p "$2" && cp "$1"/*.c "$1"/*.h "$2"/', "hangaot", str(CODEGEN), str(out)]
        return JobSpec(image="host", argv=argv, inputs=[ctx.inputs[Stage.LOAD.value], CODEGEN],
                       timeout_sec=ctx.cfg(self.name).timeout_sec)


def register(registry: Registry) -> None:
    registry.register(HangBackend)
