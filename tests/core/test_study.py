"""The study loop: budgets, directions, ask/tell by hand, executors, replay and export."""

from __future__ import annotations

import dataclasses
import inspect
import math
import pickle
import time
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor

import numpy as np
import pytest

import unitune
from unitune import Categorical, Float, Int, Proposal, Study, Trial, TrialState, UnituneError

SPACE = {
    "x": Float(-5.0, 5.0),
    "n": Int(1, 100, log=True),
    "kind": Categorical({"a": {"w": Float(0.0, 1.0)}, "b": None}),
}


def quadratic(params):
    return (params["x"] - 1.0) ** 2 + math.log(params["n"]) + params.get("w", 0.5)


def test_optimize_runs_the_budget_and_finds_the_best():
    study = unitune.optimize(quadratic, SPACE, backend="random", n_trials=40, seed=3)
    assert len(study.trials) == 40
    assert [t.number for t in study.trials] == list(range(40))
    assert study.best_value == min(t.value for t in study.trials)
    assert study.best_params == dict(study.best_trial.params)
    assert all(Study(SPACE).space.contains(dict(t.params)) for t in study.trials)


def test_maximize_picks_the_largest_value():
    study = unitune.optimize(quadratic, SPACE, n_trials=20, seed=1, direction="maximize")
    assert study.best_value == max(t.value for t in study.trials)


def test_same_seed_same_trials_and_manual_ask_tell_drives_the_same_loop():
    auto = unitune.optimize(quadratic, SPACE, n_trials=15, seed=42)
    manual = Study(SPACE, "random", seed=42)
    for _ in range(15):
        trial = manual.ask()
        manual.tell(trial, quadratic(dict(trial.params)))
    assert [t.params for t in auto.trials] == [t.params for t in manual.trials]
    assert [t.values for t in auto.trials] == [t.values for t in manual.trials]
    other = unitune.optimize(quadratic, SPACE, n_trials=15, seed=43)
    assert [t.params for t in other.trials] != [t.params for t in auto.trials]


def test_manual_tell_with_states_and_errors():
    study = Study(SPACE, seed=0)
    a, b, c = study.ask_batch(3)
    study.tell(b, state="pruned")
    study.tell(a, state="failed", failure="out of memory")
    assert study.tell(c, float("nan")).state is TrialState.FAILED
    assert [t.state for t in study.trials] == [TrialState.PRUNED, TrialState.FAILED, TrialState.FAILED]
    assert study.trials[1].failure == "out of memory"
    with pytest.raises(UnituneError, match=r"trial 0 is not running in this study"):
        study.tell(a, 1.0)
    with pytest.raises(UnituneError, match="no trial has completed yet"):
        study.best_value  # noqa: B018
    d = study.ask()
    for bad in (True, 3.0, "3"):  # True was trial 1, 3.0 trial 3
        with pytest.raises(UnituneError, match=r"tell takes a TrialHandle or a trial number \(int\), got"):
            study.tell(bad, 1.0)
    with pytest.raises(UnituneError, match=r"tell got the result 0.5 and state='failed': a failed trial "
                                           r"has no value; give one or the other"):
        study.tell(d, 0.5, state="failed")
    assert study.tell(np.int64(3), 0.5).value == 0.5  # a numpy integer is a trial number


def test_timeout_budget_stops_the_loop():
    study = unitune.optimize(lambda p: time.sleep(0.02) or p["x"], SPACE, timeout=0.5, seed=0)
    # Each trial sleeps at least 20 ms, so a 0.5 s budget allows at most 26 trials however loaded
    # the machine is; that the call returned at all is the liveness check (pytest-timeout bounds it).
    assert 1 <= len(study.trials) <= 26
    assert all(t.state is TrialState.COMPLETE for t in study.trials)


def test_unbounded_continuous_search_is_refused():
    with pytest.raises(UnituneError, match="give n_trials or timeout"):
        unitune.optimize(quadratic, SPACE)
    with pytest.raises(UnituneError, match="give n_trials or timeout: backend 'random' never runs out"):
        Study(SPACE).optimize(quadratic)
    # A grid ends by itself, even over continuous ranges.
    grid = unitune.optimize(quadratic, SPACE, backend="grid", backend_options={"resolution": 2})
    assert len(grid.trials) == len(Study(SPACE).space.grid(2))
    with pytest.raises(UnituneError, match=r"n_trials must be a positive integer or None, got 0"):
        unitune.optimize(quadratic, SPACE, n_trials=0)


