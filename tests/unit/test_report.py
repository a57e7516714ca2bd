"""Report frame, postprocesses and exports."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from orchestrator.components.postprocesses import Bytes2kB, Config2Cols, Features2Cols, FilterCols, RenameCols
from orchestrator.components.registry import builtin_registry
from orchestrator.config import build_config
from orchestrator.matrix import MatrixRequest
from orchestrator.report.display import report_table
from orchestrator.report.export import read_report, write_report
from orchestrator.report.frame import IDENTITY, IMAGE_COLUMNS, TRAILING
from orchestrator.runtime.base import ExecRequest
from orchestrator.runtime.fake import FakeOutcome
from tests.unit.conftest import FakeSession


def _cfg(cls: type, **values: object):  # type: ignore[no-untyped-def]
    return build_config(cls, [{f"{cls.name}.{k}": v for k, v in values.items()}])


@pytest.fixture
def df() -> pd.DataFrame:
    return pd.DataFrame({
        "Session": ["s", "s"], "Run": [0, 1], "Model": ["a", "b"], "Total ROM": [2000, 3000],
        "RAM data": [500, float("nan")], "Total Instructions": [10, 20],
        "Features": [["validate"], []], "Config": [{"mlif.optimize": "s"}, {"mlif.optimize": "2"}],
        "Framework": ["tvm", "tvm"],
    })


def test_report_columns_follow_mlonmcu(fake_session: FakeSession) -> None:
    def script(request: ExecRequest) -> FakeOutcome:
        if request.labels["mcuorch.stage"] == "RUN":
            return FakeOutcome(files={"stdout.txt": "# Checksum: 5\n"})
        return FakeOutcome(files={"metrics.json": json.dumps({"Total ROM": 100})})

    fake_session.runtime.script = script
    df = fake_session.run(MatrixRequest(models=["toy_sum"], config=["toycc.opt=2"])).report
    columns = list(df.columns)
    assert columns[: len(IDENTITY)] == IDENTITY
    assert columns[-len(TRAILING) - len(IMAGE_COLUMNS):] == TRAILING + IMAGE_COLUMNS
    row = df.iloc[0]
    assert (row["Model"], row["Framework"], row["Backend"], row["Platform"], row["Target"]) == \
        ("toy_sum", "toy", "toycc", "toylink", "toyhost")
    assert row["Config"] == {"toycc.opt": "2"} and row["Features"] == []
    assert row["RUN Image"] == "toy:local" and not row["Failing"] and not row["Incomplete"]
    assert row["Total ROM"] == 100 and row["Checksum"] == 5


def test_filter_cols(df: pd.DataFrame) -> None:
    keep = FilterCols().apply(df, _cfg(FilterCols, keep="Model,Total ROM"))
    assert list(keep.columns) == ["Model", "Total ROM"]
    dropped = FilterCols().apply(df, _cfg(FilterCols, drop="['Session', 'Framework']"))
    assert "Session" not in dropped and "Framework" not in dropped and "Model" in dropped
    const = FilterCols().apply(df, _cfg(FilterCols, drop_const=True))
    assert "Session" not in const and "Model" in const


def test_rename_cols_merges(df: pd.DataFrame) -> None:
    out = RenameCols().apply(df, _cfg(RenameCols, mapping="{'Total ROM': 'ROM', 'RAM data': 'ROM'}"))
    assert list(out["ROM"]) == [2000, 3000] and list(out.columns).count("ROM") == 1
    out = RenameCols().apply(df, _cfg(RenameCols, mapping="Model:Net"))
    assert "Net" in out and "Model" not in out


def test_config2cols_and_features2cols(df: pd.DataFrame) -> None:
    out = Config2Cols().apply(df, _cfg(Config2Cols))
    assert list(out["config_mlif.optimize"]) == ["s", "2"] and "Config" not in out
    out = Features2Cols().apply(df, _cfg(Features2Cols, drop=False))
    assert list(out["feature_validate"]) == [True, False] and "Features" in out


def test_bytes2kb(df: pd.DataFrame) -> None:
    out = Bytes2kB().apply(df, _cfg(Bytes2kB))
    assert list(out["Total ROM [kB]"]) == [2.0, 3.0]
    assert out["RAM data [kB]"].isna().tolist() == [False, True]  # unknown stays unknown
    assert "Framework" in out and list(out["Total Instructions"]) == [10, 20]


def test_postprocess_config_keys_are_registered() -> None:
    registry = builtin_registry()
    assert set(registry.names(FilterCols.kind)) >= {"filter_cols", "rename_cols", "config2cols",
                                                     "features2cols", "bytes2kb"}


@pytest.mark.parametrize("suffix", ["csv", "xlsx", "md", "json"])
def test_exports(df: pd.DataFrame, tmp_path: Path, suffix: str) -> None:
    path = write_report(df, tmp_path / f"report.{suffix}")
    assert path.stat().st_size > 0
    if suffix == "csv":
        back = pd.read_csv(path)
        assert list(back.columns) == list(df.columns) and back["Config"][0] == '{"mlif.optimize": "s"}'
    elif suffix == "xlsx":
        back = pd.read_excel(path)
        assert list(back["Total ROM"]) == [2000, 3000]
    elif suffix == "md":
        text = path.read_text()
        assert text.splitlines()[0].startswith("|") and "Total ROM" in text
    else:
        back = read_report(path)
        assert back["Features"][0] == ["validate"] and pd.isna(back["RAM data"][1])


def test_display_hides_bookkeeping(df: pd.DataFrame) -> None:
    headers = [c.header for c in report_table(df).columns]
    assert "Total ROM" in headers and "Session" not in headers and "Config" not in headers


def test_printed_summary_keeps_one_line_per_row_and_distinct_headers() -> None:
    """A long Reason is cut to one line; the instruction columns have headers of their own."""
    from rich.console import Console

    reason = "unsupported operator QUANTIZE in subgraph 0 (op 3); supported: " + ", ".join(["CONV_2D"] * 40)
    df = pd.DataFrame([{"Run": 0, "Model": "m", "Backend": "tvmaot", "Target": "host_x86",
                        "Total Instructions": 10.0, "Setup Instructions": 2.0, "Run Instructions": 8.0,
                        "Failing": True, "Reason": reason}])
    console = Console(width=120, record=True)
    console.print(report_table(df, width=120))
    lines = [ln for ln in console.export_text().splitlines() if ln.strip()]
    assert len(lines) == 3, lines  # header, rule, one row
    assert "Total Instr" in lines[0] and "Run Instr" in lines[0] and "Instructions Instructions" not in lines[0]
    assert "…" in lines[2] and reason not in lines[2]
