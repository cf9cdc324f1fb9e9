"""Durable studies with real processes: kill -9 of a driver, resume, a second driver refused."""

from __future__ import annotations

import random
import signal
import time
from pathlib import Path

import pytest
from storage_driver import SPACE_JSON
from storage_driver import finished as _finished
from storage_driver import start as _start
from storage_driver import wait_for as _wait_for

import unitune
from unitune import Float, Int, Space, Trial, TrialState
from unitune.backends.random_search import RandomSearch
from unitune.errors import BackendError, UnituneError
from unitune.storage import (
    SQLiteStorage,
    StudyExistsError,
    StudyLeaseError,
    StudyMismatchError,
)

SPACE = Space({"x": Float(0.0, 1.0), "k": Int(0, 4)})


def _objective(params: dict) -> float:
    return (params["x"] - 0.3) ** 2 + params["k"]


def _kill_and_resume(path: Path, seed: int, n_trials: int, kills: int) -> None:
    rng = random.Random(seed)
    before: dict[int, Trial] = {}
    for _ in range(kills):
        proc = _start(path, n_trials)
        _wait_for(path, rng.randrange(len(before) + 1, n_trials - 2), proc)
        time.sleep(rng.uniform(0.0, 0.01))  # land anywhere: mid-trial, mid-commit, mid-ask
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=60)
        assert proc.returncode == -signal.SIGKILL, "the driver finished before it could be killed"
        for trial in _finished(path):
            before.setdefault(trial.number, trial)
    proc = _start(path, n_trials)
    assert proc.wait(timeout=120) == 0

    with SQLiteStorage(path, readonly=True) as reader:
        final = reader.trials("s")
        assert reader.trials("s", running=True) == final  # nothing left RUNNING
    numbers = [t.number for t in final]
    assert len(numbers) == len(set(numbers))
    counted = [t for t in final if t.state is not TrialState.INTERRUPTED]
    assert len(counted) == n_trials
    assert all(t.state is TrialState.COMPLETE for t in counted)
    assert all(t.value == _objective(dict(t.params)) for t in counted)
    by_number = {t.number: t for t in final}
    for number, trial in before.items():  # every trial finished before a kill is unchanged
        assert by_number[number] == trial
    for lost in (t for t in final if t.state is TrialState.INTERRUPTED):  # evaluated again, later
        assert any(t.number > lost.number and dict(t.params) == dict(lost.params) for t in counted)


@pytest.mark.timeout(180)
def test_a_driver_killed_mid_run_resumes_to_exactly_the_requested_trials(tmp_path):
    _kill_and_resume(tmp_path / "study.db", seed=0, n_trials=30, kills=2)


@pytest.mark.slow
@pytest.mark.timeout(600)
@pytest.mark.parametrize("seed", [1, 2, 3, 4, 5])
def test_kill_9_at_random_points_then_resume(tmp_path, seed):
    _kill_and_resume(tmp_path / "study.db", seed=seed, n_trials=40, kills=2)


@pytest.mark.timeout(120)
def test_a_second_driver_is_refused_while_the_first_runs(tmp_path):
    path = tmp_path / "study.db"
    proc = _start(path, 1000, sleep=0.05)
    try:
        _wait_for(path, 1, proc)
        with pytest.raises(StudyLeaseError, match="being run by another driver"):
            unitune.optimize(_objective, SPACE, "random", n_trials=5, seed=0, storage=path,
                             study_name="s", resume=True)
    finally:
        proc.kill()
        proc.wait(timeout=60)
    # Its driver is dead: the next one takes over at once and finishes the study.
    study = unitune.optimize(_objective, SPACE, "random", n_trials=5, seed=0, storage=path,
                             study_name="s", resume=True)
    assert study.n_finished >= 5


@pytest.mark.timeout(180)
def test_a_study_object_left_behind_by_another_driver_is_refused_not_let_write(tmp_path):
    path = tmp_path / "study.db"
    space = Space.from_dict(SPACE_JSON)
    stale = unitune.Study(space, "random", seed=0, storage=path, study_name="s")
    for _ in range(2):
        trial = stale.ask()
        stale.tell(trial, _objective(trial.params))
    stale.close()  # gives the lease back: another driver may continue the study
    proc = _start(path, 4)
    assert proc.wait(timeout=120) == 0
    with pytest.raises(StudyLeaseError, match="continued by another driver"):
        stale.ask()  # its backend and trials are out of date: it must not write trial 2 again
    with SQLiteStorage(path, readonly=True) as reader:
        stored = reader.trials("s", running=True)
        assert reader.lease("s") is None
    assert [(t.number, t.state) for t in stored] == [(n, TrialState.COMPLETE) for n in range(4)]
    assert list(stale.trials) == stored[:2]
    with unitune.Study(space, "random", seed=0, storage=path, study_name="s", resume=True) as fresh:
        assert fresh.ask().number == 4


