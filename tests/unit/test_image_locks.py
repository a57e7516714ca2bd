"""Pip pins are read from an image's hash-pinned lock file."""

from __future__ import annotations

import json
from pathlib import Path

from orchestrator.environment import load_environment
from orchestrator.images.build import image_labels
from orchestrator.images.locks import pip_pins
from orchestrator.images.tags import resolve_images
from orchestrator.paths import project_paths


def test_pins_come_from_name_version_lines(tmp_path: Path) -> None:
    (tmp_path / "requirements.txt").write_text(
        "# comment\napache-tvm==0.27.0.post1 \\\n    --hash=sha256:ab\nTyping_Extensions==4.16.0 --hash=sha256:cd\n"
        "    --hash=sha256:ef\n")
    assert pip_pins(tmp_path) == {"apache-tvm": "0.27.0.post1", "typing-extensions": "4.16.0"}
    assert pip_pins(tmp_path / "missing") == {}


def test_shipped_tvm_image_pins_the_pypi_tvm() -> None:
    assert pip_pins(project_paths().images / "tvm")["apache-tvm"] == "0.27.0.post1"


def test_image_labels_carry_apt_and_pip_pins() -> None:
    images = resolve_images(load_environment("default"), client=None, namespace="mcuorch")
    pins = json.loads(image_labels(images.get("tvm"))["mcuorch.pins"])
    assert pins["apache-tvm"] == "0.27.0.post1"
    assert pins["python3-venv"] == images.get("tvm").pins["python3-venv"]
    assert "apache-tvm" not in json.loads(image_labels(images.get("qemu"))["mcuorch.pins"])
