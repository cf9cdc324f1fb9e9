"""Optuna's own loop, the reference the adapter is measured against (benchmarks/scripts).

Every adapter has this module with the same :func:`run` and :data:`CASES`; the overhead script
finds it through the backend's entry point.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from unitune.space import Categorical, Float, Int, Space
from unitune_optuna.algorithms import ALGORITHMS

__all__ = ["CASES", "run"]

#: Algorithm -> trials per timed run.
CASES: Mapping[str, int] = {"tpe": 200, "random": 200}


def run(algorithm: str, space: Space, objective: Callable[[dict[str, Any]], float], n_trials: int,
        seed: int) -> list[dict[str, Any]]:
    """``study.optimize`` with a define-by-run objective making the suggest calls, the way an
    Optuna user writes it, on a flat space; returns the proposed params in order."""
    import optuna

    sampler = getattr(optuna.samplers, ALGORITHMS[algorithm].sampler)(seed=seed)
    study = optuna.create_study(sampler=sampler)
    calls: list[tuple[str, Callable[[Any], Any]]] = []
    for name, dim in space.items():
        if type(dim) is Float:
            calls.append((name, lambda t, n=name, d=dim: t.suggest_float(n, d.low, d.high, log=d.log)))
        elif type(dim) is Int:
            calls.append((name, lambda t, n=name, d=dim: t.suggest_int(n, d.low, d.high, log=d.log)))
        elif type(dim) is Categorical:
            calls.append((name, lambda t, n=name, d=dim: t.suggest_categorical(n, d.choices)))

    def native_objective(trial: Any) -> float:
        return objective({name: suggest(trial) for name, suggest in calls})

    study.optimize(native_objective, n_trials=n_trials)
    return [t.params for t in study.trials]