class _RefusesHistory(RandomSearch):
    """An adapter whose replay fails (say, its library cannot take the stored points)."""

    def replay(self, trials):
        raise BackendError("cannot take this history")


def test_a_study_that_fails_to_open_creates_nothing_and_gives_its_lease_back(tmp_path):
    path = tmp_path / "study.db"
    run = {"n_trials": 2, "seed": 0, "storage": path, "study_name": "s"}
    with pytest.raises(UnituneError, match="unknown pruner 'bogus'"):
        unitune.optimize(_objective, SPACE, pruner="bogus", **run)
    two = {**run, "study_name": "two", "direction": ["minimize", "minimize"]}
    with pytest.raises(UnituneError, match="pruning needs a single-objective study"):
        unitune.Study(SPACE, pruner="median", **{k: v for k, v in two.items() if k != "n_trials"})
    unitune.Study(SPACE, **{k: v for k, v in two.items() if k != "n_trials"}).close()  # was StudyExistsError
    unitune.optimize(_objective, SPACE, **run)  # the same call, fixed: no StudyExistsError
    with pytest.raises(UnituneError, match="unknown pruner 'bogus'"):
        unitune.optimize(_objective, SPACE, pruner="bogus", resume=True, **run)
    with pytest.raises(BackendError, match="cannot take this history"):
        unitune.Study(SPACE, _RefusesHistory, seed=0, storage=path, study_name="s", resume=True)
    with SQLiteStorage(path, readonly=True) as reader:
        assert reader.lease("s") is None  # this process holds no lease it cannot give back
    study = unitune.optimize(_objective, SPACE, **{**run, "n_trials": 4}, resume=True)
    assert [(t.number, t.state) for t in study.trials] == [(n, TrialState.COMPLETE) for n in range(4)]


def test_resume_rebuilds_from_the_store_and_n_trials_is_the_total(tmp_path):
    path = tmp_path / "study.db"
    first = unitune.optimize(_objective, SPACE, "random", n_trials=6, seed=1, storage=path, study_name="a")
    assert [t.state for t in first.trials] == [TrialState.COMPLETE] * 6
    again = unitune.optimize(_objective, SPACE, "random", n_trials=10, seed=1, storage=path,
                             study_name="a", resume=True)
    assert [t.number for t in again.trials] == list(range(10))
    assert again.trials[:6] == first.trials
    done = unitune.optimize(_objective, SPACE, "random", n_trials=10, seed=1, storage=f"sqlite:///{path}",
                            study_name="a", resume=True)
    assert done.trials == again.trials  # nothing left to run
    with SQLiteStorage(path, readonly=True) as reader:
        assert reader.load_study("a").n_trials == 10
        assert reader.trials("a") == list(again.trials)


def test_a_resumed_study_replays_its_history_and_retries_interrupted_trials(tmp_path):
    path = tmp_path / "study.db"
    study = unitune.Study(SPACE, "random", seed=0, storage=path, study_name="h")
    handles = [study.ask() for _ in range(3)]
    study.tell(handles[0], 1.5)
    study.tell(handles[2], state="failed", failure="boom")
    study.close()  # the driver goes away with trial 1 still RUNNING
    with SQLiteStorage(path) as store:
        resumed = unitune.Study(SPACE, "random", seed=0, storage=store, study_name="h", resume=True)
        assert [(t.number, t.state) for t in resumed.trials] == [
            (0, TrialState.COMPLETE), (2, TrialState.FAILED), (1, TrialState.INTERRUPTED)]
        assert resumed.best_value == 1.5 and resumed.n_finished == 2
        retry = resumed.ask()
        assert (retry.number, dict(retry.params)) == (3, dict(handles[1].params))
        resumed.tell(retry, 0.5)
        fresh = resumed.ask()
        assert fresh.number == 4 and dict(fresh.params) != dict(handles[1].params)
        resumed.tell(fresh, 2.0)
        assert resumed.best_value == 0.5
        resumed.close()
        assert store.retries_due("h") == []


