"""Make ``mcuorch_tvm`` importable from the source tree (in the image it is on PYTHONPATH)."""

import sys
from pathlib import Path

IMAGE_DIR = Path(__file__).resolve().parents[3] / "images" / "tvm"
if str(IMAGE_DIR) not in sys.path:
    sys.path.insert(0, str(IMAGE_DIR))
