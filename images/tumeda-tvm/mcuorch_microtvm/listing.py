"""kernels.json: the kernel listing `-f profile` attributes a microTVM run's instructions by.

microTVM's kernels are the fused operator functions `tvmgen_default_fused_*`, global symbols of
the generated C. One step per call an inference makes, in order:

  AOT (tvmaot, tvmaotplus)  the calls in the body of `tvmgen_default___tvm_main__`, the AOT
                            executor's straight-line main (packed and unpacked API alike)
  graph (tvmrt)             the graph's `tvm_op` nodes in node order, the order the C
                            runtime's graph executor runs them; `__nop` nodes (a reshape the
                            planner made an alias) call nothing and are left out

A step's layer name is the function's name without `tvmgen_default_` (numbered from the second
call on when one function serves several layers), its op the leading Relay operator of the
fused name where it is a known one. Every step is `inlinable`: GCC inlines a small fused
function called once into the AOT main and the linker drops its unused copy, so the profile
counts it in the main (glue) and names it as inlined. Relay's fused functions carry no MACs and no tensor
lifetimes, so a microTVM profile has neither (the trace's events and the table still add up).
"""

from __future__ import annotations

import re
from pathlib import Path

from .errors import CodegenError
from .glue import PACKED_MAIN as MAIN
from .mlf import MODULE

LISTING = "kernels.json"
PREFIX = f"tvmgen_{MODULE}_"
_COMMENTS = re.compile(r"//[^\n]*|/\*.*?\*/", re.S)
_CALL = re.compile(r"\b(" + PREFIX + r"\w+)\s*\(")
OPERATORS = ("nn_contrib_dense_pack", "nn_conv2d_transpose", "nn_conv2d", "nn_dense", "nn_avg_pool2d",
             "nn_max_pool2d", "nn_global_avg_pool2d", "nn_softmax", "nn_log_softmax", "nn_relu", "nn_pad",
             "nn_batch_flatten", "nn_bias_add", "fixed_point_multiply", "layout_transform", "concatenate",
             "transpose", "reshape", "squeeze", "expand_dims", "strided_slice", "mean", "sum", "max",
             "min", "cast", "add", "subtract", "multiply", "divide", "clip", "sigmoid", "tanh", "exp",
             "right_shift", "left_shift", "where", "take")
"""Relay operator names as they appear in fused function names (longest first where one is a
prefix of another)."""


def _function_body(code: str, name: str) -> str | None:
    """The body of the function `name` defined in comment-free C `code` (None: not defined)."""
    for match in re.finditer(r"\b" + name + r"\s*\(", code):
        close = _closing(code, match.end() - 1, "(", ")")
        if not code[close + 1:].lstrip().startswith("{"):
            continue  # a declaration or a call
        start = code.index("{", close)
        return code[start + 1:_closing(code, start, "{", "}")]
    return None


def _closing(code: str, start: int, opening: str, closing: str) -> int:
    """Offset of the bracket that closes the one at `start`."""
    depth = 0
    for i in range(start, len(code)):
        depth += 1 if code[i] == opening else -1 if code[i] == closing else 0
        if depth == 0:
            return i
    raise CodegenError(f"unbalanced '{opening}' in the generated C")


def aot_calls(sources: list[Path]) -> list[str]:
    """Kernel functions the AOT main calls, in order."""
    for source in sources:
        body = _function_body(_COMMENTS.sub(" ", source.read_text(errors="replace")), MAIN)
        if body is not None:
            return [name for name in _CALL.findall(body) if name != MAIN]
    raise CodegenError(f"the generated C defines no {MAIN} (the AOT executor's main)")


def graph_calls(graph: dict) -> list[str]:
    """Kernel functions the graph executor calls, in node order."""
    calls = []
    for node in graph.get("nodes", []):
        name = node.get("attrs", {}).get("func_name", "") if node.get("op") == "tvm_op" else ""
        if name.startswith(PREFIX):
            calls.append(name)
    return calls


def leading_operator(function: str) -> str | None:
    """`tvmgen_default_fused_nn_conv2d_add_cast` → `nn.conv2d`; None when not a known op."""
    rest = function.removeprefix(PREFIX).removeprefix("fused_")
    for op in OPERATORS:
        if rest == op or rest.startswith(op + "_"):
            return op.replace("nn_contrib_", "nn.contrib_").replace("nn_", "nn.", 1)
    return None


def listing(calls: list[str]) -> dict:
    """kernels.json's content (the format orchestrator/profile/listing.py reads)."""
    if not calls:
        raise CodegenError("the compiled model calls no operator function")
    seen: dict[str, int] = {}
    steps = []
    for function in calls:
        seen[function] = seen.get(function, 0) + 1
        short = function.removeprefix(PREFIX)
        steps.append({"kernel": function, "name": short if seen[function] == 1 else f"{short}#{seen[function]}",
                      "op": leading_operator(function), "inlinable": True})
    return {"steps": steps}
