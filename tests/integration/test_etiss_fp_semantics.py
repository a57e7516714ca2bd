"""ETISS's RV32 F/D instructions against two reference simulators, for real.

tests/sw/c/fp_semantics.c runs the F and D instructions over a fixed pseudo-random set of
operands under every rounding mode (frm, and static rm fields) and prints one hash of the
results and one of the raised flags per (mode, instruction). It is compiled into the tiny test
model's program with the RISC-V toolchain image (sw/compile.sh, rv32gc/ilp32d, picolibc) for
etiss_pulpino, spike and riscv_qemu; Spike and QEMU (virt board) must agree with each other,
and the etiss_pulpino program on ETISS must print the same lines.
ETISS at its pin fails this (dynamic rounding mode, fcvt.wu.d, fused multiply-add signs,
fflags); the etiss image corrects it at build time (images/tumeda-etiss/fixes/).

Images come from the tumeda environment, built when missing (sources from the source cache,
filled from MCUORCH_SOURCES_FROM when set); once they exist the test takes well under a minute.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import docker
import pytest
from image_exec import ImageShell

from orchestrator.components.targets import memory_segments
from orchestrator.environment import load_environment
from orchestrator.images.build import ImageBuilder
from orchestrator.images.progress import PlainProgress
from orchestrator.images.tags import resolve_images
from orchestrator.paths import home_paths
from orchestrator.sources import SourceCache, fetch_sources
from orchestrator.sources.fetch import mirror_from_environ

pytestmark = pytest.mark.docker
REPO = Path(__file__).resolve().parents[2]
PROBE = REPO / "tests" / "sw" / "c" / "fp_semantics.c"
TINY, GOLDEN = REPO / "tests" / "data" / "codegen_tiny", REPO / "tests" / "data" / "golden_tiny"
IMAGES = ["gnu-riscv", "qemu", "spike", "etiss"]
MODES = ["rne", "rtz", "rdn", "rup", "rmm"]
TIMEOUT_SEC = 300.0

Probe = dict[str, str]
"""What the probe printed: 'mode insn' (or 'fp-mode mode') -> hashes."""


@pytest.fixture(scope="module")
def shell(docker_client: docker.DockerClient, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ImageShell]:
    env = load_environment("tumeda")
    builder = ImageBuilder(docker_client, progress=PlainProgress(quiet=True))
    wanted = resolve_images(env, client=docker_client).closure(IMAGES)
    if not all(builder.exists(image.tag) for image in wanted):
        fetch_sources(env, SourceCache(home_paths().sources), mirror_dir=mirror_from_environ())
    builder.build(env, IMAGES)
    images = resolve_images(env, client=docker_client)
    active = ImageShell(docker_client, env, images, tmp_path_factory.mktemp("fp_semantics"))
    try:
        yield active
    finally:
        active.close()


def parse_probe(text: str) -> Probe:
    lines: Probe = {}
    for line in text.splitlines():
        words = line.split()
        if len(words) >= 3 and words[0] == "fp":
            lines[f"{words[1]} {words[2]}"] = " ".join(words[3:])
        elif len(words) == 3 and words[0] == "fp-mode":
            lines[f"fp-mode {words[1]}"] = words[2]
    return lines


def run_probe(shell: ImageShell, image: str, argv: list[str], out: Path) -> Probe:
    done = shell.run(image, [*argv, "--out", str(out)], timeout=TIMEOUT_SEC)
    stdout = (out / "stdout.txt").read_text(errors="replace") if (out / "stdout.txt").is_file() else ""
    assert done.returncode == 0, f"{argv[0]} failed ({done.returncode}): {done.stderr[-2000:]}"
    assert (out / "exit_code").read_text().strip() == "0", f"{argv[0]}: the program failed\n{stdout[-2000:]}"
    probe = parse_probe(stdout)
    # 49 instructions + accrued flags + the summary per mode; 8 instructions + summary per static mode
    assert len(probe) == 5 * (49 + 2) + 5 * (8 + 1), f"{argv[0]}: incomplete probe output\n{stdout[-2000:]}"
    return probe


@pytest.fixture(scope="module")
def programs(shell: ImageShell) -> dict[str, Path]:
    """The probe in the tiny model's program, compiled for each simulator's memory map."""
    codegen = shell.scratch / "fp_codegen"
    shutil.copytree(TINY, codegen)
    shutil.copy(PROBE, codegen / PROBE.name)
    elves = {}
    for target in ("etiss_pulpino", "spike", "riscv_qemu"):
        out = shell.scratch / f"fp_{target}"
        done = shell.run("gnu-riscv", ["sh", str(REPO / "sw" / "compile.sh"), "--target", target,
                                       "--codegen", str(codegen), "--golden", str(GOLDEN), "--out", str(out)],
                         timeout=TIMEOUT_SEC)
        log = out / "compile.log"
        assert done.returncode == 0, done.stderr + (log.read_text()[-3000:] if log.is_file() else "")
        elves[target] = out / "app.elf"
    return elves


@pytest.fixture(scope="module")
def reference(shell: ImageShell, programs: dict[str, Path]) -> Probe:
    """Spike and QEMU agree on every line: that is the reference."""
    (start, _), (ram, ram_size) = memory_segments("spike")
    spike = run_probe(shell, "spike", ["mcuorch-spike-run", "--elf", str(programs["spike"]), "--isa", "rv32gc",
                                       "--memory", f"0x{start:x}:0x{ram + ram_size - start:x}"],
                      shell.scratch / "fp_run_spike")
    qemu = run_probe(shell, "qemu", ["mcuorch-qemu-run", "--board", "virt", "--cpu", "rv32",
                                     "--elf", str(programs["riscv_qemu"])],
                     shell.scratch / "fp_run_qemu")
    disagree = differences(qemu, spike)
    assert not disagree, "Spike and QEMU disagree, so there is no reference:\n" + "\n".join(disagree[:60])
    return spike


def differences(actual: Probe, expected: Probe) -> list[str]:
    return [f"{key}: {actual.get(key)} (reference {value})"
            for key, value in expected.items() if actual.get(key) != value]


def test_etiss_floating_point_matches_spike_and_qemu(shell: ImageShell, programs: dict[str, Path],
                                                     reference: Probe) -> None:
    (flash, flash_size), (ram, ram_size) = memory_segments("etiss_pulpino")
    etiss = run_probe(shell, "etiss", ["mcuorch-etiss-run", "--elf", str(programs["etiss_pulpino"]),
                                       "--memory", f"0x{flash:x}:0x{flash_size:x},0x{ram:x}:0x{ram_size:x}",
                                       "--isa", "rv32gc"],
                      shell.scratch / "fp_run_etiss")
    wrong = differences(etiss, reference)
    assert not wrong, f"ETISS differs from Spike and QEMU in {len(wrong)} of {len(reference)} lines:\n" \
                        + "\n".join(wrong)
    # the modes really differ (the probe is not blind to the rounding mode)
    assert len({reference[f"fp-mode {mode}"] for mode in MODES}) == len(MODES)
