"""Paths of the recorded data the metrics tests read (tests/data, see its scripts)."""

from __future__ import annotations

from pathlib import Path

REPO = Path(__file__).resolve().parents[3]
DATA = REPO / "tests" / "data"
RUNS = DATA / "runs"
ELF_DIR = DATA / "elf"


def readelf_sections(path: Path) -> dict[str, tuple[int, int]]:
    """`readelf -S -W` lines recorded by record_runs.sh -> {name: (address, size)}.

    Parsed independently of pyelftools so the tests compare against another reader."""
    sections: dict[str, tuple[int, int]] = {}
    for line in path.read_text().splitlines():
        fields = line.split("]", 1)[1].split()
        if len(fields) >= 5 and fields[0] != "NULL":
            sections[fields[0]] = (int(fields[2], 16), int(fields[4], 16))
    return sections
