"""SQLiteStorage on real files: studies, trials, leases, and files it must refuse untouched."""

from __future__ import annotations

import json
import math
import os
import socket
import sqlite3
import subprocess
import sys
import time

import pytest

from unitune.storage import (
    InMemoryStorage,
    SQLiteStorage,
    StorageError,
    StudyExistsError,
    StudyInfo,
    StudyLeaseError,
    StudyNotFoundError,
)
from unitune.storage.schema import SCHEMA_VERSION
from unitune.trial import Trial, TrialState

SPACE = {"x": {"type": "float", "low": 0.0, "high": 1.0}}


def _info(name: str = "s") -> StudyInfo:
    return StudyInfo(name, SPACE, "random", seed=3, directions=("minimize",), metric=None)


@pytest.fixture(params=["memory", "sqlite"])
def store(request, tmp_path):
    if request.param == "memory":
        yield InMemoryStorage()
        return
    with SQLiteStorage(tmp_path / "study.db", lease_ttl=5) as sqlite_store:
        yield sqlite_store


def test_a_trial_goes_from_running_to_finished_and_is_stored_once(store):
    store.create_study(_info())
    store.acquire("s")
    store.start_trial("s", 0, {"x": 0.5}, 100.0)
    [running] = store.trials("s", running=True)
    assert (running.number, running.state, dict(running.params)) == (0, TrialState.RUNNING, {"x": 0.5})
    assert store.trials("s") == []
    done = Trial(0, {"x": 0.5}, TrialState.COMPLETE, (0.25,), {"loss": 0.25}, None, 100.0, 101.0,
                 {"note": "a"}, {0: 1.0, 1: 0.5})
    assert store.finish_trial("s", done) is True
    again = Trial(0, {"x": 0.5}, TrialState.COMPLETE, (9.0,), started_at=100.0, finished_at=102.0)
    assert store.finish_trial("s", again) is False  # a result that arrives twice is stored once
    assert store.trials("s") == [done]
    assert store.next_number("s") == 1


def test_trials_come_back_in_finishing_order_and_many_studies_share_a_file(store):
    store.create_study(_info("a"))
    store.create_study(_info("b"))
    store.acquire("a")
    store.acquire("b")
    for n in (0, 1, 2):
        store.start_trial("a", n, {"x": n / 10}, 0.0)
    for n in (2, 0, 1):
        store.finish_trial("a", Trial.complete(n, {"x": n / 10}, float(n)))
    store.finish_trial("b", Trial.failed(0, {"x": 0.0}, "boom"))  # added without a start
    assert [t.number for t in store.trials("a")] == [2, 0, 1]
    assert [(t.number, t.state, t.failure) for t in store.trials("b")] == [(0, TrialState.FAILED, "boom")]
    assert store.study_names() == ["a", "b"]


def test_running_trials_become_interrupted_and_are_due_for_one_retry(store):
    store.create_study(_info())
    store.acquire("s")
    store.start_trial("s", 0, {"x": 0.1}, 0.0)
    store.start_trial("s", 1, {"x": 0.2}, 0.0)
    store.finish_trial("s", Trial.complete(0, {"x": 0.1}, 1.0))
    assert store.interrupt_running("s", "driver died") == [1]
    [interrupted] = store.retries_due("s")
    assert (interrupted.number, interrupted.state, interrupted.failure) == (1, TrialState.INTERRUPTED, "driver died")
    store.start_trial("s", 2, {"x": 0.2}, 0.0, retry_of=1)
    assert store.retries_due("s") == []
    assert [t.state for t in store.trials("s", running=True)] == [
        TrialState.COMPLETE, TrialState.INTERRUPTED, TrialState.RUNNING]


def test_study_names_are_unique_and_unknown_names_are_an_error(store):
    store.create_study(_info())
    with pytest.raises(StudyExistsError, match="already exists"):
        store.create_study(_info())
    assert store.load_study("nope") is None
    with pytest.raises(StudyNotFoundError, match="no study named 'nope'"):
        store.trials("nope")


def test_a_backend_change_is_recorded(store):
    store.create_study(_info())
    store.acquire("s")
    store.change_backend("s", "optuna.tpe", {"n_startup_trials": 5}, at_number=7)
    [change] = store.backend_changes("s")
    assert (change.at_number, change.old_backend, change.new_backend) == (7, "random", "optuna.tpe")
    assert dict(change.new_options) == {"n_startup_trials": 5}
    info = store.load_study("s")
    assert (info.backend, dict(info.backend_options)) == ("optuna.tpe", {"n_startup_trials": 5})


