"""Segments → invocations → layers → trace and table: the host side of `-f profile`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from orchestrator.errors import CollectError
from orchestrator.profile.chart import render_profile_chart
from orchestrator.profile.listing import KernelListing
from orchestrator.profile.outputs import write_profile
from orchestrator.profile.segments import CountsProfile, split_entry
from orchestrator.profile.summary import summarize
from orchestrator.profile.table import GLUE_ROW, instructions_text, profile_rows, top_rows
from orchestrator.profile.trace import chrome_trace, trace_problems

NAMES = ["k_conv", "k_dw"]
# One inference: harness glue, conv (calls memset: glue back into conv), glue, dw twice.
ENTRY = [[-1, 0, 16], [0, 1, 1000], [-1, 0, 50], [0, 0, 200], [-1, 0, 7], [1, 1, 300],
         [-1, 0, 7], [1, 1, 280], [-1, 0, 9]]


def listing() -> KernelListing:
    step = {"inputs": ["input0"], "output": "t", "input_shapes": [[1, 4, 4, 1]], "output_shape": [1, 4, 4, 8]}
    return KernelListing.model_validate({
        "steps": [{**step, "kernel": "k_conv", "name": "conv_2d_0", "op": "CONV_2D", "macs": 500},
                  {**step, "kernel": "k_dw", "name": "depthwise_conv_2d_0", "op": "DEPTHWISE_CONV_2D", "macs": 100},
                  {**step, "kernel": "k_dw", "name": "depthwise_conv_2d_1", "op": "DEPTHWISE_CONV_2D", "macs": 0}],
        "tensors": [{"tensor": "input0", "size": 16, "first_use": -1, "last_use": 0},
                    {"tensor": "t0", "size": 128, "first_use": 0, "last_use": 1},
                    {"tensor": "v0", "view_of": "t0", "size": 128, "first_use": 0, "last_use": 1},
                    {"tensor": "t1", "size": 128, "first_use": 1, "last_use": 3}]})


def counts_profile(*entries: list[list[int]]) -> CountsProfile:
    return CountsProfile.model_validate({
        "region": "run", "truncated": False, "glue": 0, "totals": [0, 0], "entries": list(entries),
        "functions": [{"name": n, "ranges": []} for n in NAMES]})


def test_helper_calls_count_for_the_kernel_and_everything_adds_up() -> None:
    entry = split_entry([tuple(s) for s in ENTRY], NAMES)
    conv, dw0, dw1 = entry.invocations
    assert (conv.function, conv.start, conv.own, conv.callees) == ("k_conv", 16, 1200, 50)
    assert (dw0.function, dw0.start, dw0.instructions) == ("k_dw", 1273, 300)
    assert (dw1.start, dw1.instructions) == (1580, 280)  # a new call, not a return into dw0
    assert entry.glue == 16 + 7 + 7 + 9
    assert sum(i.instructions for i in entry.invocations) + entry.glue == entry.total == 1869


def test_layers_sum_over_inferences_to_the_run_region_exactly() -> None:
    second = [list(s) for s in ENTRY]
    second[1][2] += 3  # data-dependent counts: the second inference differs
    summary = summarize(counts_profile(ENTRY, second), [1869, 1872], listing())
    assert [layer.name for layer in summary.layers] == ["conv_2d_0", "depthwise_conv_2d_0", "depthwise_conv_2d_1"]
    assert summary.layers[0].instructions == 1250 * 2 + 3
    assert sum(layer.instructions for layer in summary.layers) + summary.glue == summary.run_instructions == 3741
    assert summary.columns() == {"Top Kernel": "conv_2d_0", "Top Kernel Share [%]": round(100 * 2503 / 3741, 2)}
    assert [layer.live_bytes for layer in summary.layers] == [16 + 128, 256, 128]  # the view is not counted


def test_profile_that_disagrees_with_the_run_region_or_the_build_is_refused() -> None:
    with pytest.raises(CollectError, match="inference 0 has 1869 instructions, the Run region 1870"):
        summarize(counts_profile(ENTRY), [1870], listing())
    missing_call = ENTRY[:-2] + [[-1, 0, 9]]
    with pytest.raises(CollectError, match="called 2 kernels, the BUILD lists 3"):
        summarize(counts_profile(missing_call), [1869 - 280], listing())


def test_inlinable_steps_the_runner_did_not_profile_are_named_not_layers() -> None:
    """A step the compiler inlined away was not given to the runner: the summary leaves it out
    (its instructions are glue) and names it; one that was profiled stays a layer."""
    data = listing().model_dump()
    data["steps"].insert(1, {"kernel": "k_cast", "name": "fused_cast", "inlinable": True})
    data["steps"][0]["inlinable"] = True
    summary = summarize(counts_profile(ENTRY), [1869], KernelListing.model_validate(data))
    assert [layer.name for layer in summary.layers] == ["conv_2d_0", "depthwise_conv_2d_0", "depthwise_conv_2d_1"]
    assert summary.inlined == ["fused_cast"]
    assert sum(layer.instructions for layer in summary.layers) + summary.glue == 1869
    assert summarize(counts_profile(ENTRY), [1869], listing()).inlined == []


def test_trace_has_one_complete_event_per_kernel_in_call_order_and_passes_the_viewer_rules() -> None:
    summary = summarize(counts_profile(ENTRY), [1869], listing())
    trace = chrome_trace(summary, "toy tvmaot riscv_qemu")
    assert trace_problems(json.loads(json.dumps(trace))) == []
    slices = [e for e in trace["traceEvents"] if e["ph"] == "X"]
    assert [(e["name"], e["ts"], e["dur"]) for e in slices] == [
        ("conv_2d_0", 16, 1250), ("depthwise_conv_2d_0", 1273, 300), ("depthwise_conv_2d_1", 1580, 280)]
    assert slices[0]["args"]["instructions/MAC"] == 2.5 and slices[0]["args"]["op"] == "CONV_2D"
    assert slices[2]["args"]["instructions/MAC"] is None  # no MACs (0): no ratio
    assert [e["args"]["live bytes"] for e in trace["traceEvents"] if e["ph"] == "C"] == [144, 256, 128]


@pytest.mark.parametrize(("broken", "problem"), [
    ({"events": []}, "traceEvents"),
    ({"traceEvents": [{"ph": "X", "name": "a", "ts": 0, "pid": 1, "tid": 1}]}, "dur"),
    ({"traceEvents": [{"ph": "X", "name": "a", "ts": "0", "dur": 1, "pid": 1, "tid": 1}]}, "ts is not"),
    ({"traceEvents": [{"ph": "B", "name": "a", "ts": 0, "pid": 1, "tid": 1}]}, "B without E"),
    ({"traceEvents": [{"ph": "C", "name": "c", "ts": 0, "pid": 1, "args": {"x": "1"}}]}, "counter"),
    ({"traceEvents": [{"ph": "X", "name": "a", "ts": 0, "dur": 10, "pid": 1, "tid": 1},
                      {"ph": "X", "name": "b", "ts": 5, "dur": 10, "pid": 1, "tid": 1}]}, "cross"),
])
def test_viewer_rules_catch_malformed_traces(broken: dict, problem: str) -> None:
    assert any(problem in p for p in trace_problems(broken))


def test_table_shares_make_100_percent_with_glue_and_top_rows_are_largest_first() -> None:
    summary = summarize(counts_profile(ENTRY, ENTRY), [1869, 1869], listing())
    rows = profile_rows(summary)
    assert [r.layer for r in rows][-1] == GLUE_ROW
    assert sum(r.share for r in rows) == pytest.approx(100.0)
    assert rows[0].instructions == 1250 and rows[0].per_mac == 2.5 and rows[2].per_mac is None
    assert [r.layer for r in top_rows(summary, 2)] == ["conv_2d_0", "depthwise_conv_2d_0"]
    assert instructions_text(1250.0) == "1250" and instructions_text(1250.25) == "1250.25"


def test_chart_renders_png_and_svg_of_the_top_layers() -> None:
    summary = summarize(counts_profile(ENTRY), [1869], listing())
    svg = render_profile_chart(summary, "toy", "svg", top=2).decode()
    assert "conv_2d_0 (CONV_2D)" in svg and "depthwise_conv_2d_1" not in svg
    assert render_profile_chart(summary, "toy", "png").startswith(b"\x89PNG")


def test_outputs_are_written_from_counts_json(tmp_path: Path) -> None:
    counts = {"format": "mcuorch-insncount-1", "qemu_target": "riscv32", "mode": "inline",
              "total_instructions": 5000,
              "regions": {"run": {"begin": "0x1", "end": "0x2", "entries": 1, "open": False,
                                  "instructions": 1869, "per_entry": [1869]}},
              "profile": {"region": "run", "truncated": False, "glue": 39, "totals": [1250, 580],
                          "entries": [ENTRY], "functions": [{"name": n, "ranges": []} for n in NAMES]}}
    (tmp_path / "counts.json").write_text(json.dumps(counts))
    summary = write_profile(tmp_path / "counts.json", listing(), tmp_path, "toy")
    assert summary.first_glue == 39
    trace = json.loads((tmp_path / "profile.json").read_text())
    assert trace["displayTimeUnit"] == "ms" and trace_problems(trace) == []
    assert json.loads((tmp_path / "profile_summary.json").read_text())["run_instructions"] == 1869


def test_local_kernels_are_named_by_object_and_told_apart_by_call_order() -> None:
    """tflmi/tflmc: one `Eval` symbol per kernel file; every op call is a step, in execution order."""
    sym = "_ZN6tflite12_GLOBAL__N_14EvalEP13TfLiteContextP10TfLiteNode"
    steps = [{"kernel": sym, "object": "conv.cc", "name": "conv_2d_0", "op": "CONV_2D", "macs": 500},
             {"kernel": sym, "object": "depthwise_conv.cc", "name": "depthwise_conv_2d_0", "op": "DEPTHWISE_CONV_2D"},
             {"kernel": sym, "object": "depthwise_conv.cc", "name": "depthwise_conv_2d_1", "op": "DEPTHWISE_CONV_2D"}]
    local = KernelListing.model_validate({"steps": steps})
    names = [f"conv.cc:{sym}", f"depthwise_conv.cc:{sym}"]
    assert local.functions() == names
    assert local.live_bytes(0) is None
    profile = CountsProfile.model_validate({
        "region": "run", "truncated": False, "glue": 0, "totals": [0, 0], "entries": [ENTRY],
        "functions": [{"name": n, "ranges": []} for n in names]})
    summary = summarize(profile, [1869], local)
    assert [(layer.name, layer.object, layer.instructions) for layer in summary.layers] == [
        ("conv_2d_0", "conv.cc", 1250), ("depthwise_conv_2d_0", "depthwise_conv.cc", 300),
        ("depthwise_conv_2d_1", "depthwise_conv.cc", 280)]
    event = next(e for e in chrome_trace(summary, "t")["traceEvents"] if e["ph"] == "X")
    assert event["args"]["kernel"] == sym and event["args"]["object"] == "conv.cc"
    with pytest.raises(CollectError, match="first difference at call 0"):
        summarize(profile, [1869], KernelListing.model_validate({"steps": steps[1:] + steps[:1]}))