def test_resume_checks_the_stored_study(tmp_path):
    path = tmp_path / "study.db"
    unitune.optimize(_objective, SPACE, "random", n_trials=3, seed=0, storage=path, study_name="c")
    with pytest.raises(StudyExistsError, match=r"already exists.*resume=True"):
        unitune.optimize(_objective, SPACE, "random", n_trials=3, seed=0, storage=path, study_name="c")
    with pytest.raises(StudyMismatchError, match="the seed differs"):
        unitune.Study(SPACE, "random", seed=1, storage=path, study_name="c", resume=True)
    with pytest.raises(StudyMismatchError, match="the space differs") as changed:
        unitune.Study(Space({"x": Float(0.0, 2.0), "k": Int(0, 4), "new": Int(0, 1)}), "random", seed=0,
                      storage=path, study_name="c", resume=True)
    # Parameter by parameter, so the difference shows however large the space.
    assert "'new' only in the given space" in str(changed.value)
    assert "'x' stored {" in str(changed.value) and "'high': 1.0" in str(changed.value)
    assert "'high': 2.0" in str(changed.value) and "'k'" not in str(changed.value).split("differs")[1]
    with pytest.raises(StudyMismatchError, match="the directions differ"):
        unitune.Study(SPACE, "random", seed=0, direction="maximize", storage=path, study_name="c", resume=True)
    with pytest.raises(StudyMismatchError, match="allow_backend_change=True"):
        unitune.Study(SPACE, "grid", seed=0, storage=path, study_name="c", resume=True)
    other = unitune.optimize(_objective, SPACE, "random", n_trials=2, seed=5, storage=path, study_name="d")
    assert other.n_finished == 2  # a new name creates a study next to the first
    with SQLiteStorage(path, readonly=True) as reader:
        assert reader.study_names() == ["c", "d"]


def test_a_deliberate_backend_switch_is_recorded_and_replays_the_history(tmp_path):
    path = tmp_path / "study.db"
    unitune.optimize(_objective, SPACE, "random", n_trials=4, seed=0, storage=path, study_name="w")
    switched = unitune.optimize(_objective, SPACE, "grid", n_trials=8, seed=0, storage=path,
                                study_name="w", resume=True, allow_backend_change=True)
    assert switched.n_finished == 8 and switched.backend.full_name == "grid"
    with SQLiteStorage(path, readonly=True) as reader:
        [change] = reader.backend_changes("w")
        assert (change.at_number, change.old_backend, change.new_backend) == (4, "random", "grid")
        assert reader.load_study("w").backend == "grid"
    again = unitune.Study(SPACE, "grid", seed=0, storage=path, study_name="w", resume=True)
    assert again.n_finished == 8  # the stored backend is now grid: no switch needed
    again.close()


def test_exported_records_let_another_backend_take_over(tmp_path):
    import json

    from unitune.cli import main

    path = tmp_path / "study.db"
    first = unitune.optimize(_objective, SPACE, "random", n_trials=5, seed=0, storage=path, study_name="e")
    out = tmp_path / "e.jsonl"
    assert main(["export", str(path), "--format", "jsonl", "-o", str(out)]) == 0
    records = [Trial.from_record(json.loads(line)) for line in out.read_text().splitlines()]
    assert records == list(first.trials)
    taken = unitune.Study(SPACE, "grid", seed=0)
    taken.add_trials(records)
    taken.optimize(_objective, n_trials=3)
    assert [t.number for t in taken.trials] == list(range(8))
    assert taken.trials[:5] == tuple(first.trials)


def test_trials_interrupted_in_this_process_run_again_at_the_next_optimize():
    study = unitune.Study(SPACE, "random", seed=0)
    first, second = study.ask(), study.ask()
    study.tell(first, 1.0)
    study.tell(second, state="interrupted", failure="Ctrl-C")
    seen = []
    study.optimize(lambda p: seen.append(dict(p)) or _objective(p), n_trials=2)
    assert seen[0] == dict(second.params)  # the interrupted configuration first, as trial 2
    assert [(t.number, t.state) for t in study.trials] == [
        (0, TrialState.COMPLETE), (1, TrialState.INTERRUPTED), (2, TrialState.COMPLETE), (3, TrialState.COMPLETE)]
    assert study.n_finished == 3
    study.optimize(_objective, n_trials=1)  # already retried: not queued again
    assert [dict(t.params) for t in study.trials].count(dict(second.params)) == 2


@pytest.mark.timeout(120)
def test_a_durable_study_on_a_process_pool_records_every_trial_once(tmp_path):
    from concurrent.futures import ProcessPoolExecutor

    path = tmp_path / "study.db"
    with ProcessPoolExecutor(2) as pool:
        study = unitune.optimize(_objective, SPACE, "random", n_trials=12, seed=0, batch_size=3,
                                 executor=pool, storage=path, study_name="p")
    with SQLiteStorage(path, readonly=True) as reader:
        stored = reader.trials("p", running=True)
        assert reader.lease("p") is None  # optimize gave the lease back
    assert stored == list(study.trials)
    assert sorted(t.number for t in stored) == list(range(12))
    assert all(t.state is TrialState.COMPLETE and t.value == _objective(dict(t.params)) for t in stored)
