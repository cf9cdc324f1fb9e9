"""The pruning examples run, prune, and switch backend by name only."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from unitune import TrialState

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def load(name: str):
    spec = importlib.util.spec_from_file_location(name, EXAMPLES / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def check_asha_run(study, max_epochs: int, rungs: set[int]) -> None:
    assert {t.state for t in study.trials} <= {TrialState.COMPLETE, TrialState.PRUNED}
    for trial in study.trials:
        steps = sorted(trial.intermediate)
        if trial.state is TrialState.COMPLETE:
            assert steps[-1] == max_epochs
            assert trial.value == trial.intermediate[max_epochs]
        else:  # ASHA stops trials only at its rungs
            assert steps[-1] in rungs
    assert 0.0 <= study.best_value < 0.5  # digits: far better than chance (0.9 error)


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_sklearn_mlp_example_with_a_budget_objective():
    example = load("pruning_sklearn_mlp")
    study = example.tune("random", n_trials=6, max_epochs=9)
    check_asha_run(study, 9, {1, 3})
    assert [t.user_attrs["epochs"] for t in study.trials] == [max(t.intermediate) for t in study.trials]
    assert any(t.state is TrialState.PRUNED for t in study.trials)


@pytest.mark.slow
@pytest.mark.timeout(600)
@pytest.mark.parametrize("backend", ["random", "optuna.tpe"])
def test_torch_example_runs_on_two_backends(backend):
    pytest.importorskip("torch")
    example = load("pruning_torch_digits")
    study = example.tune(backend, n_trials=6, epochs=9)
    check_asha_run(study, 9, {1, 3})
    assert study.backend.name == backend.split(".")[0]
    # Every trial reported every epoch it trained.
    assert all(sorted(t.intermediate) == list(range(1, max(t.intermediate) + 1)) for t in study.trials)