def test_non_finite_metrics_are_stored_as_null_and_read_back_as_nan(tmp_path):
    trial = Trial(0, {"x": 0.5}, TrialState.COMPLETE, (1.0,), {"loss": 1.0, "grad": math.inf},
                  intermediate={0: math.nan})
    record = trial.to_record()
    json.dumps(record, allow_nan=False)  # strict JSON, or this raises
    assert record["metrics"] == {"loss": 1.0, "grad": None}
    with SQLiteStorage(tmp_path / "s.db") as store:
        store.create_study(_info())
        store.acquire("s")
        store.finish_trial("s", trial)
        [back] = store.trials("s")
    assert back.metrics["loss"] == 1.0 and math.isnan(back.metrics["grad"])
    assert math.isnan(back.intermediate[0])
    again = Trial.from_record(record)
    assert again.values == (1.0,) and math.isnan(again.metrics["grad"])


class _NoStr:
    def __str__(self) -> str:
        raise RuntimeError("no text")

    __repr__ = __str__


def test_user_attributes_that_cannot_be_written_leave_a_note_and_the_trial_recorded(tmp_path):
    import unitune
    from unitune import Categorical, Result

    loop: list = []
    loop.append(loop)
    attrs = {"loop": {"a": loop, "kept": "fine"}, "no_str": _NoStr(), "huge": 10**5000,
             "set": {1}}

    def objective(params):
        return Result(1.0, user_attrs={params["c"]: attrs[params["c"]], "ok": 1})

    path = tmp_path / "s.db"
    study = unitune.optimize(objective, {"c": Categorical(list(attrs))}, "grid", storage=path)
    assert [(t.params["c"], t.state) for t in study.trials] == [(c, TrialState.COMPLETE) for c in attrs]
    with SQLiteStorage(path, readonly=True) as store:
        stored = {t.params["c"]: (t.state, dict(t.user_attrs)) for t in store.trials("default", running=True)}
    assert stored == {
        "loop": (TrialState.COMPLETE, {"loop": "<not stored: dict (RecursionError)>", "ok": 1}),
        "no_str": (TrialState.COMPLETE, {"no_str": "<not stored: _NoStr (RuntimeError)>", "ok": 1}),
        "huge": (TrialState.COMPLETE, {"huge": "<not stored: int (ValueError)>", "ok": 1}),
        "set": (TrialState.COMPLETE, {"set": "{1}", "ok": 1}),
    }


def test_from_record_refuses_bad_records():
    with pytest.raises(Exception, match="lacks the key"):
        Trial.from_record({"number": 1})
    with pytest.raises(Exception, match="unknown state 'done'"):
        Trial.from_record({"number": 1, "state": "done", "params": {}})


# Leases.
def test_a_second_driver_is_refused_until_the_first_releases(tmp_path):
    path = tmp_path / "s.db"
    with SQLiteStorage(path) as first, SQLiteStorage(path) as second:
        first.create_study(_info())
        first.acquire("s")
        in_this_process = r"driven by another Study \(or store\) in this process.*close\(\) that one"
        with pytest.raises(StudyLeaseError, match=in_this_process):  # not "if that driver is dead"
            second.acquire("s")
        with pytest.raises(StudyLeaseError, match="does not drive the study"):
            second.start_trial("s", 0, {"x": 0.1}, 0.0)
        first.release("s")
        second.acquire("s")
        with pytest.raises(StudyLeaseError, match=in_this_process):
            first.acquire("s")


@pytest.mark.timeout(60)
def test_the_heartbeat_keeps_a_lease_alive_and_an_expired_one_is_taken_over(tmp_path):
    path = tmp_path / "s.db"
    first = SQLiteStorage(path, lease_ttl=0.6)
    first.create_study(_info())
    first.acquire("s")
    expiry = first.lease("s")["expires_at"]
    while first.lease("s")["expires_at"] == expiry:  # renewed by the heartbeat thread alone
        time.sleep(0.05)
    first._heartbeat.stop()  # the driver goes silent (a hung process) but its pid lives on
    second = SQLiteStorage(path, lease_ttl=0.6)
    while True:
        try:
            second.acquire("s")
            break
        except StudyLeaseError:
            time.sleep(0.1)
    with pytest.raises(StudyLeaseError, match="taken over by another driver"):
        first.start_trial("s", 0, {"x": 0.1}, 0.0)
    second.start_trial("s", 0, {"x": 0.1}, 0.0)
    second.close()
    first.close()


