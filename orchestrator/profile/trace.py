"""profile.json: one inference as a Chrome trace (Trace Event Format, JSON object form), which
chrome://tracing, Perfetto and speedscope load.

The time axis counts instructions: 1 µs of `ts`/`dur` is one instruction retired (QEMU models
no clock; `displayTimeUnit: ms` makes the viewer print 1 ms = 1000 instructions). Every executed
kernel is one complete event (`ph: X`) in call order on one thread; glue is the gaps between
them. With tensor lifetimes in the BUILD's listing, a counter (`ph: C`) `arena` gives the arena
bytes live while each kernel runs.
"""

from __future__ import annotations

import math
from collections import defaultdict
from typing import Any

from orchestrator.profile.summary import LayerProfile, ProfileSummary

PID, TID = 1, 1


def _shape(shape: list[int]) -> str:
    return "x".join(map(str, shape)) or "scalar"


def _args(layer: LayerProfile, summary: ProfileSummary) -> dict[str, Any]:
    args: dict[str, Any] = {
        "op": layer.op or "", "kernel": layer.kernel, "step": layer.index,
        "input shapes": [_shape(s) for s in layer.input_shapes], "output shape": _shape(layer.output_shape),
        "instructions": layer.first_instructions,
        "mean instructions per inference": summary.per_inference(layer.instructions),
        "callee instructions per inference": summary.per_inference(layer.callees),
    }
    if layer.object is not None:
        args["object"] = layer.object
    if layer.macs is not None:
        args["MACs"] = layer.macs
        args["instructions/MAC"] = round(layer.first_instructions / layer.macs, 3) if layer.macs else None
    return args


def chrome_trace(summary: ProfileSummary, title: str) -> dict[str, Any]:
    """The trace of inference 0 of `summary`; `title` names the process (model/backend/target)."""
    events: list[dict[str, Any]] = [
        {"name": "process_name", "ph": "M", "pid": PID, "tid": TID, "args": {"name": title}},
        {"name": "thread_name", "ph": "M", "pid": PID, "tid": TID,
         "args": {"name": "inference 0 (1 us = 1 instruction)"}},
    ]
    for layer in summary.layers:
        events.append({"name": layer.name, "cat": layer.op or "kernel", "ph": "X", "ts": layer.first_start,
                       "dur": layer.first_instructions, "pid": PID, "tid": TID, "args": _args(layer, summary)})
        if layer.live_bytes is not None:
            events.append({"name": "arena", "ph": "C", "ts": layer.first_start, "pid": PID,
                           "args": {"live bytes": layer.live_bytes}})
    return {
        "traceEvents": events,
        "displayTimeUnit": "ms",
        "otherData": {
            "title": title, "time axis": "1 us = 1 instruction retired (QEMU TCG plugin)",
            "inference": "0", "inferences": str(summary.inferences),
            "run instructions": str(summary.first_run_instructions), "glue instructions": str(summary.first_glue),
        },
    }


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def trace_problems(doc: Any) -> list[str]:
    """What a trace viewer (catapult's importer, Perfetto's JSON parser) would reject or misdraw:
    the object form with a `traceEvents` list; per phase the fields it needs with numeric
    ts/dur/pid/tid; balanced B/E per thread; X events on one thread nested, never crossing;
    numeric counter values. Empty: the trace is fine."""
    if not isinstance(doc, dict) or not isinstance(doc.get("traceEvents"), list):
        return ["not a JSON object with a traceEvents list"]
    problems: list[str] = []
    open_b: dict[tuple[Any, Any], list[str]] = defaultdict(list)
    slices: dict[tuple[Any, Any], list[tuple[float, float, str]]] = defaultdict(list)
    for i, ev in enumerate(doc["traceEvents"]):
        where = f"event {i}"
        if not isinstance(ev, dict) or not isinstance(ev.get("ph"), str):
            problems.append(f"{where}: not an object with a string ph")
            continue
        ph = ev["ph"]
        if not isinstance(ev.get("name"), str) and ph != "E":
            problems.append(f"{where}: no string name")
        if not _number(ev.get("pid")):
            problems.append(f"{where}: pid is not a number")
        if ph != "M" and not _number(ev.get("ts")):
            problems.append(f"{where}: ts is not a number")
        if ph in "XBE" and not _number(ev.get("tid")):
            problems.append(f"{where}: tid is not a number")
        if ph == "X":
            if not _number(ev.get("dur")) or ev["dur"] < 0:
                problems.append(f"{where}: X without a non-negative numeric dur")
            elif _number(ev.get("ts")):
                slices[(ev.get("pid"), ev.get("tid"))].append((ev["ts"], ev["ts"] + ev["dur"], ev["name"]))
        elif ph == "B":
            open_b[(ev.get("pid"), ev.get("tid"))].append(str(ev.get("name")))
        elif ph == "E":
            if not open_b[(ev.get("pid"), ev.get("tid"))]:
                problems.append(f"{where}: E without an open B")
            else:
                open_b[(ev.get("pid"), ev.get("tid"))].pop()
        elif ph == "C":
            args = ev.get("args")
            if not isinstance(args, dict) or not args or not all(_number(v) for v in args.values()):
                problems.append(f"{where}: counter args are not all numbers")
        elif ph == "M":
            if not isinstance(ev.get("args"), dict):
                problems.append(f"{where}: metadata without args")
    problems += [f"B without E on thread {key}: {names}" for key, names in open_b.items() if names]
    for key, spans in slices.items():
        stack: list[tuple[float, float, str]] = []
        for start, end, name in sorted(spans, key=lambda s: (s[0], -s[1])):
            while stack and stack[-1][1] <= start:
                stack.pop()
            if stack and end > stack[-1][1]:
                problems.append(f"X events cross on thread {key}: {stack[-1][2]} and {name}")
            stack.append((start, end, name))
    return problems
