"""End to end `-f trace` on the QEMU targets of the default environment: real BUILD, COMPILE and
QEMU with the plugin's memory trace. The traced `RAM stack` must equal the figure of the same
runs without the feature (the plugin's stack watch), nothing of tvmaot's programs mallocs, and
the arena bytes written fit the planned arena."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from tests.e2e.test_default_environment import last_report, mcuorch

TARGETS = ["riscv_qemu", "mps3_an547"]
pytestmark = [pytest.mark.e2e, pytest.mark.docker]
KEY = ["Model", "Target"]


def _session(home: Path, *extra: str) -> pd.DataFrame:
    targets = [arg for target in TARGETS for arg in ("-t", target)]
    done = mcuorch(home, "run", "sine_model", "aww", "-b", "tvmaot", *targets, "--parallel", "2", *extra)
    assert done.returncode == 0, done.stderr[-3000:]
    _, report = last_report(home)
    assert len(report) == 4 and not report["Failing"].any() and report["Validation"].all()
    return report.set_index(KEY).sort_index()


@pytest.fixture(scope="module")
def reports(tmp_path_factory: pytest.TempPathFactory) -> tuple[pd.DataFrame, pd.DataFrame]:
    home = tmp_path_factory.mktemp("home")
    return _session(home), _session(home, "-f", "trace")


def test_traced_stack_equals_the_untraced_figure(reports: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    plain, traced = reports
    assert (traced["RAM stack"] == plain["RAM stack"]).all(), pd.concat([plain["RAM stack"], traced["RAM stack"]], axis=1)
    assert (traced["RAM stack"] > 0).all()
    assert ((traced["Run RAM stack"] > 0) & (traced["Run RAM stack"] <= traced["RAM stack"])).all()
    assert (traced["Run Instructions"] == plain["Run Instructions"]).all()  # tracing counts nothing extra
    assert "RAM heap" not in plain.columns or plain["RAM heap"].isna().all()


def test_heap_is_zero_and_the_touched_arena_fits_the_plan(reports: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    _, traced = reports
    assert (traced["RAM heap"] == 0).all() and (traced["Run RAM heap"] == 0).all()  # nothing mallocs
    touched, planned = traced["Arena Touched"], traced["Arena Size"]
    assert ((touched > 0) & (touched <= planned)).all(), pd.concat([touched, planned], axis=1)
    assert (traced["Run Arena Touched"] <= touched).all() and (traced["Run Arena Touched"] > 0).all()
    aww = traced.loc[("aww", slice(None)), :]
    assert (aww["Arena Touched"] > aww["Arena Size"] / 2).all()  # the plan's arena is mostly written
