"""CLI: user mistakes are one line and exit 2; env commands; dry run; explain/cleanup/export."""

from __future__ import annotations

from pathlib import Path

import pytest

from orchestrator.cli.argv import normalize, split_group
from tests.conftest import TOY_ENV
from tests.unit.cli_run import cli_main as _main


@pytest.fixture
def models(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, mcuorch_home: Path) -> None:
    for name in ("aww", "vww"):
        (tmp_path / "models" / name).mkdir(parents=True)
        (tmp_path / "models" / name / "model.tflite").write_bytes(b"TFL3")
    monkeypatch.setenv("MCUORCH_MODELS", str(tmp_path / "models"))


@pytest.mark.parametrize(("args", "expected"), [
    (["run", "aww", "-b", "nope"], "error: unknown backend 'nope' for environment default; choose from: tvmaot"),
    (["run", "aww", "-t", "spike"], "error: unknown target 'spike'"),
    (["run", "aww", "-c", "mlif.optimize=9"], "error: invalid value '9' for mlif.optimize"),
    (["run", "aww", "-c", "mlif.foo=1"], "error: unknown config key 'mlif.foo'"),
    (["run", "aww", "--until", "link"], "error: unknown stage 'link' for --until"),
    (["run", "/nowhere/m.tflite"], "error: model file /nowhere/m.tflite does not exist"),
    (["run", "aww", "--env", "nope"], "error: unknown environment 'nope'; choose from:"),
    (["run", "aww", "-l", "../../../tmp/x/escape"], "error: label '../../../tmp/x/escape' must be a plain name"),
    (["run", "aww", "--runtime", "podman"], "error: unknown runtime 'podman'; choose from: docker, local"),
    (["run", "aww", "--no-such-flag"], "error: No such option: --no-such-flag"),
    (["explain", "zzzz"], "error: 'zzzz' is not a job key"),
    (["export", "20990101"], "error: no sessions yet"),
])
def test_user_mistakes_are_one_line_exit_2(args: list[str], expected: str, models: None, mcuorch_home: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = _main(args + ["--dry-run"] if args[0] == "run" else args, capsys)
    assert code == 2
    assert err.startswith(expected), err
    assert err.count("\n") == 1 and "Traceback" not in err


def test_malformed_environment_file(tmp_path: Path, mcuorch_home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.yml.j2"
    bad.write_text("name: bad\nimages:\n  a:\n    recipe: a\n    parnet: b\n")
    code, _, err = _main(["env", "show", str(bad)], capsys)
    assert code == 2 and err == f"error: {bad}: line 5: unknown key 'parnet' in images.a\n"


def test_env_list_and_show(mcuorch_home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _main(["env", "list"], capsys)
    assert code == 0 and "default" in out and "tumeda" in out
    code, out, _ = _main(["env", "show", "tumeda"], capsys)
    assert code == 0
    assert "ref: de6d8067754d746d88262c530b5241b5577b9aae" in out and "tflmc: {}" in out


def test_tumeda_dry_run(models: None, mcuorch_home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _main(["run", "--env", "tumeda", "aww", "vww", "-b", "tflmi", "-b", "tvmaot", "-b", "relaxaot",
                          "-t", "etiss_pulpino", "-t", "host_x86", "--dry-run"], capsys)
    assert code == 0
    assert out.splitlines()[0] == "12 runs"
    # relaxaot builds per target ISA (rv32gc for etiss_pulpino, generic C for host_x86)
    assert out.splitlines()[-1] == "jobs: LOAD 2, BUILD 8, COMPILE 12, RUN 12"
    # each run with the images of its stages: C++ code compiles in the -cxx toolchain image
    assert "  aww  tflite  tflmi  mlif  host_x86  images=tflite,tflm,host-cxx,host " in out
    # tumeda's tvmaot is the fork's microTVM; the Relax C backend is relaxaot there
    assert "  aww  tflite  tvmaot  mlif  etiss_pulpino  images=tflite,tumeda-tvm,gnu-riscv,etiss " in out
    assert "  aww  tflite  relaxaot  mlif  etiss_pulpino  images=tflite,tvm,gnu-riscv,etiss " in out
    assert not mcuorch_home.exists()  # a dry run writes nothing


@pytest.mark.parametrize(("argv", "message"), [
    (["-b", "tflmc", "-t", "spike", "-c", "tflmc.arena_size=65536"],
     "error: tflmc.arena_size cannot be set: tflite_micro_compiler plans the arena itself"),
    (["-b", "tflmc", "-t", "mps3_an547", "-f", "muriscvnn"],
     "error: tflmc.kernels=muriscvnn needs a RISC-V target, not mps3_an547 (use cmsisnn on Arm)"),
    (["-b", "tflmi", "-t", "mps2_an386", "-f", "muriscvnn"],
     "error: tflmi.kernels=muriscvnn needs a RISC-V target, not mps2_an386 (use cmsisnn on Arm)"),
])
def test_tumeda_refuses_what_it_cannot_build(argv: list[str], message: str, models: None, mcuorch_home: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = _main(["run", "--env", "tumeda", "aww", *argv, "--dry-run"], capsys)
    assert code == 2 and err.startswith(message) and len(err.splitlines()) == 1


def test_argv_normalisation() -> None:
    assert normalize(["run", "m", "--feature-gen", "a", "b", "--feature-gen", "_", "-t", "x"]) == \
        ["run", "m", "--feature-gen", "a b", "--feature-gen", "_", "-t", "x"]
    assert normalize(["run", "--parallel", "m"])[1].startswith("--parallel=")
    assert normalize(["run", "--parallel", "3", "m"]) == ["run", "--parallel", "3", "m"]
    assert normalize(["run", "--resume"]) == ["run", "--resume=latest"]
    assert normalize(["run", "--resume", "20250101-1200"]) == ["run", "--resume", "20250101-1200"]
    assert split_group("a, b c") == ["a", "b", "c"]


def test_sessions_explain_cleanup_export(tmp_path: Path, mcuorch_home: Path, toy_plugin: Path,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    base = ["run", "--env", str(TOY_ENV), "--runtime", "local", "-q"]
    assert _main(base + ["toy_sum", "-c", "toycc.opt=0"], capsys)[0] == 0
    assert _main(base + ["toy_sum", "-c", "toycc.opt=2"], capsys)[0] == 0
    code, out, _ = _main(["sessions"], capsys)
    ids = [line.split()[0] for line in out.splitlines()]
    assert code == 0 and len(ids) == 2
    code, out, _ = _main(["explain", ids[0], ids[1]], capsys)
    assert code == 0 and "BUILD" in out and "config.toycc.opt: 0 -> 2" in out
    code, out, _ = _main(["explain", ids[1]], capsys)
    build_key = out.splitlines()[0].split("BUILD=")[1].split()[0]
    code, out, _ = _main(["explain", build_key], capsys)
    assert code == 0 and "key_inputs:" in out and "opt: 2" in out and "argv:" in out
    zip_path = tmp_path / "s.zip"
    code, _, _ = _main(["export", ids[1], "-o", str(zip_path)], capsys)
    import zipfile

    names = zipfile.ZipFile(zip_path).namelist()
    assert f"{ids[1]}/report.csv" in names and any(n.endswith("/outputs/stdout.txt") for n in names)
    code, out, _ = _main(["cleanup", "--keep", "1"], capsys)
    assert code == 0 and out.startswith("removed 1 sessions and 3 jobs")  # BUILD, COMPILE, RUN of opt=0
    code, out, _ = _main(["sessions"], capsys)
    assert [line.split()[0] for line in out.splitlines()] == [ids[1]]


def test_verbose_streams_job_logs_and_names_failed_log_dirs(mcuorch_home: Path, toy_plugin: Path,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = _main(["run", "--env", str(TOY_ENV), "--runtime", "local", "-v", "-c", "toycc.fail=1"], capsys)
    assert code == 1
    assert "] toycc: deliberate failure" in err  # the job's stderr, prefixed with stage and key
    log_dir = err.split("(logs: ")[1].split(")")[0]
    assert (Path(log_dir) / "stderr.log").read_text() == "toycc: deliberate failure\n"


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    from orchestrator import __version__

    code, out, _err = _main(["--version"], capsys)
    assert (code, out.strip()) == (0, f"mcuorch {__version__}")


def test_a_lost_engine_is_one_line_exit_3_and_resume_finishes(mcuorch_home: Path, toy_plugin: Path,
                                                              monkeypatch: pytest.MonkeyPatch,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    from orchestrator.errors import EngineLostError
    from orchestrator.runtime.local import LocalRuntime

    real_run = LocalRuntime.run
    seen: list[str] = []

    def losing_run(self: LocalRuntime, request, cancel):  # type: ignore[no-untyped-def]
        if request.labels["mcuorch.stage"] == "RUN":
            seen.append(request.labels["mcuorch.key"])
            if len(seen) == 2:
                raise EngineLostError("unix:///var/run/docker.sock")
        return real_run(self, request, cancel)

    monkeypatch.setattr(LocalRuntime, "run", losing_run)
    code, out, err = _main(["run", "--env", str(TOY_ENV), "--runtime", "local", "-q", "toy_sum", "toy_mul"], capsys)
    session_id = next(p.name for p in (mcuorch_home / "sessions").iterdir())
    assert code == 3
    assert err == (f"error: lost the Docker engine at unix:///var/run/docker.sock; 1 finished run(s) kept; "
                   f"when the engine is back: mcuorch run --resume {session_id}\n")
    assert "toy_sum" in out  # the partial report is printed (and saved)
    assert (mcuorch_home / "results" / f"{session_id}.csv").is_file()

    monkeypatch.setattr(LocalRuntime, "run", real_run)  # the engine is back
    code, _, err = _main(["run", "--resume", session_id, "-q"], capsys)
    assert code == 0, err
    assert f"session {session_id}: 2 runs, ok; jobs: 1 executed, 7 cached" in err
