"""Pip pins are read from an image's hash-pinned lock file."""

from __future__ import annotations

from pathlib import Path

from orchestrator.images.locks import pip_pins
from orchestrator.paths import project_paths


def test_pins_come_from_name_version_lines(tmp_path: Path) -> None:
    (tmp_path / "requirements.txt").write_text(
        "# comment\napache-tvm==0.27.0.post1 \\\n    --hash=sha256:ab\nTyping_Extensions==4.16.0 --hash=sha256:cd\n"
        "    --hash=sha256:ef\n")
    assert pip_pins(tmp_path) == {"apache-tvm": "0.27.0.post1", "typing-extensions": "4.16.0"}
    assert pip_pins(tmp_path / "missing") == {}


def test_shipped_tvm_image_pins_the_pypi_tvm() -> None:
    assert pip_pins(project_paths().images / "tvm")["apache-tvm"] == "0.27.0.post1"
