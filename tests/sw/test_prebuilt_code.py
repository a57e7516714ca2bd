"""Codegen directories with prebuilt parts: objects linked as they are on any target, shared
libraries in lib/ only on the host, copied beside app.elf and found there at run time."""

from __future__ import annotations

import shutil
from pathlib import Path

from orchestrator.components import collectors

from .conftest import GOLDEN, TINY, Built, compile_script, compile_sw, need_tools, Ran, run_host, tool


def prebuilt(tmp: Path, kind: str) -> Path:
    """The tiny model with model.c replaced by its object (`object`) or lib/libtiny.so (`shared`)."""
    codegen = tmp / f"codegen_{kind}"
    shutil.copytree(TINY, codegen)
    source = codegen / "model.c"
    if kind == "object":
        argv = ["gcc", "-c", "-O2", "-fPIC", "-I", str(codegen), "-o", str(codegen / "model.o"), str(source)]
    else:
        (codegen / "lib").mkdir()
        argv = ["gcc", "-shared", "-fPIC", "-O2", "-I", str(codegen), "-o", str(codegen / "lib" / "libtiny.so"),
                str(source)]
    proc = tool("host", argv)
    assert proc.returncode == 0, proc.stderr
    source.unlink()
    return codegen


def assert_validates(ran: Ran) -> None:
    assert ran.exit_code == 0, ran.stdout
    metrics = collectors.run_metrics(ran.stdout, ran.exit_code, None, "host_x86")
    assert metrics["Validation"] is True and metrics["Inferences"] == 3


def test_a_prebuilt_object_is_linked(tmp_path: Path) -> None:
    need_tools("host_x86")
    out = tmp_path / "out"
    compile_sw("host_x86", out, prebuilt(tmp_path, "object"))
    assert_validates(run_host(Built("host_x86", out), tmp_path / "run"))


def test_a_shared_library_travels_with_the_program(tmp_path: Path) -> None:
    need_tools("host_x86")
    out = tmp_path / "out"
    compile_sw("host_x86", out, prebuilt(tmp_path, "shared"))
    assert (out / "libtiny.so").is_file()
    needed = tool("host", ["readelf", "-d", str(out / "app.elf")]).stdout
    assert "libtiny.so" in needed and "[$ORIGIN]" in needed, needed
    moved = tmp_path / "elsewhere"  # a RUN mount names another folder: $ORIGIN still finds it
    shutil.copytree(out, moved)
    shutil.rmtree(out)
    assert_validates(run_host(Built("host_x86", moved), tmp_path / "run"))


def test_a_shared_library_for_a_simulated_target_is_one_error_line(tmp_path: Path) -> None:
    need_tools("riscv_qemu")
    codegen = prebuilt(tmp_path, "shared")
    proc = compile_script("riscv_qemu", ["--target", "riscv_qemu", "--codegen", str(codegen),
                                         "--golden", str(GOLDEN), "--out", str(tmp_path / "out")])
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert lines == ["error: the generated code links shared libraries (lib/*.so): only the host target "
                     "runs them, not riscv_qemu"], proc.stderr