@pytest.mark.timeout(60)
def test_a_dead_driver_on_this_host_is_taken_over_at_once(tmp_path):
    path = tmp_path / "s.db"
    code = (
        "import os, sys; from unitune.storage import SQLiteStorage, StudyInfo;"
        f"s = SQLiteStorage({str(path)!r});"
        f"s.create_study(StudyInfo('s', {SPACE!r}, 'random')); s.acquire('s');"
        "s.start_trial('s', 0, {'x': 0.5}, 0.0); os._exit(0)"  # dies holding the lease
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)
    with SQLiteStorage(path, lease_ttl=3600) as store:
        assert store.lease("s") is not None
        store.acquire("s")
        assert store.interrupt_running("s", "driver died") == [0]


def test_a_dead_driver_that_had_this_process_id_is_taken_over_at_once(tmp_path):
    """A restarted container's driver often gets the same pid (1) on the same host name: the
    lease its killed predecessor left names this very process id, with another owner."""
    path = tmp_path / "s.db"
    with SQLiteStorage(path) as store:
        store.create_study(_info())
    conn = sqlite3.connect(path)
    conn.execute("INSERT INTO leases VALUES (1, ?, ?, ?, ?, ?)",
                 (f"{socket.gethostname()}:{os.getpid()}:0123456789ab", socket.gethostname(), os.getpid(),
                  time.time(), time.time() + 3600))
    conn.commit()
    conn.close()
    with SQLiteStorage(path, lease_ttl=3600) as store:
        store.acquire("s")  # not refused for an hour: that process is gone
        assert store.lease("s")["owner"] == store.owner


# Files that must be refused and left as they were.
def _filled_store(path) -> bytes:
    with SQLiteStorage(path) as store:
        store.create_study(_info())
        store.acquire("s")
        for n in range(300):
            store.start_trial("s", n, {"x": n / 300}, 0.0)
            store.finish_trial("s", Trial.complete(n, {"x": n / 300}, float(n), ))
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    return path.read_bytes()


