"""Shared mount sets: a warm container of one stage sees only what that stage's jobs need."""

from __future__ import annotations

from pathlib import Path

from orchestrator.components.base import Stage
from orchestrator.runtime.base import Mount
from orchestrator.runtime.mounts import shared_set_for, stage_mount_sets


def _sets(tmp_path: Path) -> tuple[Path, list[tuple[Mount, ...]]]:
    jobs, sw = tmp_path / "jobs", tmp_path / "sw"
    sw.mkdir()
    return jobs, stage_mount_sets(jobs, [sw])


def test_each_stage_writes_only_its_own_staging_and_reads_only_earlier_outputs(tmp_path: Path) -> None:
    jobs, sets = _sets(tmp_path)
    by_stage = dict(zip(Stage.jobs(), sets))
    for index, stage in enumerate(Stage.jobs()):
        writable = [m.path for m in by_stage[stage] if not m.read_only]
        assert writable == [jobs / stage.value / ".staging"]
        readable = {m.path for m in by_stage[stage] if m.read_only}
        assert readable == {tmp_path / "sw", *(jobs / s.value for s in Stage.jobs()[:index])}


def test_a_request_gets_the_set_of_its_stage_or_its_own_mounts(tmp_path: Path) -> None:
    jobs, sets = _sets(tmp_path)
    compile_job = [Mount(path=jobs / "LOAD" / "k1"), Mount(path=jobs / "BUILD" / "k2"),
                   Mount(path=jobs / "COMPILE" / ".staging" / "k3" / "outputs", read_only=False)]
    chosen = shared_set_for(compile_job, sets)
    assert chosen is not None and Mount(path=jobs / "COMPILE" / ".staging", read_only=False) in chosen
    assert all(m.path != jobs / "RUN" for m in chosen)
    # Reading a later stage's output, or writing outside any staging folder: no shared set.
    assert shared_set_for([Mount(path=jobs / "RUN" / "k4"),
                           Mount(path=jobs / "BUILD" / ".staging" / "k5", read_only=False)], sets) is None
    assert shared_set_for([Mount(path=tmp_path / "sw", read_only=False)], sets) is None


def test_only_compile_containers_share_the_compiler_cache(tmp_path: Path) -> None:
    jobs, sw, cache = tmp_path / "jobs", tmp_path / "sw", tmp_path / "cache" / "ccache"
    sw.mkdir()
    sets = dict(zip(Stage.jobs(), stage_mount_sets(jobs, [sw], {Stage.COMPILE: [cache]})))
    assert Mount(path=cache, read_only=False) in sets[Stage.COMPILE] and cache.is_dir()
    assert all(m.path != cache for stage in (Stage.LOAD, Stage.BUILD, Stage.RUN) for m in sets[stage])
    compile_job = [Mount(path=jobs / "BUILD" / "k2"), Mount(path=cache, read_only=False),
                   Mount(path=jobs / "COMPILE" / ".staging" / "k3" / "outputs", read_only=False)]
    assert shared_set_for(compile_job, list(sets.values())) == sets[Stage.COMPILE]
