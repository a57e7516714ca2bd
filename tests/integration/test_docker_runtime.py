"""The Docker runtime against a real engine: user, mounts, network, limits, timeouts, cleanup."""

from __future__ import annotations

import http.client
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import docker
import pytest
from docker_fixtures import leftover_containers

from orchestrator.environment import Environment
from orchestrator.errors import EngineLostError, ImageMissingError, JobError
from orchestrator.images.progress import PlainProgress
from orchestrator.images.tags import ImageSet
from orchestrator.runtime.base import ExecRequest, ExecResult, ImageRef, Limits, Mount, Runtime
from orchestrator.runtime.docker import DockerRuntime
from orchestrator.runtime.owners import force_remove, labelled_containers
from tests.e2e.engine_proxy import EngineProxy

pytestmark = pytest.mark.docker
PROJECT = Path(__file__).resolve().parents[2]

MakeRuntime = Callable[..., DockerRuntime]


@pytest.fixture
def make_runtime(docker_client: docker.DockerClient, default_env: Environment, base_image: ImageSet,
                 test_session_id: str) -> Iterator[MakeRuntime]:
    made: list[DockerRuntime] = []

    def make(**options: object) -> DockerRuntime:
        runtime = DockerRuntime(default_env, test_session_id, client=docker_client,
                                progress=PlainProgress(quiet=True), **options)  # type: ignore[arg-type]
        made.append(runtime)
        return runtime

    yield make
    for runtime in made:
        runtime.close()


@pytest.fixture
def work(tmp_path: Path) -> Path:
    """in/ (an input with one file), out/ (the job's output, writable by any uid)."""
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "data.txt").write_text("input\n")
    (tmp_path / "out").mkdir()
    os.chmod(tmp_path / "out", 0o777)
    return tmp_path


def request(images: ImageSet, work: Path, argv: list[str], **changes: object) -> ExecRequest:
    fields: dict[str, object] = {
        "image": images.get("base").ref, "argv": argv,
        "mounts": [Mount(path=work / "in"), Mount(path=work / "out", read_only=False)],
        "workdir": work / "out", "timeout_sec": 60, "stdout_path": work / "stdout", "stderr_path": work / "stderr",
    }
    fields.update(changes)
    return ExecRequest(**fields)  # type: ignore[arg-type]


def run(runtime: DockerRuntime, req: ExecRequest, cancel: threading.Event | None = None) -> ExecResult:
    return runtime.run(req, cancel or threading.Event())


def test_satisfies_the_runtime_protocol(make_runtime: MakeRuntime, base_image: ImageSet) -> None:
    runtime = make_runtime()
    assert isinstance(runtime, Runtime)
    ref = base_image.get("base").ref
    runtime.prepare([ref])
    assert runtime.image_identity(ref) == ref.tag
    assert runtime.image_id(ref) == runtime.client.images.get(ref.tag).id


def test_runs_as_invoking_user_and_output_belongs_to_them(make_runtime: MakeRuntime, base_image: ImageSet,
                                                          work: Path) -> None:
    result = run(make_runtime(), request(base_image, work, ["sh", "-c", "id -u; id -g; echo x > made.txt"]))
    assert result.exit_code == 0, (work / "stderr").read_text()
    assert (work / "stdout").read_text().split() == [str(os.getuid()), str(os.getgid())]
    assert (work / "out" / "made.txt").stat().st_uid == os.getuid()


def test_explicit_uid_owns_outputs_and_gets_a_writable_home(make_runtime: MakeRuntime, base_image: ImageSet,
                                                            work: Path) -> None:
    argv = ["sh", "-c", 'id -u; touch "$HOME/h" "$TMPDIR/t" && echo ok; echo x > made.txt']
    result = run(make_runtime(user=(4242, 4343)), request(base_image, work, argv))
    assert result.exit_code == 0, (work / "stderr").read_text()
    assert (work / "stdout").read_text().split() == ["4242", "ok"]
    stat = (work / "out" / "made.txt").stat()
    assert (stat.st_uid, stat.st_gid) == (4242, 4343)


