"""ETISS memory-trace summary (images/tumeda-etiss/mcuorch_etiss/memtrace.py) against a trace
recorded from ETISS running sine_model (tvmaot, etiss_pulpino) and a brute-force reading of it."""

from __future__ import annotations

import gzip
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
DATA = REPO / "tests" / "data" / "etiss_trace"
sys.path.insert(0, str(REPO / "images" / "tumeda-etiss"))
from mcuorch_etiss.memtrace import Layout, TouchMap, TraceError, high_water, parse_layout, summarise  # noqa: E402


def recorded() -> list[str]:
    return gzip.decompress((DATA / "sine_model.dBusAccess.csv.gz").read_bytes()).decode().splitlines()


def test_recorded_trace_gives_the_brute_force_high_water_marks() -> None:
    lines = recorded()
    layout = parse_layout((DATA / "sine_model.stdout.txt").read_text())
    touched = summarise(lines)
    marks = high_water(touched, layout)
    addresses = set()
    for line in lines:
        _, _, addr, length = line.split(";")
        addresses.update(range(int(addr, 16), int(addr, 16) + int(length)))
    stack = [a for a in addresses if layout.stack[0] <= a < layout.stack[1]]
    heap = [a for a in addresses if layout.heap[0] <= a < layout.heap[1]]
    assert marks["RAM stack"] == layout.stack[1] - min(stack) and 100 < marks["RAM stack"] < 4096
    assert marks["RAM heap"] == (max(heap) + 1 - layout.heap[0] if heap else 0)
    assert touched.accesses == len(lines) and 0 < touched.writes < touched.accesses


def test_accesses_across_buckets_and_region_edges() -> None:
    touched = TouchMap()
    touched.add(0x103e, 4)  # straddles two 64-byte buckets
    touched.add(0x2000, 1)
    layout = Layout(stack=(0x1000, 0x1100), heap=(0x2000, 0x3000))
    assert touched.lowest(0x1000, 0x1100) == 0x103e and touched.highest(0x1000, 0x1100) == 0x1041
    assert high_water(touched, layout) == {"RAM stack": 0x1100 - 0x103e, "RAM heap": 1}
    assert high_water(TouchMap(), layout) == {"RAM stack": 0, "RAM heap": 0}


@pytest.mark.parametrize("line", ["12;x;0010;4", "12;w;zz;4", "not a line"])
def test_malformed_trace_lines_are_one_error(line: str) -> None:
    with pytest.raises(TraceError, match="not an ETISS bus access"):
        TouchMap().add_line(line)


def test_a_program_without_its_layout_line_cannot_be_judged() -> None:
    with pytest.raises(TraceError, match="no mcuorch-layout line"):
        parse_layout("Program start.\nProgram finish.\n")
