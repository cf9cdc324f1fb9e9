"""The harness's multi-fidelity problems and resource scoring."""

from __future__ import annotations

import math

import pytest
from unitune_bench.fidelity import (
    MAX_EPOCHS,
    anytime_by_resource,
    make_fidelity_problem,
    plot_best_vs_resource,
    resource_of,
    resource_to_reach,
    total_resource,
)
from unitune_bench.problem import all_problems, select_problems

import unitune
from unitune import Trial, TrialState
from unitune.pruners import ASHA


def test_the_problems_are_registered_and_tagged():
    names = [p.name for p in select_problems(["tag:fidelity"], all_problems())]
    assert names == ["mf-sgd-digits", "mf-mlp-digits", "mf-branin"]
    assert make_fidelity_problem("branin").meta["max_resource"] == MAX_EPOCHS
    with pytest.raises(unitune.UnituneError, match="unknown multi-fidelity problem 'cnn'"):
        make_fidelity_problem("cnn")


def test_the_synthetic_curve_ends_at_branin_and_curves_cross():
    problem = make_fidelity_problem("branin")
    a, b = {"x1": -math.pi, "x2": 12.275}, {"x1": 3.0, "x2": 3.0}
    assert problem.objective(a) == pytest.approx(0.397887, abs=1e-6)  # a global minimum of Branin

    class Recorder:
        def __init__(self):
            self.steps = {}

        def report(self, value, step):
            self.steps[step] = value

        def should_prune(self):
            return False

    ra, rb = Recorder(), Recorder()
    problem.objective(a, ra)
    problem.objective(b, rb)
    assert sorted(ra.steps) == list(range(1, MAX_EPOCHS + 1))
    assert ra.steps[MAX_EPOCHS] < rb.steps[MAX_EPOCHS] and ra.steps[1] > rb.steps[1]  # they cross


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_sgd_problem_is_pruned_by_asha_through_the_study():
    problem = make_fidelity_problem("sgd")
    study = unitune.optimize(problem.objective, problem.space, "random", n_trials=6, seed=0,
                             pruner=ASHA(1, 3, 0, MAX_EPOCHS))
    assert {t.state for t in study.trials} == {TrialState.COMPLETE, TrialState.PRUNED}
    for t in study.trials:
        assert sorted(t.intermediate) == list(range(1, max(t.intermediate) + 1))
        if t.state is TrialState.PRUNED:
            assert max(t.intermediate) in (1, 3, 9)
    assert total_resource(study.trials) < 6 * MAX_EPOCHS
    assert 0.0 <= study.best_value < 0.3  # validation error on digits


def _trial(number, state, steps, finished, value=None):
    return Trial(number, {}, state, None if value is None else (value,), finished_at=finished,
                 intermediate={s: 1.0 for s in steps})


def test_resource_scoring_by_hand():
    trials = [
        _trial(0, TrialState.COMPLETE, range(1, 28), 1.0, value=0.5),  # 27 epochs, best 0.5
        _trial(1, TrialState.PRUNED, [1], 2.0),                          # 1 epoch
        _trial(2, TrialState.PRUNED, [1, 2, 3], 3.0),                    # 3 epochs
        _trial(3, TrialState.COMPLETE, range(1, 28), 4.0, value=0.2),   # 27 epochs, best 0.2
    ]
    assert [resource_of(t) for t in trials] == [27, 1, 3, 27]
    assert total_resource(trials) == 58
    xs, ys = anytime_by_resource(trials)
    assert xs.tolist() == [27, 28, 31, 58]
    assert ys.tolist() == [0.5, 0.5, 0.5, 0.2]
    assert resource_to_reach(trials, 0.5) == 27
    assert resource_to_reach(trials, 0.3) == 58
    assert resource_to_reach(trials, 0.1) == math.inf
    # Maximizing: losses are -value.
    assert anytime_by_resource(trials, sign=-1.0)[1].tolist() == [-0.5, -0.5, -0.5, -0.5]


def test_plot_best_vs_resource(tmp_path):
    trials = [_trial(0, TrialState.COMPLETE, range(1, 4), 1.0, value=0.5)]
    path = plot_best_vs_resource({"random": [anytime_by_resource(trials)]}, tmp_path / "p.png", "t")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
