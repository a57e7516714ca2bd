"""The harness's comparison and number formatting (sw/harness/validate.c, report.c), compiled
natively with a driver (tests/sw/c/validate_check.c) once per validation mode."""

from __future__ import annotations

import re
from pathlib import Path

from .conftest import REPO, TINY, tool

MODES = {"none": 0, "exact": 1, "atol": 2, "argmax": 3}


def run_driver(tmp_path: Path, mode: str) -> dict[str, dict[str, float]]:
    exe = tmp_path / f"check_{mode}"
    harness = REPO / "sw" / "harness"
    # Natively, in the `host` image (the host_x86 target's compiler).
    tool("host", ["gcc", "-std=c99", "-Wall", "-Wextra", "-Werror", f"-DMCUORCH_VALIDATE={MODES[mode]}",
                  "-DMCUORCH_ATOL_INT=2", "-DMCUORCH_ATOL_FLOAT=((float)0.3)", f"-I{harness}",
                  f"-I{TINY}", "-o", str(exe), str(REPO / "tests" / "sw" / "c" / "validate_check.c"),
                  str(harness / "validate.c"), str(harness / "report.c"), "-lm"], check=True)
    out = tool("host", [str(exe)], check=True).stdout
    cases: dict[str, dict[str, float]] = {}
    for line in out.splitlines():
        label, *fields = line.split()
        if fields and "=" in fields[0]:
            cases[label] = {k: float(v) for k, v in (f.split("=") for f in fields)}
    cases["printed"] = {}
    for name, value in re.findall(r"^# (\w+): (\S+)$", out, re.MULTILINE):
        cases["printed"][name] = value  # type: ignore[assignment]
    cases["unknown"] = {"rc": float(re.search(r"^unknown=(-?\d+)$", out, re.MULTILINE).group(1))}
    return cases


def test_exact_mode(tmp_path: Path) -> None:
    c = run_driver(tmp_path, "exact")
    assert c["int8"] == {"elements": 4, "mismatches": 1, "argmax": 0, "max_int": 2, "max_float": 0,
                         "nan": 0, "passed": 0}
    assert c["int32"]["max_int"] == 2**32 - 1 and c["int32"]["argmax"] == 1
    assert (c["uint8+int16"]["mismatches"], c["uint8+int16"]["argmax"]) == (3, 2)
    assert c["float"]["mismatches"] == 3 and c["float"]["nan"] == 1 and c["float"]["max_float"] == 1.0
    assert c["unknown"]["rc"] == -1


def test_atol_mode_tolerates_up_to_atol(tmp_path: Path) -> None:
    c = run_driver(tmp_path, "atol")
    assert c["int8"]["mismatches"] == 0 and c["int8"]["passed"] == 1  # off by 2, atol 2
    assert c["uint8+int16"]["mismatches"] == 1  # 180 > 2; the two off-by-one int16 pass
    assert c["float"]["mismatches"] == 2  # 0.25 <= 0.3 passes, NaN and 1.0 do not


def test_argmax_mode_judges_the_winner_only(tmp_path: Path) -> None:
    c = run_driver(tmp_path, "argmax")
    assert c["int8"]["passed"] == 1 and c["int8"]["mismatches"] == 1
    assert c["float"]["argmax"] == 1 and c["float"]["passed"] == 0  # NaN ignored: 2.0 vs 1.0 wins


def test_none_mode_always_passes_but_still_counts(tmp_path: Path) -> None:
    c = run_driver(tmp_path, "none")
    assert all(c[k]["passed"] == 1 for k in ("int8", "int32", "uint8+int16", "float"))
    assert c["int32"]["mismatches"] == 1


def test_number_formatting(tmp_path: Path) -> None:
    printed = run_driver(tmp_path, "exact")["printed"]
    assert printed == {"f1": "0.500000", "f2": "1234.000000", "f3": "3.000000e+10", "f4": "-0.000000",
                       "f5": "inf", "f6": "nan", "f7": "1.000000", "u1": "4294967295",
                       "s1": "1234.567890123"}
