"""`mcuorch models`: each bundled model's operators, marking those tvmaot cannot compile."""

from __future__ import annotations

from pathlib import Path

from orchestrator.cli.models import operator_line
from orchestrator.components.backends import TvmAot
from orchestrator.models import model_operators
from orchestrator.paths import project_paths


def test_tvmaot_supported_ops_come_from_the_image() -> None:
    ops = TvmAot.supported_ops()
    assert {"CONV_2D", "QUANTIZE", "DEQUANTIZE", "LOGISTIC", "TRANSPOSE"} <= ops
    assert not any(op.startswith("#") for op in ops)


def test_operator_line_marks_unsupported() -> None:
    supported = frozenset({"CONV_2D", "SOFTMAX"})
    assert operator_line(["CONV_2D", "SOFTMAX"], supported) == "ops: CONV_2D SOFTMAX  (tvmaot: all supported)"
    assert operator_line(["CONV_2D", "LOG_SOFTMAX"], supported) == \
        "ops: CONV_2D LOG_SOFTMAX!  (!: not supported by tvmaot)"
    assert operator_line(None, supported).startswith("ops: (not listed")
    assert operator_line(["CONV_2D", "LOG_SOFTMAX"], None) == "ops: CONV_2D LOG_SOFTMAX"  # tvmaot is the fork


def test_bundled_definitions_list_operators(tmp_path: Path) -> None:
    assert model_operators(project_paths().models / "sine_model") == ["FULLY_CONNECTED"]
    (tmp_path / "definition.yml").write_text("name: x\noperators:\n  TensorFlow Lite: [SOFTMAX, CONV_2D]\n")
    assert model_operators(tmp_path) == ["CONV_2D", "SOFTMAX"]
    (tmp_path / "definition.yml").write_text(": not yaml :\n  - [")
    assert model_operators(tmp_path) is None
    assert model_operators(tmp_path / "missing") is None
