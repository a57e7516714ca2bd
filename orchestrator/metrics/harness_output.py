"""Parser of the harness's output (MLonMCU's format, see docs/architecture.md).

`# <Name>: <value>` lines between `Program start.` and `Program finish.` become report columns
under their own names; `MLONMCU EXIT: <code>` and the process exit code decide the outcome.
"""

from __future__ import annotations

import re

from pydantic import BaseModel, ConfigDict

EXIT_OK, EXIT_ERROR, EXIT_INVALID_SIZE, EXIT_MISMATCH = 0, 0x10, 0x11, 0x12
HARNESS_EXIT_CODES = {
    EXIT_OK: "ok",
    EXIT_ERROR: "model error",
    EXIT_INVALID_SIZE: "invalid size",
    EXIT_MISMATCH: "output mismatch",
}
START, FINISH = "Program start.", "Program finish."
_METRIC = re.compile(r"^# (?P<name>[^:]+?): (?P<value>\S+)\s*$")
_NUMBER = re.compile(r"^-?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?$")
_EXIT = re.compile(r"^MLONMCU EXIT: (?P<code>-?\d+)\s*$")
_MODE = re.compile(r"^Validation mode: (?P<mode>\w+)")


class HarnessOutput(BaseModel):
    """What one run of the harness reported."""

    model_config = ConfigDict(frozen=True)
    started: bool
    finished: bool
    metrics: dict[str, int | float]
    harness_exit: int | None
    validation_mode: str | None
    errors: list[str]


def parse_value(text: str) -> int | float | None:
    """`12` -> 12, `0.5`/`1e-3` -> float, `inf`/`nan` -> float; anything else -> None."""
    if _NUMBER.match(text):
        return float(text) if any(c in text for c in ".eE") else int(text)
    if text.lower() in ("inf", "-inf", "nan"):
        return float(text)
    return None


def parse_harness_output(text: str) -> HarnessOutput:
    """Metric lines count only between the start and finish markers (a trap dump or a second
    program's noise outside them is ignored); `error: ` lines are collected anywhere."""
    metrics: dict[str, int | float] = {}
    errors: list[str] = []
    started = finished = False
    harness_exit = mode = None
    for raw in text.splitlines():
        line = raw.rstrip("\r")
        if line == START:
            started = True
            continue
        if line == FINISH:
            finished = started
            continue
        if line.startswith("error: "):
            errors.append(line[len("error: "):])
        if (m := _EXIT.match(line)) is not None:
            harness_exit = int(m["code"])
            continue
        if not started or finished:
            continue
        if (m := _MODE.match(line)) is not None:
            mode = m["mode"]
        elif (m := _METRIC.match(line)) is not None:
            value = parse_value(m["value"])
            if value is not None:
                metrics[m["name"]] = value
    return HarnessOutput(started=started, finished=finished, metrics=metrics,
                         harness_exit=harness_exit, validation_mode=mode, errors=errors)
