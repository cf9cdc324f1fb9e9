"""Objective protocol: what an objective may return and how failures are recorded."""

from __future__ import annotations

import pickle
from collections.abc import Mapping

import numpy as np
import pytest

import unitune
from unitune import Float, Proposal, Result, TooManyFailuresError, TrialPruned, TrialState, UnituneError
from unitune.backends.random_search import RandomSearch

SPACE = {"x": Float(-1.0, 1.0)}


def run(objective, n=3, **kwargs):
    return unitune.optimize(objective, SPACE, n_trials=n, seed=0, **kwargs)


@pytest.mark.parametrize("value", [1, 2.5, np.float32(0.5), np.int64(3), np.float64(-1.0)])
def test_numbers_python_or_numpy_complete_as_floats(value):
    study = run(lambda p: value, n=1)
    [trial] = study.trials
    assert trial.state is TrialState.COMPLETE
    assert type(trial.value) is float and trial.value == float(value)


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        (float("nan"), r"non-finite value nan"),
        (float("inf"), r"non-finite value inf"),
        (None, r"returned None \(NoneType\); expected a number"),
        ("0.5", r"returned '0.5' \(str\)"),
        (True, r"returned True \(bool\)"),
        ([1.0, 2.0], r"returned 2 value\(s\) .* optimizes 1 objective"),
        ({"a": 1.0, "b": 2.0}, r"name the one to optimize with metric="),
        ({"a": "high"}, r"metric 'a' is 'high'; metrics must be numbers"),
    ],
)
def test_bad_returns_become_failed_trials_with_the_reason(value, reason):
    study = run(lambda p: value, n=2)
    assert [t.state for t in study.trials] == [TrialState.FAILED] * 2
    assert study.trials[0].failure is not None
    import re

    assert re.search(reason, study.trials[0].failure), study.trials[0].failure
    assert study.trials[0].values is None


def test_exceptions_keep_the_traceback_and_the_study_goes_on():
    def objective(params):
        if params["x"] > 0:
            raise ValueError(f"diverged at x={params['x']:.3f}")
        return params["x"]

    study = run(objective, n=30)
    failed = [t for t in study.trials if t.state is TrialState.FAILED]
    complete = [t for t in study.trials if t.state is TrialState.COMPLETE]
    assert failed and complete and len(study.trials) == 30
    assert failed[0].failure.startswith("ValueError: diverged at x=")
    assert "Traceback (most recent call last)" in failed[0].failure
    assert "in objective" in failed[0].failure
    assert study.best_value == min(t.value for t in complete)


def test_metrics_dict_with_the_metric_named():
    study = run(lambda p: {"loss": p["x"] ** 2, "acc": 1 - p["x"] ** 2}, n=10, metric="acc",
                direction="maximize")
    best = study.best_trial
    assert best.metrics["acc"] == best.value and "loss" in best.metrics
    assert best.value == max(t.metrics["acc"] for t in study.trials)
    failed = run(lambda p: {"loss": 1.0}, n=1, metric="acc").trials[0]
    assert failed.state is TrialState.FAILED
    assert "but not ['acc']" in failed.failure


def test_single_metric_dict_needs_no_name():
    study = run(lambda p: {"loss": abs(p["x"])}, n=5)
    assert study.best_value == study.best_trial.metrics["loss"]


def test_result_object_and_trial_handle_record_extras():
    def objective(params, trial):
        trial.set_user_attr("note", "hello")
        for step in range(3):
            trial.report(params["x"] * step, step)
        return Result(params["x"], metrics={"extra": 2.0}, user_attrs={"n_iter": 7})

    [trial] = run(objective, n=1).trials
    assert trial.user_attrs == {"note": "hello", "n_iter": 7}
    assert trial.metrics == {"extra": 2.0}
    assert dict(trial.intermediate) == {0: 0.0, 1: trial.value, 2: 2 * trial.value}


def test_pruned_trials_are_recorded_as_pruned():
    def objective(params, trial):
        trial.report(1.0, 0)
        raise TrialPruned("not promising")

    [trial] = run(objective, n=1).trials
    assert trial.state is TrialState.PRUNED and trial.failure == "not promising"
    assert dict(trial.intermediate) == {0: 1.0}


def test_consecutive_failure_limit_stops_with_a_clear_error():
    calls = []

    def objective(params):
        calls.append(params)
        raise RuntimeError("database is down")

    with pytest.raises(TooManyFailuresError, match=r"5 trials failed in a row .*RuntimeError: database is down"):
        run(objective, n=100, max_consecutive_failures=5)
    assert len(calls) == 5


def test_keyboard_interrupt_stops_cleanly_and_keeps_finished_trials():
    def objective(params):
        if len(calls) == 4:
            raise KeyboardInterrupt
        calls.append(params)
        return params["x"]

    calls: list = []
    study = run(objective, n=50)
    assert len(study.trials) == 5
    assert [t.state for t in study.trials[:4]] == [TrialState.COMPLETE] * 4
    assert study.trials[4].state is TrialState.INTERRUPTED
    assert "KeyboardInterrupt" in study.trials[4].failure


