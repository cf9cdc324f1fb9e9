"""Successive halving, its asynchronous form (ASHA) and Hyperband, as stopping rules.

Rungs sit on the resource scale of the reported steps. With minimum resource ``r``, reduction
factor ``eta`` and early-stopping rate ``s``, rung ``k`` is at resource ``r * eta**(s + k)``.
The value a trial brings to a rung is the value it reported at the first step at or beyond the
rung's resource.

- :class:`SuccessiveHalving` (Jamieson & Talwalkar 2016, the inner loop of Li et al. 2018):
  synchronous. Trials come in cohorts of ``n_configs`` consecutive trial numbers; at rung ``k``
  the top ``floor(n_k / eta)`` of the ``n_k`` cohort trials that reached the rung go on
  (at least one), the rest are pruned. A trial at a rung waits until every trial of its cohort
  has reached the rung or ended, so the cohort must run side by side (``batch_size >=
  n_configs``).
- :class:`ASHA` (Li et al. 2020): asynchronous. A trial reaching rung ``k`` goes on when its
  value is among the top ``floor(n / eta)`` of the ``n`` values recorded at that rung so far,
  itself included; while fewer than ``eta`` trials have reached the rung it goes on only if it
  is the best there (the rule Optuna's SuccessiveHalvingPruner applies, since a stopped trial
  cannot be resumed). Each rung is decided once, at the report that crosses it.
- :class:`Hyperband` (Li et al. 2018) in its asynchronous form: brackets ``s = 0 .. s_max`` of
  ASHA with early-stopping rate ``s``; trials are dealt to brackets in proportion to the
  paper's bracket sizes ``n_s = ceil((s_max + 1) / (s_max - s + 1) * eta**(s_max - s))`` and
  compete only within their bracket.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from unitune.pruners.base import History, Pruner, PrunerError, TrialReports, check_int
from unitune.trial import TrialState

__all__ = ["ASHA", "Hyperband", "SuccessiveHalving"]


def _rungs(min_resource: int, eta: int, rate: int, upto: float) -> list[int]:
    """Rung resources ``min_resource * eta**(rate + k)`` strictly below ``upto``."""
    out, resource = [], min_resource * eta**rate
    while resource < upto:
        out.append(resource)
        resource *= eta
    return out


def _crossed(trial: TrialReports, rungs: Sequence[int]) -> list[int]:
    """The rungs crossed by the trial's latest report (decided now, never again)."""
    step = trial.last_step
    if step is None:
        return []
    previous = max((s for s in trial.steps if s != step), default=-1)
    return [r for r in rungs if previous < r <= step]


