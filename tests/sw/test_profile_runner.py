"""mcuorch-qemu-run --profile-functions with the image's plugin on the tiny model: segments of
every Run entry add up to the entry exactly in every counting mode; bad names are usage errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from .conftest import Built, run_qemu, tiny_build

FUNCTIONS = "mcuorch_model_invoke,mcuorch_model_output_bytes"  # the second is never run in Run


@pytest.mark.parametrize(("target", "mode"), [("riscv_qemu", "inline"), ("mps3_an547", "inline"),
                                              ("mps3_an547", "tb")])
def test_segments_add_up_to_every_run_entry(target: str, mode: str, tiny_builds: dict[str, Built],
                                            plugin: Path, tmp_path: Path) -> None:
    built = tiny_build(tiny_builds, target)
    plain = run_qemu(built, tmp_path / "plain", plugin, "--count-mode", mode)
    ran = run_qemu(built, tmp_path / "p", plugin, "--count-mode", mode, "--profile-functions", FUNCTIONS)
    assert ran.returncode == 0, ran.stderr
    counts, run = ran.counts, ran.counts["regions"]["run"]
    assert counts["total_instructions"] == plain.counts["total_instructions"]  # profiling adds nothing
    assert run["per_entry"] == plain.counts["regions"]["run"]["per_entry"]
    profile = counts["profile"]
    assert [f["name"] for f in profile["functions"]] == FUNCTIONS.split(",")
    assert len(profile["entries"]) == run["entries"] > 0
    for segments, expected in zip(profile["entries"], run["per_entry"]):
        assert sum(count for _, _, count in segments) == expected
        assert segments[0][0] == -1 and [s[:2] for s in segments if s[0] == 0][0] == [0, 1]  # glue, then entry
    assert sum(profile["totals"]) + profile["glue"] == run["instructions"]
    assert profile["totals"][0] > 0 and profile["totals"][1] == 0
    assert (ran.out / "profile_ranges.txt").read_text().startswith("0 ")


def test_unknown_function_is_a_usage_error(tiny_builds: dict[str, Built], plugin: Path, tmp_path: Path) -> None:
    ran = run_qemu(tiny_build(tiny_builds, "riscv_qemu"), tmp_path / "r", plugin,
                   "--profile-functions", "no_such_kernel")
    assert ran.returncode == 2 and "error: function 'no_such_kernel' is not in the ELF" in ran.stderr
