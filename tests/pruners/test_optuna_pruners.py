"""Optuna's pruners through unitune give the decisions of native Optuna with the same seed."""

from __future__ import annotations

import math

import pytest

import unitune
from unitune import Float, TrialState
from unitune.pruners import PrunerError, make_pruner

optuna = pytest.importorskip("optuna")
from unitune_optuna.pruners import OptunaPruner  # noqa: E402

STEPS = 12


def curve(x: float, y: float, step: int) -> float:
    # Learning curves that cross: the final loss is (x-0.3)^2 + (y+0.2)^2, the early bias depends on y.
    return (x - 0.3) ** 2 + (y + 0.2) ** 2 + (1.5 + math.sin(4 * y)) / step


def native(pruner, sampler, n_trials: int, direction="minimize"):
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    sign = 1.0 if direction == "minimize" else -1.0
    study = optuna.create_study(sampler=sampler, pruner=pruner, study_name="unitune", direction=direction)

    def objective(trial):
        x, y = trial.suggest_float("x", -1.0, 1.0), trial.suggest_float("y", -1.0, 1.0)
        value = math.nan
        for step in range(1, STEPS + 1):
            value = sign * curve(x, y, step)
            trial.report(value, step)
            if trial.should_prune():
                raise optuna.TrialPruned()
        return value

    study.optimize(objective, n_trials=n_trials)
    return [(t.params["x"], t.params["y"], t.state.name.lower(), t.last_step) for t in study.trials]


def through_unitune(pruner, backend, seed, n_trials: int, direction="minimize"):
    sign = 1.0 if direction == "minimize" else -1.0

    def objective(params, trial):
        value = math.nan
        for step in range(1, STEPS + 1):
            value = sign * curve(params["x"], params["y"], step)
            trial.report(value, step)
            if trial.should_prune():
                raise unitune.TrialPruned()
        return value

    study = unitune.optimize(objective, {"x": Float(-1.0, 1.0), "y": Float(-1.0, 1.0)}, backend,
                             seed=seed, n_trials=n_trials, pruner=pruner, direction=direction)
    return [(t.params["x"], t.params["y"], t.state.value, max(t.intermediate)) for t in study.trials]


@pytest.mark.timeout(120)
@pytest.mark.parametrize("direction", ["minimize", "maximize"])
def test_optuna_median_matches_native_optuna_with_the_random_sampler(direction):
    ours = through_unitune("optuna.median", "optuna.random", 7, 40, direction)
    theirs = native(optuna.pruners.MedianPruner(), optuna.samplers.RandomSampler(seed=7), 40, direction)
    assert ours == theirs
    assert 5 < sum(state == "pruned" for _, _, state, _ in ours) < 35  # the comparison is not vacuous


@pytest.mark.timeout(120)
def test_optuna_median_matches_native_optuna_with_tpe():
    # TPE learns from pruned trials through their intermediate values, so equal proposals after
    # the first pruning also check that the optuna backend hears them like native Optuna.
    ours = through_unitune("optuna.median", "optuna.tpe", 3, 30)
    theirs = native(optuna.pruners.MedianPruner(), optuna.samplers.TPESampler(seed=3), 30)
    assert ours == theirs


@pytest.mark.timeout(120)
@pytest.mark.parametrize(("name", "kwargs", "native_pruner"), [
    ("percentile", {"percentile": 25.0, "n_startup_trials": 3},
     lambda: optuna.pruners.PercentilePruner(25.0, n_startup_trials=3)),
    ("successive_halving", {"min_resource": 1, "reduction_factor": 3},
     lambda: optuna.pruners.SuccessiveHalvingPruner(min_resource=1, reduction_factor=3)),
    ("hyperband", {"min_resource": 1, "max_resource": STEPS, "reduction_factor": 3},
     lambda: optuna.pruners.HyperbandPruner(min_resource=1, max_resource=STEPS, reduction_factor=3)),
])
def test_other_optuna_pruners_match_native_optuna(name, kwargs, native_pruner):
    ours = through_unitune(OptunaPruner(name, **kwargs), "optuna.random", 11, 40)
    theirs = native(native_pruner(), optuna.samplers.RandomSampler(seed=11), 40)
    assert ours == theirs
    assert any(state == "pruned" for _, _, state, _ in ours)


def test_optuna_pruners_work_with_any_backend():
    ours = through_unitune("optuna.median", "random", 0, 20)
    assert {state for _, _, state, _ in ours} == {"complete", "pruned"}
    assert all(state == "complete" for _, _, state, _ in ours[:5])  # n_startup_trials=5


