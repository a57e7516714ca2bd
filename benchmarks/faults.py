"""Faults a user meets, reproduced for real: what mcuorch said, its exit code, whether finished
results were kept and whether containers were left (tests/e2e/fault_scenarios.py).

    .venv/bin/python benchmarks/faults.py
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests.e2e.fault_scenarios import SCENARIOS  # noqa: E402


def main() -> None:
    rows = []
    for scenario in SCENARIOS:
        with tempfile.TemporaryDirectory(prefix="mcuorch-fault-") as home:
            observed = scenario(Path(home))
        kept = {None: "-", True: "yes", False: "NO"}[observed.results_kept]
        message = observed.message if len(observed.message) <= 90 else observed.message[:89] + "…"
        rows.append((observed.fault, str(observed.exit_code), message + (f" [{observed.detail}]" if observed.detail else ""),
                     kept, str(observed.containers_left)))
    print("| fault | exit | what the user saw | results kept | containers left |")
    print("|---|---|---|---|---|")
    for row in rows:
        print("| " + " | ".join(cell.replace("|", "\\|") for cell in row) + " |")


if __name__ == "__main__":
    main()
