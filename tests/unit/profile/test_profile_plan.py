"""`-f profile` in the plan: the RUN job reads BUILD's kernel listing; other runs are unchanged."""

from __future__ import annotations

from pathlib import Path

import pytest

from orchestrator.components.base import Stage
from orchestrator.components.registry import builtin_registry
from orchestrator.environment import load_environment
from orchestrator.errors import ConfigError
from orchestrator.matrix import MatrixBuilder, MatrixRequest
from orchestrator.paths import project_paths
from orchestrator.plan import Planner


def _plan(**request: object):  # type: ignore[no-untyped-def]
    runs = MatrixBuilder(load_environment("default"), builtin_registry()).expand(MatrixRequest(**request))
    for run in runs:
        for component in run.components.values():
            component.check_run(run)
    return Planner(project_paths()).plan(runs, identity=lambda name: f"image:{name}")


def test_profiled_run_job_depends_on_build_and_only_it_changes(models: Path) -> None:
    plain = _plan(models=["aww"], targets=["riscv_qemu", "mps3_an547"])
    profiled = _plan(models=["aww"], targets=["riscv_qemu", "mps3_an547"], features=["profile"])
    runs = [j for j in profiled.jobs if j.stage is Stage.RUN]
    assert len(runs) == 2 and all(set(j.upstream) == {Stage.COMPILE, Stage.BUILD} for j in runs)
    assert all(j.key_inputs.config[j.key_inputs.components["target"]]["profile"] is True for j in runs)
    changed = {x.stage for x, y in zip(plain.jobs, profiled.jobs, strict=True) if x.id != y.id}
    assert changed == {Stage.RUN}
    assert all(set(j.upstream) == {Stage.COMPILE} for j in plain.jobs if j.stage is Stage.RUN)


def test_profile_is_refused_where_it_cannot_work(models: Path) -> None:
    with pytest.raises(ConfigError, match="sets nothing|host_x86"):
        _plan(models=["aww"], targets=["host_x86"], features=["profile"])


def test_tumeda_c_backends_are_profiled_through_their_kernel_listing(models: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def expand(backend: str) -> list:  # type: ignore[type-arg]
        return MatrixBuilder(load_environment("tumeda"), builtin_registry()).expand(
            MatrixRequest(models=["aww"], backends=[backend], targets=["riscv_qemu"], features=["profile"]))

    for backend in ("tflmi", "tflmc", "tvmaot", "tvmaotplus", "tvmrt"):
        (run,) = expand(backend)
        for component in run.components.values():
            component.check_run(run)
        assert run.backend_component.kernel_listing == "kernels.json"
        assert run.target_component.extra_inputs(run) == [Stage.BUILD]
    # A backend whose BUILD lists nothing (a plugin's; tvmllvm runs on host_x86 only) is refused.
    monkeypatch.setattr(type(run.backend_component), "kernel_listing", None)
    with pytest.raises(ConfigError, match=r"lists its kernel calls \(every C backend: .*\), not tvmrt"):
        run.target_component.check_run(run)
