"""Every backend runs under a pruner and goes on proposing after PRUNED trials."""

from __future__ import annotations

import math

import pytest

import unitune
from unitune import Float, TrialState
from unitune.pruners import ASHA


def curve(params, trial):
    final = (params["x"] - 0.3) ** 2 + (params["y"] + 0.2) ** 2
    for step in range(1, 10):
        trial.report(final + (1.0 + math.sin(5 * params["y"])) / step, step)
        if trial.should_prune():
            raise unitune.TrialPruned()
    return final + (1.0 + math.sin(5 * params["y"])) / 9


@pytest.mark.timeout(300)
@pytest.mark.parametrize(("backend", "options"), [
    ("random", None),
    ("grid", {"resolution": 5, "shuffle": True}),
    ("optuna.tpe", None),
    pytest.param("hyperopt.tpe", None, marks=pytest.mark.slow),
    pytest.param("skopt.gp", {"n_initial_points": 4}, marks=pytest.mark.slow),
])
def test_a_backend_keeps_proposing_after_pruned_trials(backend, options):
    pytest.importorskip(backend.split(".")[0] if "." in backend else "unitune")
    n_trials = 9 if backend.startswith("skopt") else 14  # skopt's GP refits on every ask: kept short
    study = unitune.optimize(curve, {"x": Float(0.0, 1.0), "y": Float(-1.0, 1.0)}, backend,
                             n_trials=n_trials, seed=0, backend_options=options, pruner=ASHA(1, 3, 0, 9))
    states = [t.state for t in study.trials]
    assert len(states) == n_trials and set(states) == {TrialState.COMPLETE, TrialState.PRUNED}
    for t in study.trials:
        assert max(t.intermediate) == 9 if t.state is TrialState.COMPLETE else max(t.intermediate) in (1, 3)
    assert study.best_value == min(t.value for t in study.trials if t.state is TrialState.COMPLETE)
