"""Faults a user meets, each reproduced for real (real engine, real runs): what mcuorch said,
its exit code, whether finished results were kept, and whether containers were left behind.

tests/e2e/test_faults.py judges them; benchmarks/faults.py prints them as a table.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from tests.e2e.engine_proxy import EngineProxy

REPO = Path(__file__).resolve().parents[2]
HANG = Path(__file__).resolve().parent / "default"
FREE_KB = 200
"""Space left under the home in the disk-full scenario: enough to start, not to finish."""


@dataclass
class Observed:
    fault: str
    exit_code: int
    message: str
    """The last line on stderr (the user's one error line)."""
    error_lines: int
    results_kept: bool | None
    """A report with every finished run exists (None: nothing had finished)."""
    containers_left: int
    detail: str = ""


def _env(home: Path, extra: dict[str, str] | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MCUORCH_")}
    env.update(MCUORCH_HOME=str(home), PYTHONPATH=str(REPO), **(extra or {}))
    return env


def _argv(*args: str) -> list[str]:
    return [sys.executable, "-m", "orchestrator", *args]


def _run(home: Path, *args: str, extra: dict[str, str] | None = None, timeout: float = 900) -> subprocess.CompletedProcess[str]:
    return subprocess.run(_argv(*args), env=_env(home, extra), capture_output=True, text=True, timeout=timeout, cwd=REPO)


def _sessions(home: Path) -> list[dict]:
    return sorted((json.loads(p.read_text()) for p in (home / "sessions").glob("*/session.json")),
                  key=lambda r: r["created"])


def _containers(session: str | None) -> int:
    if session is None:
        return 0
    out = subprocess.run(["docker", "ps", "-aq", "--filter", f"label=mcuorch.session={session}"],
                         capture_output=True, text=True, check=True).stdout
    return len(out.split())


def _report(home: Path) -> list[dict] | None:
    records = _sessions(home)
    if not records:
        return None
    path = home / "sessions" / records[-1]["id"] / "report.json"
    return json.loads(path.read_text()) if path.is_file() else None


def _observe(fault: str, home: Path, proc: subprocess.CompletedProcess[str] | tuple[int, str],
             finished: Callable[[list[dict]], bool] | None = None, detail: str = "") -> Observed:
    code, stderr = (proc.returncode, proc.stderr) if isinstance(proc, subprocess.CompletedProcess) else proc
    lines = [ln for ln in stderr.splitlines() if ln.strip()]
    errors = [ln for ln in lines if ln.startswith("error:")]
    records = _sessions(home)
    report = _report(home)
    kept = None if finished is None else (report is not None and finished(report))
    return Observed(fault, code, lines[-1] if lines else "", len(errors), kept,
                    _containers(records[-1]["id"] if records else None), detail)


def unknown_backend(home: Path) -> Observed:
    return _observe("unknown backend name", home, _run(home, "run", "sine_model", "-b", "tvmnope"))


def malformed_config(home: Path) -> Observed:
    return _observe("malformed config value", home, _run(home, "run", "sine_model", "-t", "riscv_qemu",
                                                        "-c", "riscv_qemu.arch=rv99x"))


def broken_environment_file(home: Path) -> Observed:
    bad = home / "broken.yml.j2"
    bad.write_text("extends: default\nname: broken\nbackends: [tvmaot\n")
    return _observe("broken environment file", home, _run(home, "run", "--env", str(bad), "sine_model"))


def corrupt_model(home: Path) -> Observed:
    model = home / "corrupt.tflite"
    model.write_bytes(b"TFL3" + os.urandom(2000))
    return _observe("corrupt model file", home, _run(home, "run", str(model), "sine_model", "-t", "host_x86"),
                    finished=lambda rows: any(r["Model"] == "sine_model" and r["Validation"] for r in rows))


def label_escape(home: Path) -> Observed:
    proc = _run(home, "run", "sine_model", "-t", "host_x86", "-l", "../../../tmp/escape")
    escaped = any(Path("/tmp").glob("escape.*"))
    return _observe("label that escapes the home", home, proc, detail="files outside: yes" if escaped else "")


def corrupted_cache_entry(home: Path) -> Observed:
    first = _run(home, "run", "sine_model", "-t", "riscv_qemu")
    if first.returncode != 0:
        return _observe("corrupted cache entry", home, first)
    run = _sessions(home)[-1]["runs"][0]
    metrics = home / "jobs" / "RUN" / run["jobs"]["RUN"] / "metrics.json"
    data = json.loads(metrics.read_text())
    true_value = data.get("Run Instructions")
    data["Run Instructions"] = 1
    metrics.write_text(json.dumps(data))
    second = _run(home, "run", "sine_model", "-t", "riscv_qemu")
    report = _report(home) or [{}]
    value = report[0].get("Run Instructions")
    return _observe("corrupted cache entry (edited metrics.json)", home, second,
                    finished=lambda rows: value == true_value, detail=f"reported {value} (true {true_value})")


def disk_full(home: Path) -> Observed:
    """The home on a small tmpfs filled up to its last FREE_KB: the job store runs out of space
    during the run, whatever the size of the runs' outputs."""
    small = Path(tempfile.mkdtemp(prefix="mcuorch-full-"))
    mount = ["mount", "-t", "tmpfs", "-o", "size=16m", "tmpfs", str(small)]
    if os.geteuid() != 0:
        mount = ["sudo", "-n", *mount]
    subprocess.run(mount, check=True)
    try:
        if os.geteuid() != 0:
            subprocess.run(["sudo", "-n", "chown", f"{os.getuid()}:{os.getgid()}", str(small)], check=True)
        free = shutil.disk_usage(small).free
        with open(small / "filler", "wb") as filler:
            filler.write(b"\0" * max(0, free - FREE_KB * 1024))
        proc = _run(small, "run", "sine_model", "aww", "-t", "riscv_qemu")
        observed = _observe("disk full under the home", small, proc)
    finally:
        subprocess.run(["umount", str(small)] if os.geteuid() == 0 else ["sudo", "-n", "umount", str(small)])
        shutil.rmtree(small, ignore_errors=True)
    return observed


def _hang_run(home: Path, act: Callable[[subprocess.Popen[str], str], None], *extra_args: str) -> tuple[int, str]:
    """sine_model with tvmaot (finishes) and hangaot (never ends) on riscv_qemu; `act` is called
    once the hanging program's RUN container exists (with the process and that container's id)."""
    args = ["run", "--env", str(HANG / "hang.yml.j2"), "sine_model", "-b", "tvmaot", "-b", "hangaot",
            "-t", "riscv_qemu", "-c", "riscv_qemu.timeout_sec=120", *extra_args]
    proc = subprocess.Popen(_argv(*args), env=_env(home, {"MCUORCH_PLUGINS": str(HANG / "hang_plugin.py")}),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=REPO)
    deadline = time.monotonic() + 600
    acted = False
    while proc.poll() is None and time.monotonic() < deadline and not acted:
        time.sleep(1)
        ids = subprocess.run(["docker", "ps", "-q", "--filter", "label=mcuorch.image=qemu"],
                             capture_output=True, text=True).stdout.split()
        running = _running_hang(ids)
        if running:
            act(proc, running)
            acted = True
    _, stderr = proc.communicate(timeout=600)
    return proc.returncode, stderr


def _running_hang(ids: list[str]) -> str | None:
    for cid in ids:
        # plain `docker top`: engines differ in which `ps` options they accept
        top = subprocess.run(["docker", "top", cid], capture_output=True, text=True).stdout
        if "qemu-system" in top:
            return cid
    return None


def killed_container(home: Path) -> Observed:
    code, stderr = _hang_run(home, lambda proc, cid: subprocess.run(["docker", "kill", cid], capture_output=True))
    report = _report(home) or []
    reason = next((r.get("Reason") for r in report if r["Backend"] == "hangaot"), None)
    return _observe("docker kill of the running container", home, (code, stderr),
                    finished=lambda rows: any(r["Backend"] == "tvmaot" and r["Validation"] for r in rows),
                    detail=f"Reason: {reason}")


def interrupted(home: Path) -> Observed:
    code, stderr = _hang_run(home, lambda proc, cid: proc.send_signal(signal.SIGINT))
    # Kept: the partial report has every run, each either finished (validated) or Incomplete.
    return _observe("Ctrl+C during RUN", home, (code, stderr),
                    finished=lambda rows: len(rows) == 2 and all(r["Validation"] or r["Incomplete"] for r in rows))


def engine_unreachable(home: Path) -> Observed:
    """DOCKER_HOST names a socket nobody listens on (an engine that is down or elsewhere)."""
    gone = home / "no-engine.sock"
    return _observe("Docker engine unreachable", home,
                    _run(home, "run", "sine_model", "-t", "riscv_qemu", extra={"DOCKER_HOST": f"unix://{gone}"}))


def _run_until(home: Path, args: list[str], when: Callable[[str], bool], act: Callable[[], None],
               extra: dict[str, str] | None = None, timeout: float = 900) -> tuple[int, str, bool]:
    """Run mcuorch, reading its stderr (one progress line per finished job when not on a
    terminal) as it comes; `act()` once, right after the first line `when` accepts. Returns
    the exit code, all of stderr and whether `act` ran."""
    proc = subprocess.Popen(_argv(*args), env=_env(home, extra), stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True, cwd=REPO)
    watchdog = threading.Timer(timeout, proc.kill)  # a hang fails the scenario, never the suite
    watchdog.start()
    lines: list[str] = []
    acted = False
    try:
        assert proc.stderr is not None
        for line in proc.stderr:
            lines.append(line)
            if not acted and when(line):
                act()
                acted = True
        proc.wait()
    finally:
        watchdog.cancel()
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    return proc.returncode, "".join(lines), acted


def _finished_job(line: str, stage: str, model: str) -> bool:
    """A progress line `[i/n] STAGE   model/... <id> done|cached ...` of `model`'s job."""
    words = line.split()
    return len(words) >= 5 and words[1] == stage and words[2].split("/")[0] == model and words[4] in {"done", "cached"}


def engine_lost(home: Path) -> Observed:
    """DOCKER_HOST names a proxy to the engine that is cut once a run has finished: the daemon
    stopping, or its socket going away, as the session sees it. Then the proxy comes back (the
    engine is back) and `--resume` finishes the rest.

    sine_model's LOAD, BUILD and COMPILE are cached by a first session, so in the second one its
    RUN finishes within seconds while aww is still building (a minute or more on 2 cores): the
    cut always falls between a finished run and an unfinished one, however loaded the machine."""
    warm = _run(home, "run", "sine_model", "-t", "riscv_qemu", "--until", "compile")
    if warm.returncode != 0:
        return _observe("Docker engine lost mid-session", home, warm, detail="the warm-up session failed")
    with EngineProxy() as proxy:
        code, stderr, acted = _run_until(
            home, ["run", "sine_model", "aww", "-t", "riscv_qemu", "--parallel", "2"],
            when=lambda line: _finished_job(line, "RUN", "sine_model"), act=proxy.cut,
            extra={"DOCKER_HOST": proxy.address})
        lost = _observe("Docker engine lost mid-session", home, (code, stderr),
                        finished=lambda rows: [(r["Model"], bool(r["Validation"])) for r in rows
                                               if not r["Incomplete"]] == [("sine_model", True)])
        session = _sessions(home)[-1]
        left_behind = _containers(session["id"])  # in the engine the proxy hid: the next session's gc
        proxy.restore()
        resumed = _run(home, "run", "--resume", session["id"], extra={"DOCKER_HOST": proxy.address})
    rows = _report(home) or []
    validated = sum(bool(r["Validation"]) and not r["Incomplete"] for r in rows)
    detail = (f"cut after a finished run: {'yes' if acted else 'NO'}; containers hidden by the cut: {left_behind}; "
              f"resume: exit {resumed.returncode}, {validated}/{len(rows)} runs validated"
              + ("" if resumed.returncode == 0 else f" ({resumed.stderr.strip().splitlines()[-1:]})"))
    return Observed(lost.fault, lost.exit_code, lost.message, lost.error_lines, lost.results_kept,
                    _containers(session["id"]), detail)


def _image_tags(namespace: str, names: list[str]) -> dict[str, str]:
    """Tags of the default environment's images `names` under `namespace`."""
    from orchestrator.environment import load_environment
    from orchestrator.images.tags import resolve_images

    images = resolve_images(load_environment("default"), namespace=namespace)
    return {name: images.get(name).tag for name in names}


def image_removed(home: Path) -> Observed:
    """An image the session needs is removed while the session runs (after its images were
    checked, before its RUN job starts): `docker rmi` by hand, or a prune in another shell.

    The session runs on a namespace of its own (MCUORCH_IMAGE_NAMESPACE) whose tags are second
    names of the built default images, and loses its own `qemu` tag: other sessions on this
    engine keep every image they use, and nothing has to be rebuilt afterwards."""
    args = ["run", "sine_model", "-t", "riscv_qemu"]
    dry = _run(home, *args, "--dry-run")
    images = next((w.split("=", 1)[1].split(",") for w in dry.stdout.split() if w.startswith("images=")), [])
    if dry.returncode != 0 or not images:
        return _observe("image removed during the session", home, dry, detail="the dry run failed")
    built = _run(home, "images", "build", "-q", *images)  # a no-op when they exist
    if built.returncode != 0:
        return _observe("image removed during the session", home, built, detail="the images could not be built")
    namespace = f"mcuorch-fault-{uuid.uuid4().hex[:8]}"
    ours, private = _image_tags("mcuorch", images), _image_tags(namespace, images)
    gone = private[images[-1]]  # the RUN stage's image: needed last
    try:
        for name in images:
            subprocess.run(["docker", "tag", ours[name], private[name]], check=True, capture_output=True)
        code, stderr, acted = _run_until(
            home, args, when=lambda line: _finished_job(line, "LOAD", "sine_model"),
            act=lambda: subprocess.run(["docker", "rmi", "--no-prune", gone], check=True, capture_output=True),
            extra={"MCUORCH_IMAGE_NAMESPACE": namespace})
    finally:
        for tag in private.values():
            subprocess.run(["docker", "rmi", "--no-prune", tag], capture_output=True)
    return _observe("image removed during the session", home, (code, stderr),
                    detail=f"removed {gone} after LOAD: {'yes' if acted else 'NO'}")


SCENARIOS: list[Callable[[Path], Observed]] = [
    unknown_backend, malformed_config, broken_environment_file, corrupt_model, label_escape, engine_unreachable,
    corrupted_cache_entry, disk_full, killed_container, interrupted, engine_lost, image_removed,
]
