"""Regression tests for the fault defects of issue #7, each failing on the code before the fix.

Every test asserts trial states and values: every asked trial ends recorded exactly once, in a
finished state, and the study stays usable.
"""

from __future__ import annotations

import json
import math
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from fractions import Fraction

import numpy as np
import pytest

import unitune
from unitune import Float, Int, Result, SpaceError, Study, TooManyFailuresError, TrialState, UnituneError
from unitune.backends.random_search import RandomSearch


class _Spy(RandomSearch):
    """Random search that remembers what it was told (a real backend, observed)."""

    name = "spy"

    def setup(self) -> None:
        super().setup()
        self.told: list = []
        self.replayed: list = []

    def tell(self, trial):
        self.told.append(trial)

    def replay(self, trials):
        super().replay(trials)
        self.replayed.extend(trials)


def _numbers_once(study: Study, expected: int) -> None:
    assert sorted(t.number for t in study.trials) == list(range(expected))
    assert all(t.state.is_finished for t in study.trials)


def _sleep_on_first(params):
    if params["x"] < 0:
        time.sleep(1000)
    return params["x"]


@pytest.mark.timeout(120)
def test_3_timeout_is_kept_with_an_executor_and_the_hung_trial_is_recorded():
    study = Study({"x": Float(-1.0, 1.0)}, seed=0)
    with ProcessPoolExecutor(max_workers=2) as executor:
        study.optimize(lambda p: p["x"] if p["x"] >= 0 else time.sleep(1000), n_trials=1,
                       executor=None)  # warm: inline trial, returns
        try:
            study.optimize(_sleep_on_first, n_trials=40, timeout=3, batch_size=2, executor=executor)
            interrupted = [t for t in study.trials if t.state is TrialState.INTERRUPTED]
            assert interrupted, "no trial was still running at the deadline"
            assert all("study timeout of 3 s" in t.failure for t in interrupted)
            assert any(t.params["x"] < 0 for t in interrupted)
            _numbers_once(study, len(study.trials))
        finally:
            for process in list(executor._processes.values()):  # the hung worker is not ours to wait for
                process.kill()


def _exits(params):
    if params["x"] > 0.5:
        sys.exit(3)
    return params["x"]


@pytest.mark.parametrize("pool", [None, ProcessPoolExecutor])
def test_4_sys_exit_fails_only_its_trial(pool):
    study = Study({"x": Float(0.0, 1.0)}, backend=_Spy, seed=1)
    if pool is None:
        study.optimize(_exits, n_trials=12)
    else:
        with pool(max_workers=2) as executor:
            study.optimize(_exits, n_trials=12, batch_size=2, executor=executor)
    _numbers_once(study, 12)
    for trial in study.trials:
        if trial.params["x"] > 0.5:
            assert trial.state is TrialState.FAILED and trial.failure.startswith("SystemExit: 3")
        else:
            assert trial.state is TrialState.COMPLETE and trial.value == trial.params["x"]
    assert sorted(t.number for t in study.backend.told) == list(range(12))  # nothing left pending


def _fails(params):
    raise ValueError("always")


def test_5_trials_in_flight_are_recorded_when_too_many_failures_stop_the_study():
    study = Study({"x": Float(0.0, 1.0)}, backend=_Spy, seed=0)
    with pytest.raises(TooManyFailuresError, match="1 trials failed in a row"):
        study.optimize(_fails, n_trials=10, batch_size=3, max_consecutive_failures=1)
    _numbers_once(study, 3)
    assert study.trials[0].state is TrialState.FAILED
    assert [t.state for t in study.trials[1:]] == [TrialState.INTERRUPTED] * 2
    assert [t.number for t in study.backend.told] == [0, 1, 2]  # the backend holds none pending
    study.optimize(lambda p: p["x"], n_trials=2)
    assert [t.state for t in study.trials[3:]] == [TrialState.COMPLETE] * 2


def test_5_a_raising_callback_keeps_results_that_arrived():
    def callback(study, trial):
        if trial.number == 1:
            raise RuntimeError("callback failed")

    study = Study({"x": Float(0.0, 1.0)}, backend=_Spy, seed=0)
    with ProcessPoolExecutor(max_workers=2) as executor, pytest.raises(RuntimeError, match="callback failed"):
        study.optimize(_slow_identity, n_trials=8, batch_size=4, executor=executor, callbacks=[callback])
    numbers = sorted(t.number for t in study.trials)
    # How many were asked depends on which results came first; each is recorded once all the same.
    assert numbers == list(range(len(numbers))) and 2 <= len(numbers) <= 8
    assert study.trials[[t.number for t in study.trials].index(1)].state is TrialState.COMPLETE
    for trial in study.trials:
        if trial.state is TrialState.COMPLETE:
            assert trial.value == trial.params["x"]
        else:
            assert trial.state is TrialState.INTERRUPTED and "callback failed" in trial.failure
    assert sorted(t.number for t in study.backend.told) == numbers


