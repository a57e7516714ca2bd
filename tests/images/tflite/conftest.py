"""Tests of the `tflite` image code; they run inside that image, launched from the host by
tests/integration/test_image_suites.py (or by hand in a venv with images/tflite/requirements.txt
installed). The image code is imported from the source tree: it is put on sys.path here."""

from __future__ import annotations

import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]
IMAGE_CODE = REPO / "images" / "tflite"
if str(IMAGE_CODE) not in sys.path:
    sys.path.insert(0, str(IMAGE_CODE))