def test_grid_runs_to_exhaustion_and_honours_a_smaller_budget():
    space = {"a": Categorical(["x", "y", "z"]), "b": Int(0, 3)}
    full = unitune.optimize(lambda p: p["b"], space, backend="grid")
    assert len(full.trials) == 12
    assert len({tuple(sorted(t.params.items())) for t in full.trials}) == 12
    part = unitune.optimize(lambda p: p["b"], space, backend="grid", n_trials=5)
    assert len(part.trials) == 5


def test_callbacks_see_every_trial_and_can_stop():
    seen = []

    def callback(study, trial):
        seen.append(trial.number)
        if trial.number == 6:
            study.stop()

    study = unitune.optimize(quadratic, SPACE, n_trials=50, seed=0, callbacks=[callback])
    assert seen == list(range(7)) and len(study.trials) == 7


def test_trial_records_are_immutable_and_exportable():
    study = unitune.optimize(quadratic, SPACE, n_trials=5, seed=0)
    trial = study.trials[0]
    with pytest.raises(AttributeError):
        trial.number = 3
    with pytest.raises(TypeError):
        trial.params["x"] = 0.0
    record = study.records()[0]
    assert record["state"] == "complete" and record["params"] == dict(trial.params)
    assert record["duration"] >= 0 and record["started_at"] <= record["finished_at"]
    frame = study.to_dataframe()
    assert list(frame["number"]) == list(range(5))
    assert frame["value"].min() == study.best_value
    assert "params_x" in frame.columns


@pytest.mark.parametrize("record", [Trial, Proposal])
def test_record_init_takes_the_fields_in_order_with_their_defaults(record):
    """Trial's and Proposal's __init__ are written by hand (cheaper than the generated one):
    each must stay the dataclass's own, field for field."""
    parameters = inspect.signature(record).parameters
    assert list(parameters) == [f.name for f in dataclasses.fields(record)]
    for f in dataclasses.fields(record):
        if f.default is not dataclasses.MISSING:
            expected = f.default
        elif f.default_factory is not dataclasses.MISSING:
            expected = f.default_factory()
        else:
            expected = inspect.Parameter.empty
        assert parameters[f.name].default is expected or parameters[f.name].default == expected, f.name


def test_a_proposal_is_built_frozen_and_equal_by_its_fields():
    proposal = Proposal(3, {"x": 0.5})
    assert (proposal.number, proposal.params) == (3, {"x": 0.5})
    assert proposal == Proposal(number=3, params={"x": 0.5}) != Proposal(4, {"x": 0.5})
    assert pickle.loads(pickle.dumps(proposal)) == proposal
    assert dataclasses.replace(proposal, number=7) == Proposal(7, {"x": 0.5})
    with pytest.raises(dataclasses.FrozenInstanceError):
        proposal.number = 4
    with pytest.raises(TypeError, match="params"):
        Proposal(3)  # type: ignore[call-arg]


def test_trial_init_checks_and_freezes_what_it_is_given():
    trial = Trial(4, {"x": 0.5}, "complete", (0.25,), metrics={"m": 1.0}, user_attrs={"a": 1})
    assert trial.state is TrialState.COMPLETE and trial.values == (0.25,)
    assert [type(m).__name__ for m in (trial.params, trial.metrics, trial.user_attrs, trial.intermediate)] == [
        "mappingproxy"] * 4
    assert dict(trial.params) == {"x": 0.5} and dict(trial.metrics) == {"m": 1.0} and dict(trial.intermediate) == {}
    with pytest.raises(dataclasses.FrozenInstanceError):
        trial.values = (1.0,)
    assert dataclasses.replace(trial, number=9) == Trial(9, {"x": 0.5}, TrialState.COMPLETE, (0.25,),
                                                          {"m": 1.0}, None, None, None, {"a": 1})
    with pytest.raises(UnituneError, match="trial 4: a COMPLETE trial needs finite float values, got \\(nan,\\)"):
        Trial(4, {}, TrialState.COMPLETE, (math.nan,))
    with pytest.raises(UnituneError, match="trial 5: only COMPLETE trials carry values"):
        Trial(5, {}, TrialState.FAILED, (1.0,))
    with pytest.raises(ValueError, match="'finished' is not a valid TrialState"):
        Trial(6, {}, "finished")