def _slow_identity(params):
    return params["x"]


def test_7_a_result_too_large_for_a_float_fails_the_trial():
    study = Study({"x": Float(0.0, 1.0)}, seed=0)
    handle = study.ask()
    trial = study.tell(handle, 10**400)
    too_large = "a number too large for a float (beyond about 1.8e308)"
    assert trial.state is TrialState.FAILED and too_large in trial.failure
    assert trial.failure.startswith("objective returned 1000000000")
    negative = study.tell(study.ask(), -(10**400))
    assert negative.state is TrialState.FAILED and negative.failure.startswith("objective returned -1000")
    assert too_large in negative.failure
    by_name = study.tell(study.ask(), {"loss": 10**400})
    assert by_name.state is TrialState.FAILED and too_large in by_name.failure
    for value in (Fraction(10**400, 3), np.longdouble("1e400")):  # exact, whatever float() gives
        assert too_large in study.tell(study.ask(), value).failure
    infinite = study.tell(study.ask(), float("inf"))
    assert infinite.state is TrialState.FAILED and "non-finite value inf" in infinite.failure
    assert "for 'loss', " + too_large in by_name.failure
    _numbers_once(study, 6)
    with_metric = Study({"x": Float(0.0, 1.0)}, seed=0, metric="loss")
    in_result = with_metric.tell(with_metric.ask(), Result(value={"a": 1.0}, metrics={"loss": -(10**400)}))
    assert in_result.state is TrialState.FAILED and "for 'loss', " + too_large in in_result.failure


@pytest.mark.parametrize("make", [
    lambda: Int(-2**62, 2**62),
    lambda: Int(0, 10**20),
    lambda: Float(-1e308, 1e308),
    lambda: Float(0.0, 1e200),
])
def test_8_bounds_no_backend_can_represent_are_refused(make):
    with pytest.raises(SpaceError, match=r"bounds must lie within -2\*\*53\.\.2\*\*53|span high - low"):
        make()


def test_8_the_largest_accepted_bounds_work_on_native_backends():
    space = {"i": Int(-2**53, 2**53), "f": Float(-5e149, 5e149), "g": Float(1e-300, 1e300, log=True)}
    for backend in ("random", "grid"):
        study = unitune.optimize(lambda p: 0.0, space, backend=backend, n_trials=6, seed=0)
        for trial in study.trials:
            assert trial.state is TrialState.COMPLETE
            assert unitune.Space(space).contains(dict(trial.params))
            assert all(math.isfinite(v) for v in trial.params.values())


def test_8_a_grid_over_a_fine_step_is_lazy():
    space = {"x": Float(0.0, 1.0, step=1e-9)}
    grid = unitune.Space(space).grid()
    assert len(grid) == 10**9 + 1
    assert grid[5] == {"x": 5e-9} and grid[-1] == {"x": 1.0}
    study = unitune.optimize(lambda p: p["x"], space, backend="grid", n_trials=3)
    assert [t.params["x"] for t in study.trials] == [0.0, 1e-9, 2e-9]


def _dies(params):
    if params["x"] > 0.7:
        os._exit(1)
    return params["x"]


def test_a_trial_lost_with_a_broken_pool_teaches_the_backend_nothing():
    study = Study({"x": Float(0.0, 1.0)}, backend=_Spy, seed=0)
    with ProcessPoolExecutor(max_workers=2) as executor, pytest.raises(UnituneError, match="executor cannot"):
        study.optimize(_dies, n_trials=40, batch_size=4, executor=executor)
    lost = [t for t in study.trials if t.state is TrialState.INTERRUPTED]
    assert lost
    assert all(t.state is TrialState.COMPLETE for t in study.trials if t.state is not TrialState.INTERRUPTED)
    told = {t.number: t.state for t in study.backend.told}
    assert all(told[t.number] is TrialState.INTERRUPTED for t in lost)  # forgotten, not failures
    resumed = Study({"x": Float(0.0, 1.0)}, backend=_Spy, seed=0, storage=study.storage, resume=True)
    assert {t.number for t in resumed.backend.replayed}.isdisjoint(t.number for t in lost)


def test_a_nan_side_metric_keeps_records_strict_json():
    study = unitune.optimize(lambda p: {"loss": p["x"], "aux": float("nan"), "big": math.inf},
                             {"x": Float(0.0, 1.0)}, metric="loss", n_trials=2, seed=0)
    text = json.dumps(study.records(), allow_nan=False)
    assert json.loads(text)[0]["metrics"] == {"loss": study.trials[0].value, "aux": None, "big": None}
    assert math.isnan(study.trials[0].metrics["aux"])  # the record itself keeps the NaN


