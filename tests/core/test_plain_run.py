"""The plain inline run (``optimize`` with its defaults) takes its own one-frame path,
``unitune.execution.loop._run_plain``: the same studies through it and through the general loop
(forced by a callback that does nothing) must record the same trials, field for field."""

from __future__ import annotations

import math
import sys

import pytest

import unitune
from unitune import Categorical, Float, Int, Result, Study, TrialState
from unitune.execution import loop
from unitune.objective import TrialPruned

SPACE = {"x": Float(-2.0, 2.0), "n": Int(1, 9), "kind": Categorical(["a", "b", "c"])}


def every_outcome(params):
    """A different way to end for each part of the space: values, failures, bad returns."""
    x, n = params["x"], params["n"]
    if n == 1:
        raise ValueError(f"bad n at x={x:.3f}")
    if n == 2:
        return math.nan
    if n == 3:
        return "not a number"
    if n == 4:
        raise TrialPruned("given up")
    if n == 5:
        return Result(x * x, metrics={"twice": 2 * x}, user_attrs={"seen": n})
    if n == 6:
        sys.exit(3)
    return (x - 0.5) ** 2 + n / 10


def reporting(params, trial):
    """An objective that takes its trial: user attributes and intermediate values recorded."""
    trial.set_user_attr("kind", params["kind"])
    if params["n"] % 2:
        trial.report(params["x"] ** 2, step=1)
    return params["x"] ** 2 + params["n"]


def _fields(study: Study) -> list[tuple]:
    return [(t.number, t.state, t.values, dict(t.params), dict(t.metrics), t.failure, dict(t.user_attrs),
             dict(t.intermediate)) for t in study.trials]


def _both(monkeypatch, make_study, objective, **options):
    """The same study run through the plain path and through the general loop."""
    plain_runs = []
    run_plain = loop._run_plain

    def counted(*args, **kwargs):
        plain_runs.append(args[0])
        return run_plain(*args, **kwargs)

    monkeypatch.setattr(loop, "_run_plain", counted)
    plain = make_study()
    plain.optimize(objective, **options)
    general = make_study()
    general.optimize(objective, callbacks=[lambda study, trial: None], **options)
    assert plain_runs == [plain], "the plain study did not take the plain path (or the general one did)"
    return plain, general


@pytest.mark.parametrize("backend", ["random", "nevergrad.oneplusone", "optuna.tpe"])
def test_every_outcome_is_recorded_the_same_on_both_paths(monkeypatch, backend):
    if "." in backend:
        pytest.importorskip(backend.split(".")[0])
    plain, general = _both(monkeypatch, lambda: Study(SPACE, backend=backend, seed=3), every_outcome, n_trials=40)
    assert _fields(plain) == _fields(general)
    states = {t.state for t in plain.trials}
    assert {TrialState.COMPLETE, TrialState.FAILED, TrialState.PRUNED} <= states
    assert all(t.state is not TrialState.RUNNING for t in plain.trials) and len(plain.trials) == 40
    assert plain.best_trial.number == general.best_trial.number


def test_maximized_and_multi_objective_studies_are_the_same_on_both_paths(monkeypatch):
    plain, general = _both(monkeypatch, lambda: Study(SPACE, direction="maximize", seed=1),
                           lambda p: p["x"] * p["n"], n_trials=25)
    assert _fields(plain) == _fields(general) and plain.best_value == general.best_value
    plain, general = _both(monkeypatch, lambda: Study(SPACE, direction=["minimize", "maximize"], seed=2),
                           lambda p: (p["x"] ** 2, float(p["n"])), n_trials=25)
    assert _fields(plain) == _fields(general)
    assert [t.number for t in plain.best_trials] == [t.number for t in general.best_trials]


def test_an_objective_taking_its_trial_is_recorded_the_same_on_both_paths(monkeypatch):
    plain, general = _both(monkeypatch, lambda: Study(SPACE, seed=4), reporting, n_trials=20)
    assert _fields(plain) == _fields(general)
    assert any(t.intermediate for t in plain.trials) and all(t.user_attrs for t in plain.trials)


def test_a_stop_an_exhausted_grid_and_a_ctrl_c_end_both_paths_alike(monkeypatch):
    def stopping(studies):
        def objective(params):  # stops the study being run (the last one made)
            if len(studies[-1].trials) == 6:
                studies[-1].stop()
            return params["x"]
        return objective

    box: list[Study] = []

    def made() -> Study:
        box.append(Study(SPACE, seed=5))
        return box[-1]

    plain, general = _both(monkeypatch, made, stopping(box), n_trials=30)
    assert _fields(plain) == _fields(general) and len(plain.trials) == 7

    grid = {"x": Categorical([1, 2, 3]), "y": Categorical(["p", "q"])}
    plain, general = _both(monkeypatch, lambda: Study(grid, backend="grid"), lambda p: p["x"], n_trials=50)
    assert _fields(plain) == _fields(general) and len(plain.trials) == 6  # the grid ran out

    def interrupted(params):
        if params["n"] == 9:
            raise KeyboardInterrupt
        return params["x"]

    plain, general = _both(monkeypatch, lambda: Study(SPACE, seed=6), interrupted, n_trials=40)
    assert _fields(plain) == _fields(general)
    assert plain.trials[-1].state is TrialState.INTERRUPTED and len(plain.trials) < 40


def test_a_backend_proposing_outside_the_space_is_refused_on_the_plain_path(monkeypatch):
    from unitune.backends.random_search import RandomSearch
    from unitune.errors import BackendError

    class OutOfSpace(RandomSearch):
        proposals_in_space = False

        def ask(self, numbers):
            proposals = super().ask(numbers)
            if proposals[0].number == 3:
                proposals[0].params["x"] = 99.0
            return proposals

    study = unitune.Study(SPACE, backend=OutOfSpace, seed=0)
    with pytest.raises(BackendError, match=r"proposed for trial 3 .* not a configuration of the space"):
        study.optimize(lambda p: p["x"], n_trials=10)
    assert [t.state for t in study.trials] == [TrialState.COMPLETE] * 3  # nothing recorded for trial 3