def _slow_square(params):
    return params["x"] ** 2


@pytest.mark.parametrize("pool", [ThreadPoolExecutor, ProcessPoolExecutor])
def test_batches_run_on_any_executor(pool):
    with pool(max_workers=2) as executor:
        study = unitune.optimize(_slow_square, {"x": Float(-1.0, 1.0)}, n_trials=10, seed=0,
                                 batch_size=4, executor=executor)
    assert len(study.trials) == 10
    assert sorted(t.number for t in study.trials) == list(range(10))
    assert all(t.state is TrialState.COMPLETE for t in study.trials), study.trials[0].failure
    inline = unitune.optimize(_slow_square, {"x": Float(-1.0, 1.0)}, n_trials=10, seed=0, batch_size=4)
    assert sorted(t.params["x"] for t in study.trials) == sorted(t.params["x"] for t in inline.trials)
    assert sorted(t.value for t in study.trials) == sorted(t.value for t in inline.trials)


def _rich(params, trial):
    trial.set_user_attr("where", "worker")
    trial.report(params["x"], 0)
    return unitune.Result(params["x"], metrics={"m": 1.0}, user_attrs={"n": 3})


def test_user_attrs_metrics_and_reports_come_back_from_worker_processes():
    with ProcessPoolExecutor(max_workers=2) as executor:
        study = unitune.optimize(_rich, {"x": Float(0.0, 1.0)}, n_trials=4, seed=0, batch_size=2,
                                 executor=executor)
    for t in study.trials:
        assert t.state is TrialState.COMPLETE, t.failure
        assert dict(t.user_attrs) == {"where": "worker", "n": 3}
        assert dict(t.metrics) == {"m": 1.0}
        assert dict(t.intermediate) == {0: t.value}


def test_trial_records_pickle():
    import pickle

    study = unitune.optimize(_rich, {"x": Float(0.0, 1.0)}, n_trials=2, seed=0)
    again = pickle.loads(pickle.dumps(study.trials))
    assert again == study.trials
    with pytest.raises(TypeError):
        again[0].params["x"] = 1.0


def test_replayed_history_and_switching_backend_midway():
    first = unitune.optimize(lambda p: p["k"], {"k": Int(0, 9)}, backend="random", n_trials=6, seed=0)
    second = Study({"k": Int(0, 9)}, backend="grid")
    second.add_trials(first.trials)
    second.optimize(lambda p: p["k"])
    assert len(second.trials) == 10
    assert sorted(t.params["k"] for t in second.trials) == list(range(10))
    with pytest.raises(unitune.SpaceError, match=r"add_trials: trial 7 does not fit the space: parameter 'k': 12"
                                                 r".*; nothing was added"):
        second.add_trials([Trial.complete(6, {"k": 3}, 1.0), Trial.complete(7, {"k": 12}, 1.0)])
    assert len(second.trials) == 10


def test_multi_objective_pareto_front():
    study = unitune.optimize(lambda p: (p["x"], (p["x"] - 1) ** 2), {"x": Float(0.0, 2.0)},
                             n_trials=30, seed=0, direction=["minimize", "minimize"])
    front = study.best_trials

    def dominates(a, b):
        return all(x <= y for x, y in zip(a.values, b.values)) and a.values != b.values

    assert 1 < len(front) < 30
    for t in study.trials:
        dominated = any(dominates(o, t) for o in study.trials)
        assert dominated == (t not in front)
    with pytest.raises(UnituneError, match="best_trials for the Pareto front"):
        study.best_trial  # noqa: B018


def test_metric_names_must_match_directions():
    with pytest.raises(UnituneError, match=r"metric names \['a'\] must match the directions"):
        Study(SPACE, direction=["minimize", "maximize"], metric="a")
    with pytest.raises(UnituneError, match=r"direction must be 'minimize' or 'maximize', got 'down'"):
        Study(SPACE, direction="down")