def test_records_are_strict_json_whatever_the_user_attributes_hold():
    # A set or an array in a user attribute made Study.records() unwritable as JSON (the SQLite
    # store already kept them as JSON data).
    def objective(params, trial):
        trial.set_user_attr("tags", {"a"})
        trial.set_user_attr("curve", np.array([0.5, np.nan]))
        trial.set_user_attr("pair", (1, 2))
        return params["x"]

    study = unitune.optimize(objective, {"x": Float(0.0, 1.0)}, n_trials=1, seed=0)
    [record] = json.loads(json.dumps(study.records(), allow_nan=False))
    assert record["state"] == "complete" and record["values"] == [study.trials[0].value]
    assert record["user_attrs"] == {"tags": "{'a'}", "curve": [0.5, None], "pair": [1, 2]}
    assert study.trials[0].user_attrs["tags"] == {"a"}  # the record itself keeps the set


class _DeafSpy(_Spy):
    """A backend whose tell raises for the states in ``DEAF_TO`` (after noting the trial)."""

    name = "deaf"
    DEAF_TO: tuple = (TrialState.COMPLETE, TrialState.INTERRUPTED)

    def tell(self, trial):
        super().tell(trial)
        if trial.state in self.DEAF_TO:
            raise ValueError(f"cannot hear trial {trial.number}")


def _stored_states(study: Study) -> list[tuple[int, str]]:
    import sqlite3

    with sqlite3.connect(study.storage.path) as db:
        return db.execute("SELECT number, state FROM trials ORDER BY number").fetchall()


def test_a_backend_raising_in_tell_leaves_no_trial_running_inline(tmp_path):
    study = Study({"x": Float(0.0, 1.0)}, backend=_DeafSpy, seed=0, storage=tmp_path / "s.db")
    with pytest.raises(ValueError, match=r"cannot hear trial 0$"):  # the error that stopped the loop
        study.optimize(lambda p: p["x"], n_trials=6, batch_size=3)
    assert [(t.number, t.state) for t in study.trials] == [
        (0, TrialState.COMPLETE), (1, TrialState.INTERRUPTED), (2, TrialState.INTERRUPTED)]
    assert study.trials[0].value == study.trials[0].params["x"]
    assert [t.number for t in study.backend.told] == [0, 1, 2] and not study._running
    assert _stored_states(study) == [(0, "complete"), (1, "interrupted"), (2, "interrupted")]


def test_a_backend_raising_in_tell_at_the_study_timeout_leaves_no_trial_running(tmp_path):
    from concurrent.futures import ThreadPoolExecutor
    from threading import Event

    release = Event()

    def objective(params, trial):
        if trial.number > 0:
            release.wait(60)
        return params["x"]

    deaf = type("Deaf", (_DeafSpy,), {"DEAF_TO": (TrialState.INTERRUPTED,)})
    study = Study({"x": Float(0.0, 1.0)}, backend=deaf, seed=0, storage=tmp_path / "s.db")
    with ThreadPoolExecutor(3) as pool:
        try:
            with pytest.raises(ValueError, match=r"cannot hear trial 1$"):
                study.optimize(objective, n_trials=3, batch_size=3, executor=pool, timeout=2.0)
        finally:
            release.set()
    assert [(t.number, t.state) for t in study.trials] == [
        (0, TrialState.COMPLETE), (1, TrialState.INTERRUPTED), (2, TrialState.INTERRUPTED)]
    assert not study._running
    assert _stored_states(study) == [(0, "complete"), (1, "interrupted"), (2, "interrupted")]


def test_a_trial_asked_by_hand_is_left_to_its_teller_when_optimize_stops_early(tmp_path):
    # optimize recorded every running trial INTERRUPTED when it stopped early (a callback's
    # error, Ctrl-C, the study timeout), trial 0 asked by hand before it too: telling it then
    # raised "not running" (and, once a Ctrl-C had closed the store, AttributeError).
    def callback(study, trial):
        if trial.number == 2:
            raise RuntimeError("callback failed")

    def objective(params, trial):
        if trial.number == 4:
            raise KeyboardInterrupt  # Ctrl-C while trial 4 runs
        return params["x"]

    study = Study({"x": Float(0.0, 1.0)}, seed=0, storage=tmp_path / "s.db")
    by_hand = study.ask()
    with pytest.raises(RuntimeError, match="callback failed"):
        study.optimize(lambda p: p["x"], n_trials=4, callbacks=[callback])
    study.optimize(objective, n_trials=4)  # Ctrl-C: returns, the store closed
    assert _stored_states(study) == [(0, "running"), (1, "complete"), (2, "complete"),
                                     (3, "complete"), (4, "interrupted")]
    told = study.tell(by_hand, 0.25)
    assert (told.number, told.state, told.value) == (0, TrialState.COMPLETE, 0.25)
    assert _stored_states(study)[0] == (0, "complete")
    for trial in study.trials:
        if trial.number in (1, 2, 3):
            assert trial.state is TrialState.COMPLETE and trial.value == trial.params["x"]
    assert not study._running
    study.close()
