"""Integer-kernel tests: make the helpers of this folder importable (pytest prepend mode)."""

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))
