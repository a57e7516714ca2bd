"""The job store: atomic publication, lookups, locks."""

from __future__ import annotations

import threading
import time
from pathlib import Path

from orchestrator.components.base import Stage
from orchestrator.plan import KeyInputs
from orchestrator.store import JOB_RECORD, OUTPUTS, ImageRecord, JobRecord, JobStore


def _record(key: str) -> JobRecord:
    inputs = KeyInputs(stage="LOAD", components={}, config={}, inputs={}, image="i")
    return JobRecord(key=key, stage="LOAD", argv=["x"], image=ImageRecord(name="i", tag="t", identity="i"),
                     runtime="fake", key_inputs=inputs, started=0, finished=1, duration_sec=1, exit_code=0,
                     outputs_digest="d", session="s")


def test_staging_is_invisible_until_published(tmp_path: Path) -> None:
    store = JobStore(tmp_path)
    with store.lock(Stage.LOAD, "k1"):
        staging = store.prepare_staging(Stage.LOAD, "k1")
        (staging / OUTPUTS / "model.json").write_text("{}")
        assert store.lookup(Stage.LOAD, "k1") is None
        assert list(store.all_jobs()) == []
        published = store.publish(staging, Stage.LOAD, "k1", _record("k1"), {"Params": 3})
    assert not staging.exists()
    assert published.path == tmp_path / "LOAD" / "k1"
    again = store.lookup(Stage.LOAD, "k1")
    assert again is not None and again.metrics == {"Params": 3} and (again.outputs / "model.json").is_file()
    assert list(store.all_jobs()) == [(Stage.LOAD, "k1")]


def test_interrupted_staging_is_never_a_hit_and_is_reset(tmp_path: Path) -> None:
    store = JobStore(tmp_path)
    staging = store.prepare_staging(Stage.BUILD, "k2")
    (staging / OUTPUTS / "half.c").write_text("int")
    assert store.lookup(Stage.BUILD, "k2") is None  # a crashed job left this behind
    fresh = store.prepare_staging(Stage.BUILD, "k2")
    assert list((fresh / OUTPUTS).iterdir()) == []


def test_directory_without_readable_record_is_not_a_hit(tmp_path: Path) -> None:
    store = JobStore(tmp_path)
    (store.path(Stage.RUN, "k3") / OUTPUTS).mkdir(parents=True)
    assert store.lookup(Stage.RUN, "k3") is None
    (store.path(Stage.RUN, "k3") / JOB_RECORD).write_text("{broken")
    assert store.lookup(Stage.RUN, "k3") is None


def test_lock_serialises_holders_of_the_same_key(tmp_path: Path) -> None:
    store = JobStore(tmp_path)
    events: list[str] = []

    def hold(name: str) -> None:
        with store.lock(Stage.COMPILE, "k4"):
            events.append(f"{name}+")
            time.sleep(0.2)
            events.append(f"{name}-")

    threads = [threading.Thread(target=hold, args=(n,)) for n in "ab"]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert events in (["a+", "a-", "b+", "b-"], ["b+", "b-", "a+", "a-"])


def test_find_by_prefix(tmp_path: Path) -> None:
    store = JobStore(tmp_path)
    for key in ("abc123", "abd456"):
        with store.lock(Stage.LOAD, key):
            store.publish(store.prepare_staging(Stage.LOAD, key), Stage.LOAD, key, _record(key), {})
    assert [j.record.key for j in store.find("abc")] == ["abc123"]
    assert len(store.find("ab")) == 2


def test_an_edited_or_damaged_entry_is_no_hit(tmp_path: Path) -> None:
    """Editing a published metrics.json (e.g. Run Instructions 1714 → 1) or an output file makes
    the entry a miss; under the key's lock it is discarded so the job runs again."""
    from orchestrator.digest import digest_dir

    store = JobStore(tmp_path)
    with store.lock(Stage.RUN, "k9"):
        staging = store.prepare_staging(Stage.RUN, "k9")
        (staging / OUTPUTS / "stdout.txt").write_text("# Run Instructions: 1714\n")
        record = _record("k9").model_copy(update={"outputs_digest": digest_dir(staging / OUTPUTS)})
        store.publish(staging, Stage.RUN, "k9", record, {"Run Instructions": 1714})
    assert store.verified(Stage.RUN, "k9") is not None
    metrics = store.path(Stage.RUN, "k9") / "metrics.json"
    original = metrics.read_text()
    metrics.write_text(original.replace("1714", "1"))
    assert store.verified(Stage.RUN, "k9") is None
    metrics.write_text(original)
    assert store.verified(Stage.RUN, "k9") is not None
    (store.path(Stage.RUN, "k9") / OUTPUTS / "stdout.txt").write_text("tampered\n")
    assert store.verified(Stage.RUN, "k9") is None and store.path(Stage.RUN, "k9").exists()
    assert store.verified(Stage.RUN, "k9", discard=True) is None
    assert not store.path(Stage.RUN, "k9").exists()