def test_report_rejects_bad_steps():
    def objective(params, trial):
        trial.report(1.0, step=-1)

    [trial] = run(objective, n=1).trials
    assert trial.state is TrialState.FAILED
    assert "report step must be a non-negative integer, got -1" in trial.failure
    with pytest.raises(UnituneError, match="user attribute keys must be strings"):
        unitune.TrialHandle(0, {}).set_user_attr(1, "x")


def _scaled(params, scale=2.0):
    return params["x"] * scale


def _with_optional_trial(params, trial=None):
    trial.set_user_attr("got", "handle")
    return params["x"]


def _with_trial(params, trial):
    trial.set_user_attr("got", "handle")
    return params["x"]


def _varargs(params, *rest):
    rest[0].set_user_attr("got", "handle")
    return params["x"]


@pytest.mark.parametrize(("objective", "factor", "handle"), [
    (_scaled, 2.0, False),                       # a parameter with a default keeps its default
    ((lambda p, lr=0.5: p["x"] * lr), 0.5, False),  # the loop-closure idiom
    (_with_optional_trial, 1.0, True),           # named trial: the handle, default or not
    (_with_trial, 1.0, True),
    (_varargs, 1.0, True),
])
def test_the_handle_goes_only_to_an_objective_that_asks_for_it(objective, factor, handle):
    study = unitune.optimize(objective, {"x": Float(0.0, 1.0)}, "random", n_trials=3, seed=0)
    for trial in study.trials:
        assert trial.state is TrialState.COMPLETE, trial.failure
        assert trial.value == pytest.approx(trial.params["x"] * factor)
        assert dict(trial.user_attrs) == ({"got": "handle"} if handle else {})



def test_a_handles_mappings_exist_from_their_first_use_and_travel_with_it():
    """TrialHandle makes user_attrs and intermediate at their first use (two dicts fewer a
    trial); read, written, pickled and recorded, they behave as plain attributes."""
    handle = unitune.TrialHandle(3, {"x": 0.5})
    assert handle.user_attrs == {} and handle.intermediate == {}
    assert handle.user_attrs is handle.user_attrs  # the same dict, kept once made
    handle.user_attrs["direct"] = 1  # written through the attribute, as before
    handle.set_user_attr("tag", "a")
    handle.report(0.5, step=2)
    copy = pickle.loads(pickle.dumps(handle))
    assert (copy.number, dict(copy.params), copy.user_attrs, copy.intermediate) == (
        3, {"x": 0.5}, {"direct": 1, "tag": "a"}, {2: 0.5})
    study = unitune.Study({"x": Float(0.0, 1.0)}, seed=0)
    asked = study.ask()
    asked.set_user_attr("note", "kept")
    asked.report(0.25, step=0)
    trial = study.tell(asked, 0.125)
    assert trial.state is TrialState.COMPLETE and trial.value == 0.125
    assert dict(trial.user_attrs) == {"note": "kept"} and dict(trial.intermediate) == {0: 0.25}
    untouched = study.tell(study.ask(), 0.5)  # nothing recorded: empty read-only mappings
    assert (dict(untouched.user_attrs), dict(untouched.intermediate)) == ({}, {})


def test_an_objective_may_replace_its_handles_mappings():
    """user_attrs and intermediate stay assignable attributes, as before they were made lazily."""
    def objective(params, trial):
        trial.user_attrs = {"note": "assigned"}
        trial.intermediate = {0: 0.5}
        return params["x"]

    [trial] = run(objective, n=1).trials
    assert trial.state is TrialState.COMPLETE, trial.failure
    assert dict(trial.user_attrs) == {"note": "assigned"} and dict(trial.intermediate) == {0: 0.5}


class _ReadOnlyParams(Mapping):
    """A proposal's params as a Mapping that is not a dict and has no copy()."""

    def __init__(self, params):
        self._params = dict(params)

    def __getitem__(self, key):
        return self._params[key]

    def __iter__(self):
        return iter(self._params)

    def __len__(self):
        return len(self._params)


class _MappingProposals(RandomSearch):
    proposals_in_space = False

    def ask(self, numbers):
        return [Proposal(p.number, _ReadOnlyParams(p.params)) for p in super().ask(numbers)]


@pytest.mark.parametrize("path", ["plain", "general"])
def test_params_proposed_as_any_mapping_reach_the_objective_as_a_private_dict(path):
    seen = []

    def objective(params):
        seen.append(type(params))
        params["x"] = -1.0  # the objective's own copy: the record keeps what was proposed
        return 0.5

    study = unitune.Study({"x": Float(0.0, 1.0)}, backend=_MappingProposals, seed=0)
    callbacks = [] if path == "plain" else [lambda study, trial: None]  # a callback: the general loop
    study.optimize(objective, n_trials=3, callbacks=callbacks)
    assert seen == [dict] * 3
    assert [t.state for t in study.trials] == [TrialState.COMPLETE] * 3
    assert all(0.0 <= t.params["x"] <= 1.0 for t in study.trials)
