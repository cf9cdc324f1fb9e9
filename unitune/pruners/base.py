"""The pruner protocol: a decision read from the reports of every trial so far.

A pruner is a pure, picklable rule. It keeps no state of its own: everything it decides comes
from a :class:`History` (the intermediate values every trial has reported, and how each trial
stands), so the same pruner object gives the same answer inline, in a worker process or on a
Dask worker, as long as it sees the same reports.

Steps are resource units: a trial reporting at ``step=3`` has consumed 3 units (epochs, passes,
thousands of samples). Multi-fidelity schedules (successive halving, ASHA, Hyperband) place
their rungs on that scale.

>>> from unitune.pruners import MedianPruner, History, TrialReports
>>> from unitune.trial import TrialState
>>> done = TrialReports(0, TrialState.COMPLETE, {1: 0.5, 2: 0.4})
>>> running = TrialReports(1, TrialState.RUNNING, {1: 0.9})
>>> history = History("minimize", {0: done, 1: running})
>>> MedianPruner(n_startup_trials=1).should_prune(1, history)
True
"""

from __future__ import annotations

import abc
import numbers
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from unitune.errors import UnituneError
from unitune.trial import Direction, TrialState

__all__ = ["History", "Pruner", "PrunerError", "TrialReports", "check_int", "check_real"]


class PrunerError(UnituneError, ValueError):
    """A pruner was configured wrongly or cannot serve the study it was given."""


def check_int(name: str, value: Any, minimum: int) -> int:
    """``value`` as an int ``>= minimum``, or a PrunerError naming the knob."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
        raise PrunerError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return int(value)


def check_real(name: str, value: Any, low: float, high: float) -> float:
    """``value`` as a float in ``[low, high]``, or a PrunerError naming the knob."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not low <= value <= high:
        raise PrunerError(f"{name} must be a number in [{low:g}, {high:g}], got {value!r}")
    return float(value)


@dataclass(frozen=True)
class TrialReports:
    """One trial as a pruner sees it: its number, its state (RUNNING while in flight) and the
    intermediate values it reported, by step."""

    number: int
    state: TrialState
    steps: Mapping[int, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "state", TrialState(self.state))
        object.__setattr__(self, "steps", MappingProxyType(dict(self.steps)))

    @property
    def last_step(self) -> int | None:
        """The largest reported step (None before the first report)."""
        return max(self.steps) if self.steps else None

    def value_at(self, resource: int) -> float | None:
        """The value reported at the first step ``>= resource`` (None if it never got there).

        This is the value a trial brings to a rung placed at ``resource``.
        """
        reached = [s for s in self.steps if s >= resource]
        return self.steps[min(reached)] if reached else None


@dataclass(frozen=True)
class History:
    """Every trial's reports, as seen at one moment, plus the study's direction.

    ``asked`` is None while the study may still ask trials; once it will ask no more, it is how
    many it asked (``closed`` is then True): a trial numbered below it was asked and comes even
    if it has not reported yet (a worker still starting it); one numbered at or above it never
    comes, so synchronous schedules stop waiting for it.
    """

    direction: Direction
    trials: Mapping[int, TrialReports]
    asked: int | None = None

    @property
    def closed(self) -> bool:
        """True once the study will ask no more trials."""
        return self.asked is not None

    def __post_init__(self) -> None:
        object.__setattr__(self, "direction", Direction.parse(self.direction))
        object.__setattr__(self, "trials", MappingProxyType(dict(self.trials)))

    def completed(self) -> list[TrialReports]:
        """The COMPLETE trials, by number."""
        return [t for _, t in sorted(self.trials.items()) if t.state is TrialState.COMPLETE]

    def loss(self, value: float) -> float:
        """``value`` turned into a loss (lower is better) under the study's direction."""
        return value if self.direction is Direction.MINIMIZE else -value

    def trial(self, number: int) -> TrialReports:
        """The reports of trial ``number`` (a PrunerError if the history does not hold it)."""
        try:
            return self.trials[number]
        except KeyError:
            raise PrunerError(f"trial {number} is not in the pruning history") from None


class Pruner(abc.ABC):
    """Base class of every pruner.

    Subclasses implement :meth:`should_prune`. A multi-fidelity schedule also implements
    :meth:`budgets` (the resources at which a ``budget`` objective is evaluated). A synchronous
    schedule sets :attr:`cohort` to the number of trials that must run side by side, and may
    answer None ("not decidable yet: wait for the others").
    """

    #: Trials that must run concurrently for the schedule to make progress (1: none).
    cohort: int = 1

    @abc.abstractmethod
    def should_prune(self, number: int, history: History) -> bool | None:
        """Whether trial ``number`` should stop now, given the reports in ``history``.

        The decision is about the trial's latest reported step. None means "wait": only
        synchronous schedules return it, and the trial handle polls until it gets a bool.
        """

    def budgets(self, number: int) -> Sequence[int]:
        """The increasing resources at which a ``budget`` objective is called for trial
        ``number``; the last one is the full resource."""
        raise PrunerError(
            f"{type(self).__name__} has no resource schedule, so it cannot drive an objective "
            "that takes a budget; give it max_resource, or report steps from the objective"
        )

    def __repr__(self) -> str:
        knobs = ", ".join(f"{k}={v!r}" for k, v in vars(self).items() if not k.startswith("_"))
        return f"{type(self).__name__}({knobs})"

