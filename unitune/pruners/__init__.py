"""Pruners: stop hopeless trials early, on any backend and any executor.

Inside an objective that takes the trial handle::

    def objective(params, trial):
        for epoch in range(1, 28):
            score = train_one_epoch(params)
            trial.report(score, step=epoch)
            if trial.should_prune():
                raise unitune.TrialPruned()
        return score

    unitune.optimize(objective, space, "random", n_trials=50, pruner=ASHA(max_resource=27))

Pruners are pure rules over the reports of every trial (:class:`History`), so they need no
backend support. ``make_pruner`` turns a name (``"median"``, ``"asha"``, ``"optuna.median"``,
...) into a pruner.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable

from unitune.pruners.base import History, Pruner, PrunerError, TrialReports
from unitune.pruners.halving import ASHA, Hyperband, SuccessiveHalving
from unitune.pruners.median import MedianPruner, PercentilePruner

__all__ = [
    "ASHA",
    "PRUNERS",
    "History",
    "Hyperband",
    "MedianPruner",
    "PercentilePruner",
    "Pruner",
    "PrunerError",
    "SuccessiveHalving",
    "TrialReports",
    "make_pruner",
]

#: Pruners by name, built with their default knobs (pass an instance to set knobs).
PRUNERS: dict[str, Callable[[], Pruner]] = {
    "median": MedianPruner,
    "asha": ASHA,
    "hyperband": Hyperband,
}


def make_pruner(pruner: str | Pruner | None) -> Pruner | None:
    """A pruner from an instance, a name (``"median"``, ``"asha"``, ``"hyperband"``, or
    ``"optuna.<name>"`` for Optuna's own pruners through unitune-optuna), or None."""
    if pruner is None or isinstance(pruner, Pruner):
        return pruner
    if not isinstance(pruner, str):
        raise PrunerError(f"pruner must be a Pruner, a pruner name or None, got {pruner!r}")
    if pruner.startswith("optuna."):
        try:
            module = importlib.import_module("unitune_optuna.pruners")
        except ImportError as exc:
            raise PrunerError(
                f"pruner {pruner!r} needs unitune-optuna: pip install unitune-optuna"
            ) from exc
        return module.OptunaPruner(pruner.removeprefix("optuna."))
    if pruner not in PRUNERS:
        raise PrunerError(
            f"unknown pruner {pruner!r}; choose one of {sorted(PRUNERS)!r}, 'optuna.<name>', "
            "or pass a Pruner instance (SuccessiveHalving needs its cohort size)"
        )
    return PRUNERS[pruner]()