def test_inputs_and_image_are_read_only_tmp_is_writable(make_runtime: MakeRuntime, base_image: ImageSet,
                                                        work: Path) -> None:
    script = (f"echo changed > {work}/in/data.txt; echo a=$?; touch {work}/in/new; echo b=$?; "
              "touch /usr/x; echo c=$?; touch /tmp/x; echo d=$?")
    result = run(make_runtime(user=(0, 0)), request(base_image, work, ["sh", "-c", script]))
    assert result.exit_code == 0
    assert (work / "stdout").read_text().split() == ["a=2", "b=1", "c=1", "d=0"]
    assert "Read-only file system" in (work / "stderr").read_text()
    assert (work / "in" / "data.txt").read_text() == "input\n"
    assert not (work / "in" / "new").exists()


def test_no_network_unless_requested(make_runtime: MakeRuntime, base_image: ImageSet, work: Path) -> None:
    runtime = make_runtime()
    argv = ["sh", "-c", "ls /sys/class/net"]
    assert run(runtime, request(base_image, work, argv)).exit_code == 0
    assert (work / "stdout").read_text().split() == ["lo"]
    assert run(runtime, request(base_image, work, argv, network=True)).exit_code == 0
    assert "eth0" in (work / "stdout").read_text().split()


def test_streams_env_and_exit_code(make_runtime: MakeRuntime, base_image: ImageSet, work: Path) -> None:
    echoed: list[tuple[str, bytes]] = []
    runtime = make_runtime(echo=lambda stream, data: echoed.append((stream, data)))
    argv = ["sh", "-c", 'echo "to-out $X"; echo to-err >&2; exit 3']
    result = run(runtime, request(base_image, work, argv, env={"X": "1"}))
    assert result.exit_code == 3 and not result.timed_out and not result.cancelled
    assert (work / "stdout").read_text() == "to-out 1\n"
    assert (work / "stderr").read_text() == "to-err\n"
    assert sorted(echoed) == [("stderr", b"to-err\n"), ("stdout", b"to-out 1\n")]


