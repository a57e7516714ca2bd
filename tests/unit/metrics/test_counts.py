from __future__ import annotations

import json
from pathlib import Path

import pytest

from orchestrator.errors import CollectError
from orchestrator.metrics.counts import CountsError, load_counts

from .conftest import RUNS

QEMU_CASES = sorted(p.name for p in RUNS.iterdir() if (p / "counts.json").exists())


@pytest.mark.parametrize("case", QEMU_CASES)
def test_recorded_counts(case: str) -> None:
    raw = json.loads((RUNS / case / "counts.json").read_text())
    cols = load_counts(RUNS / case / "counts.json").columns()
    assert cols["Total Instructions"] == raw["total_instructions"]
    assert cols["Setup Instructions"] == raw["regions"]["setup"]["per_entry"][0]
    run = raw["regions"]["run"]
    if case.endswith("_trap"):  # the program died inside the Run region
        assert run["open"] and "Run Instructions" not in cols
    else:
        assert cols["Run Instructions"] == sum(run["per_entry"]) / len(run["per_entry"])
    assert cols["RAM stack"] == int(raw["stack"]["high"], 16) - int(raw["stack"]["lowest_store"], 16)


def _counts(tmp_path: Path, **changes: object) -> Path:
    data = json.loads((RUNS / "riscv_qemu" / "counts.json").read_text())
    for key, value in changes.items():
        if value is None:
            data.pop(key)
        else:
            data[key] = value
    path = tmp_path / "counts.json"
    path.write_text(json.dumps(data))
    return path


def test_uneven_inferences_give_a_fractional_mean(tmp_path: Path) -> None:
    regions = {"run": {"begin": "0x1", "end": "0x2", "entries": 2, "open": False,
                       "instructions": 201, "per_entry": [100, 101]}}
    cols = load_counts(_counts(tmp_path, regions=regions)).columns()
    assert cols["Run Instructions"] == 100.5 and "Setup Instructions" not in cols


def test_stack_not_tracked_is_absent(tmp_path: Path) -> None:
    assert "RAM stack" not in load_counts(_counts(tmp_path, stack=None)).columns()
    untouched = {"low": "0x0", "high": "0x10", "lowest_store": None, "high_water": 0, "stores": 0}
    assert "RAM stack" not in load_counts(_counts(tmp_path, stack=untouched)).columns()


@pytest.mark.parametrize(("changes", "message"), [
    ({"format": "other-2"}, "has format 'other-2'"),
    ({"total_instructions": -5}, "total_instructions"),
    ({"regions": None}, "regions: Field required"),
])
def test_malformed_counts(tmp_path: Path, changes: dict[str, object], message: str) -> None:
    with pytest.raises(CountsError, match=message):
        load_counts(_counts(tmp_path, **changes))


def test_unreadable_counts(tmp_path: Path) -> None:
    with pytest.raises(CollectError, match="cannot read"):
        load_counts(tmp_path / "counts.json")
    (tmp_path / "counts.json").write_text("{not json")
    with pytest.raises(CountsError, match="is not JSON"):
        load_counts(tmp_path / "counts.json")