class ASHA(Pruner):
    """Asynchronous successive halving (Li et al. 2020), as a stopping rule.

    Args:
        min_resource: resource of the first rung (``r``).
        reduction_factor: ``eta``; one trial in ``eta`` goes on at each rung.
        min_early_stopping_rate: ``s``; the first rung is at ``r * eta**s``.
        max_resource: the full resource ``R`` (no rung at or beyond it). Needed only for
            objectives that take a ``budget``.
    """

    def __init__(
        self,
        min_resource: int = 1,
        reduction_factor: int = 3,
        min_early_stopping_rate: int = 0,
        max_resource: int | None = None,
    ):
        self.min_resource = check_int("min_resource", min_resource, 1)
        self.reduction_factor = check_int("reduction_factor", reduction_factor, 2)
        self.min_early_stopping_rate = check_int("min_early_stopping_rate", min_early_stopping_rate, 0)
        self.max_resource = None if max_resource is None else check_int("max_resource", max_resource, 1)
        if self.max_resource is not None and self.max_resource < self.min_resource:
            raise PrunerError(
                f"max_resource ({self.max_resource}) must be at least min_resource ({self.min_resource})"
            )

    def rungs(self, upto: float | None = None) -> list[int]:
        """Rung resources below ``max_resource`` (or below ``upto`` when there is none)."""
        limit = self.max_resource if self.max_resource is not None else upto
        if limit is None:
            raise PrunerError("rungs() needs max_resource or an upper bound")
        return _rungs(self.min_resource, self.reduction_factor, self.min_early_stopping_rate, limit)

    def should_prune(self, number: int, history: History) -> bool:
        """Decide each rung crossed by the latest report (see the module docstring)."""
        trial = history.trial(number)
        if trial.last_step is None:
            return False
        for rung in _crossed(trial, self.rungs(trial.last_step + 1)):
            value = trial.value_at(rung)
            if math.isnan(value):
                return True
            rivals = [t.value_at(rung) for t in history.trials.values() if t.number != number]
            losses = sorted(history.loss(v) for v in rivals if v is not None and not math.isnan(v))
            losses.append(history.loss(value))
            losses.sort()
            keep = max(1, len(losses) // self.reduction_factor)
            if history.loss(value) > losses[keep - 1]:
                return True
        return False

    def budgets(self, number: int) -> Sequence[int]:
        """The rungs, then ``max_resource``."""
        if self.max_resource is None:
            return super().budgets(number)
        return [*self.rungs(), self.max_resource]


class SuccessiveHalving(Pruner):
    """Synchronous successive halving (Jamieson & Talwalkar 2016) over cohorts of trials.

    Args:
        n_configs: the cohort size ``n``: trials ``c*n .. c*n + n - 1`` compete together.
        min_resource: resource of the first rung (``r``).
        reduction_factor: ``eta``.
        max_resource: the full resource; defaults to ``r * eta**floor(log_eta(n))``, where one
            trial of the cohort is left.
    """

    def __init__(
        self,
        n_configs: int,
        min_resource: int = 1,
        reduction_factor: int = 3,
        max_resource: int | None = None,
    ):
        self.n_configs = check_int("n_configs", n_configs, 2)
        self.min_resource = check_int("min_resource", min_resource, 1)
        self.reduction_factor = check_int("reduction_factor", reduction_factor, 2)
        if max_resource is None:
            rounds, left = 0, self.n_configs
            while left // self.reduction_factor >= 1:
                left //= self.reduction_factor
                rounds += 1
            max_resource = self.min_resource * self.reduction_factor**rounds
        self.max_resource = check_int("max_resource", max_resource, self.min_resource)

    @property
    def cohort(self) -> int:  # type: ignore[override]
        """The cohort size: trials that must run side by side."""
        return self.n_configs

    def rungs(self) -> list[int]:
        """Rung resources ``r * eta**k`` below ``max_resource``."""
        return _rungs(self.min_resource, self.reduction_factor, 0, self.max_resource)

    def should_prune(self, number: int, history: History) -> bool | None:
        """Prune unless the trial ranks in its cohort's top ``floor(n_k / eta)`` at each rung it
        crossed; None while some cohort trial has still to reach (or give up) that rung."""
        trial = history.trial(number)
        first = number // self.n_configs * self.n_configs
        for rung in _crossed(trial, self.rungs()):
            value = trial.value_at(rung)
            reached: list[tuple[float, int]] = []
            for member in range(first, first + self.n_configs):
                other = history.trials.get(member)
                if other is None:
                    if history.asked is None or member < history.asked:
                        return None  # not started or not asked yet: it will come
                    continue
                at = other.value_at(rung)
                if at is None:
                    if other.state is TrialState.RUNNING:
                        return None
                    continue  # ended below the rung
                loss = history.loss(at)
                reached.append((math.inf if math.isnan(loss) else loss, member))
            reached.sort()
            keep = max(1, len(reached) // self.reduction_factor)
            if math.isnan(value) or (history.loss(value), number) > reached[keep - 1]:
                return True
        return False

    def budgets(self, number: int) -> Sequence[int]:
        """The rungs, then ``max_resource``."""
        return [*self.rungs(), self.max_resource]


class Hyperband(Pruner):
    """Hyperband (Li et al. 2018) with asynchronous brackets: ASHA per bracket.

    Args:
        min_resource: the smallest resource a trial is given (``r``).
        max_resource: the full resource ``R``.
        reduction_factor: ``eta``.
        n_brackets: use the ``n_brackets`` most aggressive brackets (default: all
            ``s_max + 1``, with ``s_max = floor(log_eta(R / r))``).
    """

    def __init__(
        self,
        min_resource: int = 1,
        max_resource: int = 81,
        reduction_factor: int = 3,
        n_brackets: int | None = None,
    ):
        self.min_resource = check_int("min_resource", min_resource, 1)
        self.max_resource = check_int("max_resource", max_resource, self.min_resource)
        self.reduction_factor = check_int("reduction_factor", reduction_factor, 2)
        s_max, resource = 0, self.min_resource * self.reduction_factor
        while resource <= self.max_resource:
            s_max += 1
            resource *= self.reduction_factor
        self.s_max = s_max
        if n_brackets is None:
            n_brackets = s_max + 1
        self.n_brackets = check_int("n_brackets", n_brackets, 1)
        if self.n_brackets > s_max + 1:
            raise PrunerError(
                f"n_brackets must be at most s_max + 1 = {s_max + 1} for resources "
                f"[{self.min_resource}, {self.max_resource}] and eta={self.reduction_factor}, "
                f"got {n_brackets}"
            )
        eta = self.reduction_factor
        # Bracket with early-stopping rate s runs paper bracket s_max - s.
        self.bracket_sizes = tuple(
            math.ceil((s_max + 1) / (s_max - s + 1) * eta ** (s_max - s)) for s in range(self.n_brackets)
        )
        self._cycle = _deal(self.bracket_sizes)
        self._brackets = tuple(ASHA(self.min_resource, eta, s, self.max_resource)
                               for s in range(self.n_brackets))

    def bracket(self, number: int) -> int:
        """The bracket (early-stopping rate) trial ``number`` belongs to."""
        return self._cycle[number % len(self._cycle)]

    def should_prune(self, number: int, history: History) -> bool:
        """ASHA within the trial's bracket, against the trials of the same bracket only."""
        bracket = self.bracket(number)
        members = {n: t for n, t in history.trials.items() if self.bracket(n) == bracket}
        narrowed = History(history.direction, members, history.asked)
        return self._brackets[bracket].should_prune(number, narrowed)

    def budgets(self, number: int) -> Sequence[int]:
        """The rungs of the trial's bracket, then ``max_resource``."""
        return self._brackets[self.bracket(number)].budgets(number)

    def __repr__(self) -> str:
        return (f"Hyperband(min_resource={self.min_resource}, max_resource={self.max_resource}, "
                f"reduction_factor={self.reduction_factor}, n_brackets={self.n_brackets})")


def _deal(sizes: Sequence[int]) -> tuple[int, ...]:
    """Interleave bracket indices so each appears ``sizes[i]`` times per cycle, spread evenly
    (each next slot goes to the bracket furthest behind its share)."""
    total, counts, order = sum(sizes), [0] * len(sizes), []
    for slot in range(total):
        behind = [(counts[i] - (slot + 1) * sizes[i] / total, i) for i in range(len(sizes))]
        _, pick = min(behind)
        counts[pick] += 1
        order.append(pick)
    return tuple(order)