def test_output_that_arrives_with_the_headers_is_kept(make_runtime: MakeRuntime, base_image: ImageSet, work: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """A client that reads the exec's response headers late (a loaded machine) finds the job's
    first frames buffered with them; they must reach the logs (docker-py's exec_start loses
    them), on the first attempt."""
    runtime = make_runtime()
    judged: list[bool] = []
    real = DockerRuntime._output_complete
    monkeypatch.setattr(DockerRuntime, "_output_complete",
                        staticmethod(lambda req, result: judged.append(real(req, result)) or judged[-1]))
    begin = http.client.HTTPResponse.begin

    def late(response: http.client.HTTPResponse) -> None:
        time.sleep(0.5)  # the job has printed and the engine sent its frames meanwhile
        begin(response)

    monkeypatch.setattr(http.client.HTTPResponse, "begin", late)
    result = run(runtime, request(base_image, work, ["sh", "-c", "echo to-out; echo to-err >&2"]))
    assert result.exit_code == 0 and judged == [True]
    assert (work / "stdout").read_text() == "to-out\n" and (work / "stderr").read_text() == "to-err\n"


def test_a_cut_output_stream_runs_the_job_again(make_runtime: MakeRuntime, base_image: ImageSet, work: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """The engine can end an exec's stream before a short job's output arrived: the job runs
    again from empty output folders, and its logs hold its own bytes only."""
    judged: list[bool] = []
    real = DockerRuntime._output_complete

    def first_cut(req: ExecRequest, result: ExecResult) -> bool:
        complete = real(req, result)
        judged.append(complete)
        return complete and len(judged) > 1

    monkeypatch.setattr(DockerRuntime, "_output_complete", staticmethod(first_cut))
    argv = ["sh", "-c", 'test ! -e left-over || exit 9; touch left-over; echo "Program finish."; echo e >&2']
    result = run(make_runtime(), request(base_image, work, argv))
    assert judged == [True, True] and result.exit_code == 0
    assert (work / "stdout").read_text() == "Program finish.\n" and (work / "stderr").read_text() == "e\n"


def test_a_stream_cut_every_time_is_a_job_error(make_runtime: MakeRuntime, base_image: ImageSet, work: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(DockerRuntime, "_output_complete", staticmethod(lambda req, result: False))
    with pytest.raises(JobError, match="cut the output stream of docker exec .* 3 times"):
        run(make_runtime(), request(base_image, work, ["true"]))


def test_missing_program_is_exit_127(make_runtime: MakeRuntime, base_image: ImageSet, work: Path) -> None:
    result = run(make_runtime(), request(base_image, work, ["no-such-program-here"]))
    assert result.exit_code == 127
    assert "no-such-program-here" in (work / "stderr").read_text()


@pytest.mark.parametrize("reuse", [True, False])
def test_timeout_kills_every_process_of_the_job(make_runtime: MakeRuntime, base_image: ImageSet, work: Path,
                                                reuse: bool, docker_client: docker.DockerClient,
                                                test_session_id: str) -> None:
    runtime = make_runtime(reuse=reuse)
    # a grandchild in a new session and a background child: both must die
    argv = ["sh", "-c", "setsid sleep 300 & echo $! > bg.pid; sleep 300 & echo $! > fg.pid; wait"]
    start = time.monotonic()
    result = run(runtime, request(base_image, work, argv, timeout_sec=1.5))
    elapsed = time.monotonic() - start
    assert result.timed_out and result.exit_code is None
    assert elapsed < 6, elapsed
    if not reuse:  # the job's own container is gone, and every process with it
        assert leftover_containers(docker_client, test_session_id) == []
        return
    pids = [(work / "out" / name).read_text().strip() for name in ("bg.pid", "fg.pid")]
    check = ["sh", "-c", " ".join(f"test -e /proc/{p} && echo alive-{p};" for p in pids) + " true"]
    assert run(runtime, request(base_image, work, check)).exit_code == 0  # in the same warm container
    assert (work / "stdout").read_text() == ""


def test_cancel_event_stops_a_running_job(make_runtime: MakeRuntime, base_image: ImageSet, work: Path) -> None:
    cancel = threading.Event()
    threading.Timer(1.0, cancel.set).start()
    start = time.monotonic()
    result = run(make_runtime(), request(base_image, work, ["sleep", "300"]), cancel)
    assert result.cancelled and result.exit_code is None
    assert time.monotonic() - start < 6


def test_memory_and_pids_limits_apply_per_job(make_runtime: MakeRuntime, base_image: ImageSet, work: Path) -> None:
    runtime = make_runtime()
    hog = ["python3", "-c", "x = bytearray(400 * 1024 * 1024); print('survived')"]
    limited = run(runtime, request(base_image, work, hog, limits=Limits(memory_bytes=128 * 1024 * 1024)))
    assert limited.exit_code == 137
    free = run(runtime, request(base_image, work, hog))
    assert free.exit_code == 0 and (work / "stdout").read_text() == "survived\n"
    forks = ["sh", "-c", "for i in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20; do sleep 5 & done; wait"]
    run(runtime, request(base_image, work, forks, limits=Limits(pids=8), timeout_sec=30))
    assert "fork" in (work / "stderr").read_text().lower()  # the 9th process could not start
    unlimited = run(runtime, request(base_image, work, forks, timeout_sec=30))
    assert unlimited.exit_code == 0 and "fork" not in (work / "stderr").read_text().lower()


def test_containers_are_reused_and_jobs_do_not_share_scratch(make_runtime: MakeRuntime, base_image: ImageSet,
                                                             work: Path) -> None:
    runtime = make_runtime()
    argv = ["sh", "-c", 'cat /proc/sys/kernel/hostname; ls -d /tmp/mcuorch-job-* | wc -l; echo junk > "$TMPDIR/j"']
    hosts = []
    for _ in range(3):
        assert run(runtime, request(base_image, work, argv)).exit_code == 0
        host, count = (work / "stdout").read_text().split()
        hosts.append(host)
        assert count == "1"  # only this job's own scratch folder
    assert len(set(hosts)) == 1


def test_a_warm_container_that_died_is_replaced(make_runtime: MakeRuntime, base_image: ImageSet, work: Path,
                                                docker_client: docker.DockerClient, test_session_id: str) -> None:
    runtime = make_runtime()
    assert run(runtime, request(base_image, work, ["true"])).exit_code == 0
    (warm,) = leftover_containers(docker_client, test_session_id)
    docker_client.containers.get(warm).remove(force=True)
    assert run(runtime, request(base_image, work, ["true"])).exit_code == 0
    assert leftover_containers(docker_client, test_session_id) not in ([], [warm])


def test_concurrent_jobs_get_separate_containers(make_runtime: MakeRuntime, base_image: ImageSet,
                                                 tmp_path: Path) -> None:
    runtime = make_runtime()
    works = []
    for i in range(2):
        w = tmp_path / f"w{i}"
        (w / "in").mkdir(parents=True)
        (w / "out").mkdir()
        works.append(w)
    results: list[ExecResult] = []
    argv = ["sh", "-c", "cat /proc/sys/kernel/hostname; sleep 1"]
    threads = [threading.Thread(target=lambda w=w: results.append(run(runtime, request(base_image, w, argv))))
               for w in works]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert [r.exit_code for r in results] == [0, 0]
    assert len({(w / "stdout").read_text() for w in works}) == 2


def test_uncovered_read_only_mount_gets_its_own_container(make_runtime: MakeRuntime, base_image: ImageSet,
                                                          work: Path) -> None:
    # the shared mount would make in/ writable: the runtime must not serve this job from it
    runtime = make_runtime(shared_mounts=[Mount(path=work, read_only=False)])
    argv = ["sh", "-c", f"echo x > {work}/in/data.txt"]
    result = run(runtime, request(base_image, work, argv))
    assert result.exit_code == 2
    assert (work / "in" / "data.txt").read_text() == "input\n"


def test_covered_mounts_share_one_container(make_runtime: MakeRuntime, base_image: ImageSet, tmp_path: Path) -> None:
    store = tmp_path / "store"
    staging = tmp_path / "staging"
    for i in range(2):
        (store / f"job{i}").mkdir(parents=True)
        (staging / f"job{i}").mkdir(parents=True)
    runtime = make_runtime(shared_mounts=[Mount(path=store), Mount(path=staging, read_only=False)])
    hosts = []
    for i in range(2):
        req = ExecRequest(image=base_image.get("base").ref, argv=["sh", "-c", "cat /proc/sys/kernel/hostname"],
                          mounts=[Mount(path=store / f"job{i}"), Mount(path=staging / f"job{i}", read_only=False)],
                          workdir=staging / f"job{i}", timeout_sec=30, stdout_path=tmp_path / f"o{i}",
                          stderr_path=tmp_path / f"e{i}")
        assert run(runtime, req).exit_code == 0
        hosts.append((tmp_path / f"o{i}").read_text())
    assert hosts[0] == hosts[1]


def test_store_layout_shares_containers_per_stage_by_default(make_runtime: MakeRuntime, base_image: ImageSet,
                                                            tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Jobs of one stage reuse one container; it reads earlier stages' outputs, writes only its
    own stage's staging folder and sees nothing of later stages."""
    monkeypatch.setenv("MCUORCH_HOME", str(tmp_path / "home"))
    runtime = make_runtime()
    jobs = tmp_path / "home" / "jobs"
    (jobs / "RUN" / "key9").mkdir(parents=True)
    hosts = []
    jobs_of = [("LOAD", "BUILD", "key0"), ("LOAD", "BUILD", "key1"), ("BUILD", "COMPILE", "key2")]
    for upstream, stage, key in jobs_of:
        inputs = jobs / upstream / key / "outputs"
        inputs.mkdir(parents=True)
        out = jobs / stage / ".staging" / key / "outputs"
        out.mkdir(parents=True)
        other_staging = jobs / upstream / ".staging"
        other_staging.mkdir(parents=True, exist_ok=True)
        argv = ["sh", "-c", f"cat /proc/sys/kernel/hostname; touch {inputs}/x || echo ro; "
                            f"touch {other_staging}/z || echo ro; ls {jobs}/RUN || echo hidden; touch {out}/y"]
        req = ExecRequest(image=base_image.get("base").ref, argv=argv,
                          mounts=[Mount(path=inputs), Mount(path=PROJECT / "sw"), Mount(path=out, read_only=False)],
                          workdir=out, timeout_sec=30, stdout_path=tmp_path / "o", stderr_path=tmp_path / "e")
        assert run(runtime, req).exit_code == 0, (tmp_path / "e").read_text()
        host, *verdicts = (tmp_path / "o").read_text().split()
        assert verdicts == ["ro", "ro", "hidden"] and (out / "y").exists() and not (inputs / "x").exists()
        hosts.append(host)
    assert hosts[0] == hosts[1] != hosts[2]


def test_idle_containers_are_bounded(make_runtime: MakeRuntime, base_image: ImageSet, tmp_path: Path,
                                     docker_client: docker.DockerClient, test_session_id: str) -> None:
    runtime = make_runtime(max_idle=1)
    for i in range(3):  # three different mount sets: three containers, only the last kept warm
        w = tmp_path / f"w{i}"
        (w / "in").mkdir(parents=True)
        (w / "out").mkdir()
        assert run(runtime, request(base_image, w, ["true"])).exit_code == 0
    assert len(leftover_containers(docker_client, test_session_id)) == 1


def test_refuses_the_docker_socket(make_runtime: MakeRuntime, base_image: ImageSet, work: Path) -> None:
    sock = Path("/var/run/docker.sock")
    if not sock.exists():
        pytest.skip("no local docker socket")
    with pytest.raises(JobError, match="socket"):
        run(make_runtime(), request(base_image, work, ["true"], mounts=[Mount(path=sock)]))


@pytest.mark.parametrize("argv,outcome", [(["true"], "ok"), (["false"], "failed"),
                                          (["sleep", "60"], "timeout")])
def test_single_use_containers_are_gone_after_each_job(make_runtime: MakeRuntime, base_image: ImageSet,
                                                       work: Path, docker_client: docker.DockerClient,
                                                       test_session_id: str, argv: list[str],
                                                       outcome: str) -> None:
    runtime = make_runtime(reuse=False)
    result = run(runtime, request(base_image, work, argv, timeout_sec=1))
    assert {"ok": result.exit_code == 0, "failed": result.exit_code == 1,
            "timeout": result.timed_out}[outcome]
    assert leftover_containers(docker_client, test_session_id) == []


def test_close_removes_warm_containers(make_runtime: MakeRuntime, base_image: ImageSet, work: Path,
                                       docker_client: docker.DockerClient, test_session_id: str) -> None:
    runtime = make_runtime()
    assert run(runtime, request(base_image, work, ["true"])).exit_code == 0
    assert len(leftover_containers(docker_client, test_session_id)) == 1
    runtime.close()
    runtime.close()
    assert leftover_containers(docker_client, test_session_id) == []


def _driver(session_id: str, out: Path, mode: str) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(PROJECT), os.environ.get("PYTHONPATH", "")])}
    return subprocess.Popen([sys.executable, str(Path(__file__).with_name("session_driver.py")),
                             session_id, str(out), mode], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env=env)


def _wait_running(client: docker.DockerClient, session_id: str, out: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if leftover_containers(client, session_id) and (out.parent / "stdout").is_file() \
                and "started" in (out.parent / "stdout").read_text():
            return
        time.sleep(0.1)
    raise AssertionError("the driver's job never started")


@pytest.mark.parametrize("signum,mode", [(signal.SIGINT, "reuse"), (signal.SIGTERM, "single")])
def test_signal_to_a_session_process_removes_its_containers(docker_client: docker.DockerClient, base_image: ImageSet,
                                                            test_session_id: str, tmp_path: Path,
                                                            signum: int, mode: str) -> None:
    out = tmp_path / "out"
    out.mkdir()
    proc = _driver(test_session_id, out, mode)
    try:
        _wait_running(docker_client, test_session_id, out)
        sent = time.monotonic()
        proc.send_signal(signum)
        stdout, stderr = proc.communicate(timeout=30)
    finally:
        proc.kill()
    assert proc.returncode == 130, stderr
    assert '"cancelled":true' in stdout
    assert time.monotonic() - sent < 15
    assert leftover_containers(docker_client, test_session_id) == []


def test_every_container_is_limited_and_unprivileged(make_runtime: MakeRuntime, base_image: ImageSet,
                                                     work: Path, docker_client: docker.DockerClient,
                                                     test_session_id: str) -> None:
    """A request without limits still gets the runtime's defaults (memory, CPU, pids), no
    capabilities and no-new-privileges: the warm containers a session reuses included."""
    runtime = make_runtime()
    assert run(runtime, request(base_image, work, ["true"])).exit_code == 0
    (container,) = docker_client.containers.list(all=True, filters={"label": f"mcuorch.session={test_session_id}"})
    host = container.attrs["HostConfig"]
    assert host["Memory"] > 0 and host["NanoCpus"] > 0 and host["PidsLimit"] > 0
    assert host["CapDrop"] == ["ALL"] and "no-new-privileges" in host["SecurityOpt"]
    limited = request(base_image, work, ["sh", "-c", "cat /sys/fs/cgroup/pids.max 2>/dev/null || "
                                                     "cat /sys/fs/cgroup/pids/pids.max"],
                      limits=Limits(pids=64))
    assert run(runtime, limited).exit_code == 0
    assert (work / "stdout").read_text().strip() == "64"


def test_a_killed_container_is_named_and_spares_the_next_job(make_runtime: MakeRuntime, base_image: ImageSet,
                                                             work: Path, docker_client: docker.DockerClient,
                                                             test_session_id: str) -> None:
    runtime = make_runtime()
    assert run(runtime, request(base_image, work, ["true"])).exit_code == 0  # a warm container now exists
    (warm,) = docker_client.containers.list(filters={"label": f"mcuorch.session={test_session_id}"})
    threading.Timer(1.0, warm.kill).start()
    victim = run(runtime, request(base_image, work, ["sleep", "30"]))
    assert victim.exit_code is not None and victim.exit_code != 0
    assert victim.killed is not None and "was killed from outside" in victim.killed
    bystander = run(runtime, request(base_image, work, ["sh", "-c", "echo fine"]))  # a fresh container
    assert (bystander.exit_code, bystander.killed) == (0, None)
    assert (work / "stdout").read_text() == "fine\n"


def test_an_engine_lost_mid_job_is_engine_lost_naming_it(default_env: Environment, base_image: ImageSet,
                                                         work: Path, docker_client: docker.DockerClient,
                                                         test_session_id: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """The engine's socket goes away while a job streams its output (a proxy in front of the
    engine is cut): one EngineLostError naming DOCKER_HOST, soon; close() does not wait on a
    dead engine. The container stays in the real engine until a later session's gc."""
    with EngineProxy() as proxy:
        monkeypatch.setenv("DOCKER_HOST", proxy.address)
        runtime = DockerRuntime(default_env, test_session_id, client=docker.DockerClient(base_url=proxy.address),
                                progress=PlainProgress(quiet=True))
        try:
            req = request(base_image, work, ["sh", "-c", "echo started; sleep 60"])
            threading.Thread(target=lambda: (_wait_for(lambda: "started" in _text(work / "stdout")),
                                             proxy.cut()), daemon=True).start()
            began = time.monotonic()
            with pytest.raises(EngineLostError) as lost:
                run(runtime, req)
            assert time.monotonic() - began < 30
            assert lost.value.address == proxy.address and str(lost.value) == f"lost the Docker engine at {proxy.address}"
            closing = time.monotonic()
            runtime.close()
            assert time.monotonic() - closing < 5
        finally:
            for container in labelled_containers(docker_client, [f"mcuorch.session={test_session_id}"]):
                force_remove(docker_client, container.id)


def test_a_dropped_connection_to_a_live_engine_is_no_engine_loss(make_runtime: MakeRuntime, base_image: ImageSet,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    import requests.exceptions

    from orchestrator.images.engine import lost_engine

    runtime = make_runtime()
    dropped = requests.exceptions.ConnectionError("Connection aborted.")
    assert lost_engine(runtime.client, dropped) is None  # the engine still answers a ping
    assert lost_engine(runtime.client, docker.errors.APIError("500 Server Error")) is None


def test_an_image_removed_mid_session_is_image_missing(make_runtime: MakeRuntime, base_image: ImageSet, work: Path,
                                                       docker_client: docker.DockerClient, test_session_id: str) -> None:
    runtime = make_runtime()
    ref = base_image.get("base").ref
    gone = ImageRef(name="base", tag=f"mcuorch-it-{test_session_id}/base:gone")
    docker_client.images.get(ref.tag).tag(gone.tag)
    runtime.prepare([ref])
    docker_client.images.remove(gone.tag, noprune=True)  # untags: the image keeps its own tag
    with pytest.raises(ImageMissingError) as missing:
        run(runtime, request(base_image, work, ["true"], image=gone))
    assert str(missing.value) == (f"image {gone.tag} is missing (removed during the session?); run the command "
                                  "again, missing images are rebuilt")
    assert run(runtime, request(base_image, work, ["true"])).exit_code == 0  # the others still run


def _text(path: Path) -> str:
    return path.read_text() if path.is_file() else ""


def _wait_for(condition: Callable[[], bool], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.05)
