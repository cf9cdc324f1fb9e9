"""What each write of a SQLite store waits for, and what another connection sees while a study runs."""

from __future__ import annotations

import json
import sqlite3

import pytest

from unitune import Float, Int, Study, Trial, TrialState
from unitune.storage import SQLiteStorage, StudyInfo

SPACE = {"x": Float(0.0, 1.0), "k": Int(0, 4)}


def _objective(params: dict) -> float:
    return (params["x"] - 0.3) ** 2 + params["k"]


def _reader(path) -> sqlite3.Connection:
    """Another connection on the file, read-only, as ``unitune status`` opens it."""
    return sqlite3.connect(f"{path.absolute().as_uri()}?mode=ro", uri=True, isolation_level=None)


def _row(conn: sqlite3.Connection, number: int) -> tuple | None:
    return conn.execute('SELECT state, params, "values" FROM trials WHERE number = ?', (number,)).fetchone()


@pytest.mark.parametrize("synchronous", ["full", "normal"])
def test_another_connection_sees_each_trial_running_then_finished_before_the_backend_hears_of_it(
    tmp_path, synchronous
):
    path = tmp_path / "study.db"
    store = SQLiteStorage(path, synchronous=synchronous)
    study = Study(SPACE, "random", seed=0, storage=store, study_name="s")
    reader = _reader(path)
    seen_running: dict[int, tuple | None] = {}
    seen_at_tell: dict[int, tuple | None] = {}

    def objective(params: dict, trial) -> float:
        seen_running[trial.number] = _row(reader, trial.number)
        return _objective(params)

    tell = study.backend.tell

    def watched_tell(trial: Trial) -> None:
        seen_at_tell[trial.number] = _row(reader, trial.number)
        tell(trial)

    study.backend.tell = watched_tell
    study.optimize(objective, n_trials=6)
    handles = study.ask_batch(3)  # one transaction for the batch: every row visible at once
    batch_rows = {h.number: _row(reader, h.number) for h in handles}
    for handle in handles:
        study.tell(handle, _objective(dict(handle.params)))
    study.close()
    store.close()

    trials = {t.number: t for t in study.trials}
    assert sorted(trials) == list(range(9))
    assert all(t.state is TrialState.COMPLETE for t in trials.values())
    for number in range(6):  # RUNNING with its parameters while the objective ran
        state, params, values = seen_running[number]
        assert (state, json.loads(params), values) == ("running", dict(trials[number].params), None)
    for number in range(3):
        state, params, _ = batch_rows[6 + number]
        assert (state, json.loads(params)) == ("running", dict(trials[6 + number].params))
    for number, trial in trials.items():  # committed, for everyone, before the backend was told
        state, params, values = seen_at_tell[number]
        assert (state, json.loads(params), json.loads(values)) == (
            "complete",
            dict(trial.params),
            list(trial.values),
        )
    reader.close()


def _commits(statements: list[str], start: str) -> list[tuple[str, str]]:
    """(kind of transaction, synchronous setting it committed under) for every COMMIT, reading
    the statements a connection ran, from its ``PRAGMA synchronous`` at ``start`` on."""
    sync, kind, out = start, "", []
    for sql in statements:
        text = " ".join(sql.split())
        if text.startswith("PRAGMA synchronous = "):
            sync = text.rsplit(" ", 1)[1]
        elif text.startswith("INSERT INTO trials") and "'running'" in text:
            kind = "running"
        elif text.startswith(("UPDATE trials SET state", "INSERT INTO trials")):
            kind = kind or "finish"
        elif text == "COMMIT":
            out.append((kind, sync))
            kind = ""
    return out


@pytest.mark.parametrize(
    ("synchronous", "running_sync", "finish_sync"),
    [("full", "NORMAL", "FULL"), ("normal", "NORMAL", "NORMAL")],
)
def test_a_full_store_syncs_each_finished_trial_and_skips_the_sync_of_running_rows(
    tmp_path, synchronous, running_sync, finish_sync
):
    store = SQLiteStorage(tmp_path / "study.db", synchronous=synchronous)
    assert store._conn.execute("PRAGMA synchronous").fetchone()[0] == {"full": 2, "normal": 1}[synchronous]
    statements: list[str] = []
    store._conn.set_trace_callback(statements.append)
    study = Study(SPACE, "random", seed=0, storage=store, study_name="s")
    study.optimize(_objective, n_trials=5)
    handles = study.ask_batch(3)
    for handle in handles:
        study.tell(handle, _objective(dict(handle.params)))
    study.close()
    store._conn.set_trace_callback(None)
    store.close()

    commits = [c for c in _commits(statements, synchronous.upper()) if c[0]]
    assert [kind for kind, _ in commits] == ["running", "finish"] * 5 + ["running"] + ["finish"] * 3
    assert {sync for kind, sync in commits if kind == "running"} == {running_sync}
    assert {sync for kind, sync in commits if kind == "finish"} == {finish_sync}
    switches = sum(s.startswith("PRAGMA synchronous") for s in statements)
    assert switches == (12 if synchronous == "full" else 0)  # only when the setting changes


def test_a_trial_finished_without_a_start_is_added_once(tmp_path):
    with SQLiteStorage(tmp_path / "study.db") as store:
        store.create_study(StudyInfo("s", {"x": {"type": "float", "low": 0.0, "high": 1.0}}, "random"))
        store.acquire("s")
        first = Trial.complete(0, {"x": 0.5}, 1.0)
        assert store.finish_trial("s", first) is True
        assert store.finish_trial("s", Trial.complete(0, {"x": 0.5}, 2.0)) is False
        store.start_trials("s", [(1, {"x": 0.1}, 5.0, None), (2, {"x": 0.2}, 5.0, 0)])
        assert [(t.number, t.state, dict(t.params)) for t in store.trials("s", running=True)] == [
            (0, TrialState.COMPLETE, {"x": 0.5}),
            (1, TrialState.RUNNING, {"x": 0.1}),
            (2, TrialState.RUNNING, {"x": 0.2}),
        ]
        assert store.trials("s") == [first]
