"""``deterministic=True``: a same-seed parallel run repeats its history exactly, whatever order
the workers finish in."""

from __future__ import annotations

import os
import time

import pytest

from unitune import Float, Int, Study, TrialState


def jittery(params):
    """Deterministic value, random duration: workers finish in a different order every run."""
    time.sleep(int.from_bytes(os.urandom(1), "little") / 255 * 0.04)
    return value_of(params)


SPACE = {"x": Float(-1.0, 1.0), "k": Int(0, 5)}


def value_of(params) -> float:
    return (params["x"] - 0.3) ** 2 + 0.1 * abs(params["k"] - 2)


def _history(backend: str, options: dict | None, n_trials: int):
    study = Study(SPACE, backend, seed=7, backend_options=options)
    study.optimize(jittery, n_trials=n_trials, batch_size=4, executor="processes", deterministic=True)
    return [(t.number, t.state, dict(t.params), t.values) for t in study.trials]


@pytest.mark.timeout(600)
@pytest.mark.parametrize(("backend", "options", "n_trials"), [
    ("random", None, 16),
    ("optuna.tpe", {"n_startup_trials": 4}, 16),
    pytest.param("hyperopt.tpe", {"n_startup_jobs": 4}, 16, marks=pytest.mark.slow),
    # the GP is slow on a loaded machine: two batches, the second one proposed by the GP
    pytest.param("skopt.gp", {"n_initial_points": 4, "acq_optimizer": "sampling"}, 8,
                 marks=pytest.mark.slow),
])
def test_same_seed_parallel_runs_repeat_their_history(backend, options, n_trials):
    pytest.importorskip({"random": "unitune", "optuna.tpe": "unitune_optuna",
                         "hyperopt.tpe": "unitune_hyperopt", "skopt.gp": "unitune_skopt"}[backend])
    runs = [_history(backend, options, n_trials) for _ in range(3)]
    first = runs[0]
    assert [n for n, *_ in first] == list(range(n_trials))  # told in trial-number order
    assert all(state is TrialState.COMPLETE for _, state, _, _ in first)
    assert all(values == (pytest.approx(value_of(p)),) for _, _, p, values in first)
    assert runs[1] == first
    assert runs[2] == first
    assert len({(round(p["x"], 12), p["k"]) for _, _, p, _ in first}) > n_trials // 2  # a real search


@pytest.mark.timeout(120)
def test_results_are_told_in_batches_in_number_order():
    told = []

    def spy(study, trial):
        told.append(trial.number)

    study = Study(SPACE, "random", seed=0)
    study.optimize(jittery, n_trials=10, batch_size=4, executor="processes", deterministic=True,
                   callbacks=[spy])
    assert told == list(range(10))
    assert [t.number for t in study.trials] == list(range(10))
