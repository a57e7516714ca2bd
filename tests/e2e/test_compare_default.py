"""The issue's compare check on real images: aww on riscv_qemu at -O0 against -O2 is flagged
as a regression of Run Instructions and `mcuorch compare` exits 1; the same result twice is not."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.e2e.test_default_environment import last_report, mcuorch

pytestmark = [pytest.mark.e2e, pytest.mark.docker]


def test_optimize_0_against_2_is_a_regression(tmp_path: Path) -> None:
    home = tmp_path / "home"
    runs = {}
    for level in ("2", "0"):
        result = mcuorch(home, "run", "aww", "-b", "tvmaot", "-t", "riscv_qemu", "-c", f"mlif.optimize={level}", "-q")
        assert result.returncode == 0, result.stderr[-3000:]
        runs[level], _ = last_report(home)
    same = mcuorch(home, "compare", runs["2"]["id"], runs["2"]["id"])
    assert same.returncode == 0 and "1 runs compared: 0 regressed" in same.stderr, same.stderr
    diff = tmp_path / "diff.json"
    regressed = mcuorch(home, "compare", runs["2"]["id"], runs["0"]["id"], "--metric", "Run Instructions",
                        "--threshold", "1%", "--ignore-config", "mlif.optimize", "--json", str(diff))
    assert regressed.returncode == 1, regressed.stderr
    assert "regression: aww tvmaot riscv_qemu: Run Instructions" in regressed.stderr
    (run,) = json.loads(diff.read_text())["runs"]
    (delta,) = run["deltas"]
    assert delta["regressed"] and delta["new"] > delta["base"] * 1.01
