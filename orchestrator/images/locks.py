"""Python pins of an image: the `name==version` lines of its hash-pinned requirements lock.

The lock files are the single source of the pip pins (the environment lists apt pins and
sources); `mcuorch env show` reads them from here so every pin is visible in one place.
"""

from __future__ import annotations

import re
from pathlib import Path

LOCK_FILE = "requirements.txt"
_PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;\\]+)")


def pip_pins(recipe_dir: Path) -> dict[str, str]:
    """`{package: version}` from the recipe's lock; empty when the image installs no Python packages."""
    lock = recipe_dir / LOCK_FILE
    if not lock.is_file():
        return {}
    pins: dict[str, str] = {}
    for line in lock.read_text(encoding="utf-8").splitlines():
        match = _PIN.match(line.strip())
        if match:
            pins[match.group(1).lower().replace("_", "-")] = match.group(2)
    return pins
