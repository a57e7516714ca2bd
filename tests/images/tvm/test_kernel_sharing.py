"""Structurally equal kernels are emitted once and called with different weights."""

from __future__ import annotations

import json
import re
from pathlib import Path

from support import REPO, run_build

AWW = REPO / "models" / "aww" / "model.tflite"


def test_repeated_blocks_share_kernel_functions(tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = run_build(AWW, out, name="aww")
    assert result.returncode == 0, result.stderr
    metrics = json.loads((out / "metrics.json").read_text())
    # DS-CNN: one first conv, then four identical depthwise+pointwise blocks, pool, FC, softmax
    assert metrics["Kernel Count"] == 12 and metrics["Kernel Functions"] == 6
    code = (out / "codegen" / "mcuorch_kernels.c").read_text()
    definitions = re.findall(r"^void (\w+)\([^)]*\) \{$", code, re.M)
    assert len(definitions) == len(set(definitions)) == metrics["Kernel Functions"]
    calls = re.findall(r"^  (mcuorch_\w+)\(", (out / "codegen" / "mcuorch_model.c").read_text(), re.M)
    assert len(calls) == 12 and set(calls) == set(definitions)
