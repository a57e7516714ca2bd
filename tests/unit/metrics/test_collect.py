from __future__ import annotations

from pathlib import Path

import pytest

from orchestrator.components import collectors
from orchestrator.errors import CollectError
from orchestrator.metrics import elf_metrics, run_metrics
from orchestrator.metrics.counts import CountsError
from orchestrator.metrics.elf_memory import static_memory
from orchestrator.metrics.targets import load_target

from .conftest import REPO, RUNS


def _run(case: str) -> tuple[str, Path | None, int]:
    run = RUNS / case
    counts = run / "counts.json"
    return ((run / "stdout.txt").read_text(), counts if counts.exists() else None,
            int((run / "exit_code").read_text()))


@pytest.mark.parametrize("case", ["riscv_qemu", "mps3_an547", "host_x86"])
def test_elf_metrics_use_the_targets_memory_map(case: str) -> None:
    spec = load_target(case, REPO / "sw")
    expected = static_memory(RUNS / case / "app.elf", spec.memory.flash, spec.memory.ram).columns()
    assert elf_metrics(RUNS / case / "app.elf", case) == expected


def test_elf_metrics_of_a_target_without_a_memory_map() -> None:
    """Targets that sw/targets does not describe are classified by section flags."""
    elf = RUNS / "mps3_an547" / "app.elf"
    assert elf_metrics(elf, "some_board") == static_memory(elf).columns()
    assert elf_metrics(elf, "some_board") != elf_metrics(elf, "mps3_an547")  # the vector table


@pytest.mark.parametrize("case", ["riscv_qemu", "riscv_qemu_rv32imc", "mps3_an547", "mps2_an386",
                                  "mps2_an385"])
def test_a_validated_qemu_run(case: str) -> None:
    stdout, counts, code = _run(case)
    m = run_metrics(stdout, counts, case)
    assert code == 0 and m["Validation"] is True
    assert {"Setup Instructions", "Run Instructions", "Total Instructions", "RAM stack",
            "Validation Mismatches", "Validation Max Diff"} <= set(m)
    assert "Total Runtime [s]" not in m and "Total Cycles" not in m


def test_host_run_has_times_and_no_instructions() -> None:
    stdout, counts, _ = _run("host_x86")
    m = run_metrics(stdout, counts, "host_x86")
    assert m["Validation"] is True and m["Total Runtime [s]"] > 0 and m["RAM stack"] > 0
    assert not [k for k in m if "Instructions" in k]


@pytest.mark.parametrize("case", ["riscv_qemu_mismatch", "mps2_an385_argmax_mismatch"])
def test_mismatch(case: str) -> None:
    stdout, counts, code = _run(case)
    assert code == 0x12
    assert run_metrics(stdout, counts, case)["Validation"] is False
    # Through the stage collector, as the pipeline calls it.
    m = collectors.run_metrics(stdout, code, counts, case)
    assert m["Validation"] is False and m["Validation Mismatches"] == 1


@pytest.mark.parametrize("case", ["riscv_qemu_trap", "mps2_an386_trap"])
def test_trap_reports_only_what_was_measured(case: str) -> None:
    stdout, counts, code = _run(case)
    m = run_metrics(stdout, counts, case)
    assert "Validation" not in m and "Run Instructions" not in m and "Inferences" not in m
    assert m["Setup Instructions"] > 0
    with pytest.raises(CollectError, match=f"program exit code {code} \\(crash\\)"):
        collectors.run_metrics(stdout, code, counts, case)


def test_validation_none_gives_no_verdict() -> None:
    stdout = (RUNS / "riscv_qemu" / "stdout.txt").read_text().replace(
        "Validation mode: exact", "Validation mode: none")
    m = run_metrics(stdout, None, "riscv_qemu")
    assert "Validation" not in m and m["Validation Mismatches"] == 0


def test_bad_counts_name_the_target(tmp_path: Path) -> None:
    (tmp_path / "counts.json").write_text("[]")
    with pytest.raises(CountsError, match="^mps2_an386: "):
        run_metrics((RUNS / "riscv_qemu" / "stdout.txt").read_text(), tmp_path / "counts.json", "mps2_an386")


@pytest.mark.parametrize("cut", ["", "Program start.\n# Inferences: 4\n"])
def test_output_without_both_markers_fails_the_run(cut: str) -> None:
    """Blank columns must never pass as a measured run (an exec stream can lose output)."""
    with pytest.raises(CollectError, match="^host_x86: the program's output is incomplete"):
        collectors.run_metrics(cut, 0, None, "host_x86")
