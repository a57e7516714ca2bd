"""Tests of the `tflite` image code. Run inside the image, or in a venv with
images/tflite/requirements.txt installed; the image code is put on sys.path here."""

from __future__ import annotations

import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]
IMAGE_CODE = REPO / "images" / "tflite"
if str(IMAGE_CODE) not in sys.path:
    sys.path.insert(0, str(IMAGE_CODE))

