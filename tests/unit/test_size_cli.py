"""`mcuorch size RUN`: a run of a session resolves to its COMPILE job's program; mistakes are one
line and exit 2. Uses the recorded riscv_qemu program (tests/data/runs, no link map)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from orchestrator.cli.size import short_origin
from orchestrator.matrix import MatrixRequest
from orchestrator.metrics.elf_memory import static_memory
from orchestrator.metrics.targets import load_compiled_target
from orchestrator.session import RunRecord, SessionSpec, SessionStore
from orchestrator.store import JOB_RECORD, ImageRecord, JobRecord, KeyInputs
from tests.unit.cli_run import cli_main as _main

RECORDED = Path(__file__).resolve().parents[1] / "data" / "runs" / "riscv_qemu"
KEY = "c0ffee" + "0" * 58


@pytest.fixture
def session(mcuorch_home: Path) -> str:
    """A session whose run 1 has a published COMPILE job holding the recorded program."""
    job = mcuorch_home / "jobs" / "COMPILE" / KEY
    shutil.copytree(RECORDED, job / "outputs", ignore=shutil.ignore_patterns("stdout.txt", "counts.json"))
    inputs = KeyInputs(stage="COMPILE", components={}, config={}, inputs={}, image="i")
    record = JobRecord(key=KEY, stage="COMPILE", argv=["sh"], image=ImageRecord(name="gnu-riscv", tag="t", identity="i"),
                       runtime="docker", key_inputs=inputs, started=0, finished=1, duration_sec=1, exit_code=0, outputs_digest="d", session="s")
    (job / JOB_RECORD).write_text(record.model_dump_json())
    sessions = SessionStore(mcuorch_home / "sessions")
    created = sessions.create(SessionSpec(env_name="default", request=MatrixRequest(models=["tiny"])))
    created.runs = [RunRecord(index=1, identity={"target": "riscv_qemu"}, jobs={"COMPILE": KEY})]
    sessions.save(created)
    return created.id


def test_size_of_a_run_in_the_latest_session(session: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _main(["size", "1", "-n", "3"], capsys)
    spec = load_compiled_target(RECORDED)
    total = static_memory(RECORDED / "app.elf", spec.memory.flash, spec.memory.ram).total_rom
    assert code == 0
    assert "(riscv_qemu)" in out.splitlines()[0]
    assert "no link map" in out  # recorded before COMPILE kept app.map: no split, only the total
    assert f"Total ROM      {total}" in out or any(line.split()[:3] == ["Total", "ROM", str(total)]
                                                     for line in out.splitlines())
    symbol_rows = [line for line in out.splitlines() if line.strip()[:1].isdigit()]
    assert len(symbol_rows) == 3  # --top 3
    sizes = [int(line.split()[0]) for line in symbol_rows]
    assert sizes == sorted(sizes, reverse=True) and sizes[0] > 100


@pytest.mark.parametrize(("args", "expected"), [
    (["size", "7"], "error: session {id} has no run 7 (runs: 1)"),
    (["size", "1", "-s", "nope"], "error: no session match 'nope'"),
    (["size", "/no/such/folder"], "error: /no/such/folder does not exist"),
    (["size", "zzzz"], "error: 'zzzz' is not a job key"),
])
def test_size_mistakes_are_one_line_exit_2(session: str, args: list[str], expected: str,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = _main(args, capsys)
    assert code == 2 and err.startswith(expected.format(id=session)) and err.count("\n") == 1, err


def test_size_by_job_key_and_by_folder(session: str, mcuorch_home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    by_key = _main(["size", KEY[:10], "-n", "2"], capsys)
    by_folder = _main(["size", str(mcuorch_home / "jobs" / "COMPILE" / KEY), "-n", "2"], capsys)
    assert by_key[0] == by_folder[0] == 0 and by_key[1] == by_folder[1]


def test_short_origin() -> None:
    assert short_origin("/usr/lib/picolibc/x/libc.a(memcpy.o)") == "libc.a(memcpy.o)"
    assert short_origin("CMakeFiles/app.dir/harness/main.c.obj") == "harness/main.c.obj"
    assert short_origin("/usr/lib/gcc/x86_64-linux-gnu/12/crtbeginS.o") == "crtbeginS.o"


def test_objects_are_named_as_people_name_them() -> None:
    build = "/root/.local/share/mcuorch/jobs/BUILD/55ea/outputs/codegen/"
    assert short_origin(build + "model/default_lib0.o") == "codegen/model/default_lib0.o"
    assert short_origin("CMakeFiles/app.dir" + build + "mcuorch_model.c.o") == "codegen/mcuorch_model.c.o"
    assert short_origin("CMakeFiles/app.dir/harness/main.c.obj") == "harness/main.c.obj"
    assert short_origin("/usr/lib/picolibc/lib/libc.a(memcpy.o)") == "libc.a(memcpy.o)"