def test_a_truncated_file_is_refused_and_left_byte_identical(tmp_path):
    path = tmp_path / "s.db"
    whole = _filled_store(path)
    assert len(whole) > 8192
    path.write_bytes(whole[: len(whole) // 2])
    damaged = path.read_bytes()
    with pytest.raises(StorageError, match="is truncated"):
        SQLiteStorage(path)
    with pytest.raises(StorageError, match="is truncated"):
        SQLiteStorage(path, readonly=True)
    assert path.read_bytes() == damaged
    assert not (tmp_path / "s.db-wal").exists()


def test_a_random_byte_file_is_refused_and_left_byte_identical(tmp_path):
    path = tmp_path / "s.db"
    noise = os.urandom(20000)
    path.write_bytes(noise)
    with pytest.raises(StorageError, match="is not a SQLite database"):
        SQLiteStorage(path)
    assert path.read_bytes() == noise
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s.db"]


def test_a_damaged_page_is_refused(tmp_path):
    path = tmp_path / "s.db"
    whole = bytearray(_filled_store(path))
    whole[4096 + 8: 4096 + 4000] = os.urandom(3992)  # scribble over the second page
    path.write_bytes(bytes(whole))
    with pytest.raises(StorageError, match=r"is damaged"):
        SQLiteStorage(path)
    assert path.read_bytes() == bytes(whole)


def test_a_foreign_sqlite_database_is_refused(tmp_path):
    path = tmp_path / "other.db"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE things (a)")
    conn.commit()
    conn.close()
    before = path.read_bytes()
    with pytest.raises(StorageError, match="not a unitune store"):
        SQLiteStorage(path)
    assert path.read_bytes() == before


def test_a_newer_schema_is_refused_and_left_as_it_was(tmp_path):
    path = tmp_path / "s.db"
    _filled_store(path)
    conn = sqlite3.connect(path)
    conn.execute("UPDATE schema_version SET version = ?", (SCHEMA_VERSION + 1,))
    conn.commit()
    conn.close()
    before = path.read_bytes()
    with pytest.raises(StorageError, match=f"schema version {SCHEMA_VERSION + 1}, newer"):
        SQLiteStorage(path)
    assert path.read_bytes() == before


def test_a_read_only_file_is_refused_for_writing_but_readable(tmp_path):
    path = tmp_path / "s.db"
    _filled_store(path)
    before = path.read_bytes()
    path.chmod(0o444)
    try:
        with pytest.raises(StorageError, match="is read-only"):
            SQLiteStorage(path)
        with SQLiteStorage(path, readonly=True) as reader:
            assert len(reader.trials("s")) == 300
            with pytest.raises(StorageError, match="opened read-only"):
                reader.create_study(_info("t"))
    finally:
        path.chmod(0o644)
    assert path.read_bytes() == before


def test_a_store_in_a_missing_folder_says_the_folder_is_missing_and_creates_nothing(tmp_path):
    import unitune
    from unitune import Float

    with pytest.raises(StorageError, match=r"the folder '.*runs' does not exist"):
        unitune.optimize(lambda p: p["x"], {"x": Float(0.0, 1.0)}, n_trials=1,
                         storage=tmp_path / "runs" / "s.db")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.timeout(60)
def test_a_locked_file_gives_a_clear_error(tmp_path):
    path = tmp_path / "s.db"
    _filled_store(path)
    locker = sqlite3.connect(path, isolation_level=None)
    locker.execute("BEGIN EXCLUSIVE")
    try:
        with SQLiteStorage(path, timeout=0.2) as store, pytest.raises(StorageError, match="locked by another"):
            store.create_study(_info("t"))
    finally:
        locker.execute("ROLLBACK")
        locker.close()


def test_urls_and_bad_arguments(tmp_path):
    with SQLiteStorage(f"sqlite:///{tmp_path / 'u.db'}") as store:
        assert store.path == tmp_path / "u.db"
    with pytest.raises(StorageError, match="only files and sqlite:/// URLs"):
        SQLiteStorage("postgresql://host/db")
    with pytest.raises(StorageError, match="synchronous must be"):
        SQLiteStorage(tmp_path / "x.db", synchronous="off")


def test_an_infinite_lease_is_refused_and_a_very_long_one_keeps_its_heartbeat(tmp_path):
    from unitune.storage import open_storage

    for given in (f"{tmp_path / 'a.db'}?lease_ttl=inf", f"{tmp_path / 'a.db'}?timeout=inf"):
        with pytest.raises(StorageError, match="finite"):
            open_storage(given)
    with SQLiteStorage(tmp_path / "b.db", lease_ttl=1e12) as store:
        store.create_study(_info())
        store.acquire("s")
        store._heartbeat.join(timeout=1)  # returns at once if the thread died
        assert store._heartbeat.is_alive()  # it crashed: a wait of 1e12 / 3 s overflows the clock
        assert store.lease("s")["owner"] == store.owner


def test_an_older_schema_is_migrated_forward_keeping_its_trials(tmp_path, monkeypatch):
    from unitune.storage import schema

    path = tmp_path / "s.db"
    _filled_store(path)
    step = "ALTER TABLE studies ADD COLUMN note TEXT; UPDATE studies SET note = 'migrated'"
    monkeypatch.setattr(schema, "MIGRATIONS", (*schema.MIGRATIONS, step))
    monkeypatch.setattr(schema, "SCHEMA_VERSION", len(schema.MIGRATIONS))
    with SQLiteStorage(path) as store:
        assert len(store.trials("s")) == 300
    conn = sqlite3.connect(path)
    assert conn.execute("SELECT version FROM schema_version").fetchone() == (SCHEMA_VERSION + 1,)
    assert conn.execute("SELECT note FROM studies").fetchone() == ("migrated",)
    conn.close()


def test_a_version_1_file_gets_the_index_of_finished_trials_only(tmp_path, monkeypatch):
    from unitune.storage import schema

    path = tmp_path / "s.db"
    with monkeypatch.context() as patch:  # write a file as the first release did
        patch.setattr(schema, "MIGRATIONS", schema.MIGRATIONS[:1])
        patch.setattr(schema, "SCHEMA_VERSION", 1)
        with SQLiteStorage(path) as store:
            store.create_study(_info())
            store.acquire("s")
            for n in (2, 0, 1):
                store.start_trial("s", n, {"x": n / 10}, 0.0)
            for n in (1, 2):
                store.finish_trial("s", Trial.complete(n, {"x": n / 10}, float(n)))
    conn = sqlite3.connect(path)
    assert conn.execute("SELECT version FROM schema_version").fetchone() == (1,)
    conn.close()
    with SQLiteStorage(path) as store:
        store.acquire("s")
        store.finish_trial("s", Trial.complete(0, {"x": 0.0}, 0.0))
        assert [t.number for t in store.trials("s")] == [1, 2, 0]  # the finishing order survives
    conn = sqlite3.connect(path)
    assert conn.execute("SELECT version FROM schema_version").fetchone() == (2,)
    [(index,)] = conn.execute("SELECT sql FROM sqlite_master WHERE name = 'trials_by_finish'").fetchall()
    assert "WHERE finish_seq IS NOT NULL" in index
    conn.close()
