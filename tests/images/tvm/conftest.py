"""Tests of the `tvm` image code; they run inside that image, launched from the host by
tests/integration/test_image_suites.py (or by hand: `python3 -m pytest tests/images/tvm` in
the image or in a venv with images/tvm/requirements.txt).

``mcuorch_tvm`` is imported from the source tree (the image has its copy on PYTHONPATH), and
the tflite image's ``mcuorch_tflite`` (model builder, TFLite-Micro reference) is importable
too: its dependencies (numpy, tflite, tflite-micro) are in the tvm lock.
"""

import sys
from pathlib import Path

IMAGES = Path(__file__).resolve().parents[3] / "images"
IMAGE_DIR = IMAGES / "tvm"
if str(IMAGE_DIR) not in sys.path:
    sys.path.insert(0, str(IMAGE_DIR))
if str(IMAGES / "tflite") not in sys.path:
    sys.path.append(str(IMAGES / "tflite"))