def test_bad_optuna_pruner_names_and_options():
    with pytest.raises(PrunerError, match="unknown Optuna pruner 'medain'"):
        make_pruner("optuna.medain")
    with pytest.raises(PrunerError, match=r"refused \{'percentile': 150.0\}: Percentile must be between 0 "
                                          r"and 100 inclusive, but got percentile=150.0$"):
        OptunaPruner("percentile", percentile=150.0)  # already given as it should be: no hint
    with pytest.raises(PrunerError, match=r"OptunaPruner\('percentile', \.\.\.\)"):
        make_pruner("optuna.percentile")  # a required argument: the message says how to give it
    assert isinstance(make_pruner("optuna.hyperband"), OptunaPruner)
    assert TrialState.PRUNED.value == "pruned"


@pytest.mark.timeout(300)
@pytest.mark.parametrize("backend", ["random", "optuna.tpe"])
def test_optuna_hyperband_on_threads_prunes_and_fails_nothing(backend):
    # Trials on threads ask at once; Hyperband sizes its brackets at its first decision. Unguarded,
    # each thread built them again (12 sub-pruners instead of 4) and Optuna's bracket lookup hit
    # its "unreachable" assert: 19 trials of 20 FAILED.
    from concurrent.futures import ThreadPoolExecutor

    from unitune import TrialPruned

    def objective(params, trial):
        for step in range(1, 28):
            value = (params["x"] - 0.3) ** 2 + 1.0 / step
            trial.report(value, step)
            if trial.should_prune():
                raise TrialPruned()
        return value

    with ThreadPoolExecutor(3) as pool:
        study = unitune.optimize(objective, {"x": Float(0.0, 1.0)}, backend, n_trials=20, seed=0,
                                 pruner="optuna.hyperband", executor=pool, batch_size=3)
    states = [t.state for t in study.trials]
    assert TrialState.FAILED not in states, [t.failure for t in study.trials if t.failure][:2]
    assert states.count(TrialState.COMPLETE) >= 1 and states.count(TrialState.PRUNED) >= 1
    for trial in study.trials:  # a trial may be pruned at any report, the last one included
        assert sorted(trial.intermediate) == list(range(1, max(trial.intermediate) + 1))
        if trial.state is TrialState.COMPLETE:
            assert max(trial.intermediate) == 27
            assert trial.value == pytest.approx((trial.params["x"] - 0.3) ** 2 + 1 / 27)
    native = study.pruner._native
    assert len(native._pruners) == native._n_brackets  # the brackets, built once


@pytest.mark.timeout(120)
@pytest.mark.parametrize(("name", "kwargs"), [
    ("median", {}),
    ("successive_halving", {"min_resource": 1}),
    ("hyperband", {"min_resource": 1, "max_resource": STEPS}),
])
def test_a_complete_trial_whose_last_report_is_nan_is_judged_like_native_optuna(name, kwargs):
    # A trial may report NaN (a diverged validation loss) and still return a finite value, as
    # native Optuna allows. The rebuilt study gave that COMPLETE trial its last report, NaN, as
    # its value: Optuna refused it ("values should not contain NaN") at every later decision, so
    # every trial after it FAILED.
    def curve_with_nan(x: float, y: float, step: int) -> float:
        return math.nan if step == STEPS and x < 0.0 else curve(x, y, step)

    def ours_objective(params, trial):
        for step in range(1, STEPS + 1):
            trial.report(curve_with_nan(params["x"], params["y"], step), step)
            if trial.should_prune():
                raise unitune.TrialPruned()
        return curve(params["x"], params["y"], STEPS)

    def native_objective(trial):
        x, y = trial.suggest_float("x", -1.0, 1.0), trial.suggest_float("y", -1.0, 1.0)
        for step in range(1, STEPS + 1):
            trial.report(curve_with_nan(x, y, step), step)
            if trial.should_prune():
                raise optuna.TrialPruned()
        return curve(x, y, STEPS)

    study = unitune.optimize(ours_objective, {"x": Float(-1.0, 1.0), "y": Float(-1.0, 1.0)},
                             "optuna.random", seed=5, n_trials=30, pruner=OptunaPruner(name, **kwargs))
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    reference = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=5), study_name="unitune",
                                    pruner=OptunaPruner(name, **kwargs)._native)
    reference.optimize(native_objective, n_trials=30)
    ours = [(t.params["x"], t.state.value, max(t.intermediate)) for t in study.trials]
    theirs = [(t.params["x"], t.state.name.lower(), t.last_step) for t in reference.trials]
    assert ours == theirs
    nan_complete = [t for t in study.trials
                    if t.state is TrialState.COMPLETE and math.isnan(t.intermediate[STEPS])]
    assert nan_complete and nan_complete[0].number < 10  # the case arose early in the run
