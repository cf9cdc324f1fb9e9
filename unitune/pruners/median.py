"""Median and percentile pruning, with Optuna's semantics for the knobs.

A running trial is stopped at step ``s`` when the best value it has reported so far is worse
than the ``percentile``-th value that the COMPLETE trials reported at that same step ``s``.
Nothing is pruned before ``n_startup_trials`` trials have completed, at steps below
``n_warmup_steps``, at steps that are not the first report in an interval of ``interval_steps``
steps (counted from the warm-up), or when fewer than ``n_min_trials`` completed trials reported
at that step. A NaN best value is always pruned.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from unitune.pruners.base import History, Pruner, check_int, check_real
from unitune.trial import Direction

__all__ = ["MedianPruner", "PercentilePruner"]


class PercentilePruner(Pruner):
    """Prune a trial whose best value so far is worse than the given percentile of the completed
    trials at the same step (``percentile=25`` keeps the best quarter when minimizing).

    Args:
        percentile: in ``[0, 100]``; lower is stricter.
        n_startup_trials: completed trials needed before anything is pruned.
        n_warmup_steps: steps below this are never pruned.
        interval_steps: decide only at the first report of each interval of this many steps.
        n_min_trials: completed trials that must have reported at the step itself.
        max_resource: the full resource, for objectives that take a ``budget`` (optional).
    """

    def __init__(
        self,
        percentile: float,
        n_startup_trials: int = 5,
        n_warmup_steps: int = 0,
        interval_steps: int = 1,
        *,
        n_min_trials: int = 1,
        max_resource: int | None = None,
    ):
        self.percentile = check_real("percentile", percentile, 0.0, 100.0)
        self.n_startup_trials = check_int("n_startup_trials", n_startup_trials, 0)
        self.n_warmup_steps = check_int("n_warmup_steps", n_warmup_steps, 0)
        self.interval_steps = check_int("interval_steps", interval_steps, 1)
        self.n_min_trials = check_int("n_min_trials", n_min_trials, 1)
        self.max_resource = None if max_resource is None else check_int("max_resource", max_resource, 1)

    def _settings(self) -> str:
        """Every setting, so that a pruner's repr (which the harness records) says how it was built."""
        return (f"n_startup_trials={self.n_startup_trials}, n_warmup_steps={self.n_warmup_steps}, "
                f"interval_steps={self.interval_steps}, n_min_trials={self.n_min_trials}, "
                f"max_resource={self.max_resource}")

    def __repr__(self) -> str:
        return f"PercentilePruner({self.percentile}, {self._settings()})"

    def should_prune(self, number: int, history: History) -> bool:
        """True when trial ``number``'s best value is worse than the percentile (see module)."""
        completed = history.completed()
        if not completed or len(completed) < self.n_startup_trials:
            return False
        trial = history.trial(number)
        step = trial.last_step
        if step is None or step < self.n_warmup_steps:
            return False
        if not _first_in_interval(step, trial.steps, self.n_warmup_steps, self.interval_steps):
            return False
        values = np.asarray(list(trial.steps.values()), dtype=float)
        maximize = history.direction is Direction.MAXIMIZE
        if np.all(np.isnan(values)):
            return True
        best = float(np.nanmax(values) if maximize else np.nanmin(values))
        at_step = [t.steps[step] for t in completed if step in t.steps]
        if len(at_step) < self.n_min_trials:
            return False
        percentile = 100.0 - self.percentile if maximize else self.percentile
        if np.all(np.isnan(at_step)):
            return False
        cut = float(np.nanpercentile(np.asarray(at_step, dtype=float), percentile))
        if math.isnan(cut):
            return False
        return best < cut if maximize else best > cut

    def budgets(self, number: int) -> Sequence[int]:
        """Every ``interval_steps`` steps from the warm-up up to ``max_resource`` (then the end)."""
        if self.max_resource is None:
            return super().budgets(number)
        start = max(self.n_warmup_steps, 1)
        points = list(range(start, self.max_resource, self.interval_steps))
        return [*points, self.max_resource]


class MedianPruner(PercentilePruner):
    """Prune a trial whose best value so far is worse than the median of the completed trials at
    the same step: :class:`PercentilePruner` at the 50th percentile."""

    def __init__(
        self,
        n_startup_trials: int = 5,
        n_warmup_steps: int = 0,
        interval_steps: int = 1,
        *,
        n_min_trials: int = 1,
        max_resource: int | None = None,
    ):
        super().__init__(50.0, n_startup_trials, n_warmup_steps, interval_steps,
                         n_min_trials=n_min_trials, max_resource=max_resource)

    def __repr__(self) -> str:
        return f"MedianPruner({self._settings()})"


def _first_in_interval(step: int, steps, warmup: int, interval: int) -> bool:
    """True when ``step`` is the first report at or after the latest interval boundary."""
    boundary = (step - warmup) // interval * interval + warmup
    previous = max((s for s in steps if s != step), default=-1)
    return previous < boundary

