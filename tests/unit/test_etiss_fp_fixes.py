"""The etiss image's build-time fixes (images/tumeda-etiss/fixes/rv32_fp_semantics.py) refuse a
tree they were not written for: exit 1, one line, nothing written. Whether they apply to the
pinned ETISS and what they change is tested for real by building the image
(tests/integration/test_etiss_fp_semantics.py)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "images" / "tumeda-etiss" / "fixes" / "rv32_fp_semantics.py"
FILES = ("ArchImpl/RV32IMACFD/RV32IMACFD_RV32FInstr.cpp", "ArchImpl/RV32IMACFD/RV32IMACFD_RV32DInstr.cpp",
         "src/jitlibs/softfloat/fp_functions.cpp")


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(SCRIPT), *args], capture_output=True, text=True, timeout=60)


def test_a_tree_without_the_sources_is_one_line_and_exit_1(tmp_path: Path) -> None:
    done = run(str(tmp_path))
    assert done.returncode == 1 and done.stdout == ""
    assert done.stderr.count("\n") == 1
    assert done.stderr.startswith("rv32_fp_semantics: ") and "RV32IMACFD_RV32FInstr.cpp not found" in done.stderr


def test_a_changed_source_stops_before_any_file_is_written(tmp_path: Path) -> None:
    for rel in FILES:
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text("// another version\n")
    done = run(str(tmp_path))
    assert done.returncode == 1
    assert done.stderr.count("\n") == 1 and "dynamic-rounding: expected 9x" in done.stderr
    assert all((tmp_path / rel).read_text() == "// another version\n" for rel in FILES)


def test_usage() -> None:
    assert run().returncode == 2