def test_progress_bar_can_be_forced_on(capsys):
    unitune.optimize(quadratic, SPACE, n_trials=3, seed=0, show_progress=True)
    assert "3/3" in capsys.readouterr().err


def _die_on_big_x(params):
    import os

    if params["x"] > 0.9:
        os._exit(1)  # the worker process dies, as if killed
    return params["x"]


def test_a_killed_worker_never_corrupts_the_study():
    """A dead worker breaks a ProcessPoolExecutor: every trial it held may never have run, so each
    is recorded INTERRUPTED, teaches the backend nothing, and the loop stops with a clear error."""
    study = Study({"x": Float(0.0, 1.0)}, seed=0)
    with ProcessPoolExecutor(max_workers=2) as executor, pytest.raises(UnituneError, match="executor cannot run trials"):
        study.optimize(_die_on_big_x, n_trials=60, batch_size=2, executor=executor)
    lost = [t for t in study.trials if t.state is TrialState.INTERRUPTED]
    assert lost, "no trial reached the worker-killing branch"
    assert all("a worker died" in t.failure or "executor" in t.failure for t in lost)
    assert all(t.state is TrialState.COMPLETE and t.value == t.params["x"]
               for t in study.trials if t.state is not TrialState.INTERRUPTED)
    assert sorted(t.number for t in study.trials) == list(range(len(study.trials)))
    before = len(study.trials)
    study.optimize(lambda p: p["x"], n_trials=5)  # the study goes on with a working executor
    assert len(study.trials) == before + 5
    assert all(t.state is TrialState.COMPLETE for t in study.trials[before:])


def test_a_study_resumed_from_storage_tells_the_backend_its_history():
    from unitune.storage import InMemoryStorage

    storage = InMemoryStorage()
    first = Study({"k": Int(0, 5)}, backend="grid", storage=storage)
    first.optimize(lambda p: -p["k"], n_trials=3)
    resumed = Study({"k": Int(0, 5)}, backend="grid", storage=storage, resume=True)
    assert resumed.best_value == -2
    resumed.optimize(lambda p: -p["k"])
    assert [t.params["k"] for t in resumed.trials] == [0, 1, 2, 3, 4, 5]
    assert [t.number for t in resumed.trials] == list(range(6))


_SEED_BACKENDS = ["random", "grid", "optuna.tpe", "hyperopt.tpe", "skopt.gp", "nevergrad.cma"]


@pytest.mark.parametrize("backend", _SEED_BACKENDS)
def test_one_seed_range_on_every_backend_numpy_integers_welcome(backend):
    # A seed that works on one backend works on all (a one-word backend change never breaks it).
    pytest.importorskip(f"unitune_{backend.split('.')[0]}" if "." in backend else "unitune")
    space = {"x": unitune.Float(0.0, 1.0)}

    def proposals(seed):
        study = unitune.optimize(lambda p: p["x"], space, backend, n_trials=3, seed=seed)
        assert [t.state for t in study.trials] == [TrialState.COMPLETE] * 3
        return [dict(t.params) for t in study.trials]

    assert proposals(np.int64(7)) == proposals(7)
    assert len(proposals(2**32 - 1)) == 3
    for bad in (2**32, -1):
        with pytest.raises(unitune.UnituneError, match=r"seed must be an integer from 0 to 2\*\*32 - 1 "
                                                       r"\(4294967295\), the range every backend"):
            proposals(bad)
    with pytest.raises(unitune.UnituneError, match=r"got 1\.5 \(float\)"):
        proposals(1.5)


@pytest.mark.parametrize("state", ["bogus", "running", TrialState.RUNNING])
def test_tell_with_a_state_it_does_not_take_names_the_ones_it_does(state):
    study = Study({"x": Float(0.0, 1.0)}, seed=0)
    handle = study.ask()
    with pytest.raises(UnituneError, match=r"tell takes state= one of \['complete', 'failed', 'pruned', "
                                           r"'interrupted'\], got "):
        study.tell(handle, state=state)
    told = study.tell(handle, state="pruned")  # nothing was lost: the trial is still running
    assert told.state is TrialState.PRUNED and told.failure == "pruned"
    assert [t.state for t in study.trials] == [TrialState.PRUNED]
