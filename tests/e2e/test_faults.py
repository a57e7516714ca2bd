"""The fault suite: every fault a user met (issue findings), reproduced for real through a
real mcuorch process, a real engine and real runs (tests/e2e/fault_scenarios.py), judged by
what a user is owed: one `error:` line or a named Reason, a non-zero exit code, the finished
results kept, and no container left behind. benchmarks/faults.py prints the same table.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.e2e import fault_scenarios as faults

pytestmark = [pytest.mark.e2e, pytest.mark.docker]


def _one_error_line(observed: faults.Observed, *words: str) -> None:
    assert observed.exit_code == 2, observed
    assert observed.error_lines == 1 and observed.message.startswith("error:"), observed
    assert "internal error" not in observed.message and "Traceback" not in observed.message
    for word in words:
        assert word in observed.message, observed
    assert observed.containers_left == 0


@pytest.mark.parametrize(("scenario", "words"), [
    (faults.unknown_backend, ("tvmnope",)),
    (faults.malformed_config, ("rv99x",)),
    (faults.broken_environment_file, ("broken.yml.j2",)),
    (faults.label_escape, ("label",)),
    (faults.engine_unreachable, ("Docker engine", "no-engine.sock")),
], ids=lambda v: getattr(v, "__name__", ""))
def test_bad_input_is_one_error_line(scenario: Callable[[Path], faults.Observed], words: tuple[str, ...],
                                     tmp_path: Path) -> None:
    observed = scenario(tmp_path)
    _one_error_line(observed, *words)
    assert "files outside" not in observed.detail


def test_a_corrupt_model_fails_its_run_only(tmp_path: Path) -> None:
    observed = faults.corrupt_model(tmp_path)
    assert observed.exit_code == 1 and observed.results_kept, observed
    assert observed.containers_left == 0


def test_an_edited_cache_entry_is_rerun_not_reported(tmp_path: Path) -> None:
    observed = faults.corrupted_cache_entry(tmp_path)
    assert observed.exit_code == 0 and observed.results_kept, observed
    assert observed.containers_left == 0


def test_a_full_disk_is_one_actionable_line(tmp_path: Path) -> None:
    observed = faults.disk_full(tmp_path)
    assert observed.exit_code != 0 and observed.error_lines == 1, observed
    assert "No space left" in observed.message or "disk" in observed.message.lower(), observed
    assert "internal error" not in observed.message
    assert observed.containers_left == 0


def test_a_killed_container_is_named_and_the_bystander_finishes(tmp_path: Path) -> None:
    observed = faults.killed_container(tmp_path)
    assert observed.exit_code == 1 and observed.results_kept, observed
    assert "killed" in observed.detail, observed
    assert observed.containers_left == 0


def test_ctrl_c_keeps_finished_runs_and_leaves_no_container(tmp_path: Path) -> None:
    observed = faults.interrupted(tmp_path)
    assert observed.exit_code == 130 and observed.results_kept, observed
    assert observed.containers_left == 0


def test_a_lost_engine_is_one_line_exit_3_and_resume_finishes(tmp_path: Path) -> None:
    observed = faults.engine_lost(tmp_path)
    assert "cut after a finished run: yes" in observed.detail, observed
    assert observed.exit_code == 3, observed
    assert observed.error_lines == 1, observed
    assert observed.message.startswith("error: lost the Docker engine at unix://"), observed
    assert "/docker.sock; 1 finished run(s) kept; when the engine is back: mcuorch run --resume " in observed.message
    assert observed.results_kept, observed  # sine_model's validated run, in the session's report
    assert "resume: exit 0, 2/2 runs validated" in observed.detail, observed
    assert observed.containers_left == 0, observed  # the resumed session's gc took the hidden ones


def test_an_image_removed_mid_session_is_one_clear_line(tmp_path: Path) -> None:
    observed = faults.image_removed(tmp_path)
    assert "after LOAD: yes" in observed.detail, observed
    assert observed.exit_code != 0 and observed.error_lines == 1, observed
    assert re.fullmatch(r"error: image mcuorch-fault-[0-9a-f]{8}/qemu:[0-9a-f]+ is missing \(removed during "
                        r"the session\?\); run the command again, missing images are rebuilt", observed.message), observed
    assert "internal error" not in observed.message
    assert observed.containers_left == 0
