"""The study's side of pruning: which channel a run uses, and what the driver passes on.

A :class:`PruningSession` belongs to one study. It owns the channel of the current run (a local
one between runs and for hand-driven ask/tell; one chosen from the executor during
:meth:`unitune.Study.optimize`), attaches a :class:`PruningLink` to every handle the study
hands out, records finished trials in the channel, and passes reports made in workers on to
``Backend.report`` as the driver sees them.

:class:`BudgetLoop` runs the common loop for objectives that take a ``budget``.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Callable, Container, Sequence
from concurrent.futures import Executor
from typing import Any

from unitune.backend import Backend
from unitune.objective import ResultSpec, TrialPruned, interpret, wants_trial
from unitune.pruners.base import Pruner, PrunerError
from unitune.pruners.channel import Channel, LocalChannel, channel_for
from unitune.pruners.link import PruningLink
from unitune.trial import Direction, Trial

__all__ = ["BudgetLoop", "PruningSession", "takes_budget"]

logger = logging.getLogger("unitune")


class PruningSession:
    """Pruner, channel and backend hook of one study (see the module docstring)."""

    def __init__(self, pruner: Pruner, directions: Sequence[Direction], backend: Backend):
        if len(directions) != 1:
            raise PrunerError(
                f"pruning needs a single-objective study; this one has {len(directions)} directions"
            )
        self.pruner = pruner
        self.direction = directions[0]
        self.backend = backend
        self.channel: Channel = LocalChannel()
        self._seen: set[tuple[int, int]] = set()
        self.link = self._make_link(local=True)

    def _make_link(self, local: bool) -> PruningLink:
        hook = self.backend.report if local else None
        return PruningLink(self.pruner, self.channel, self.direction, hook)

    def silent_link(self) -> PruningLink:
        """A link for a trial the backend did not propose: pruned the same, reports not heard."""
        return PruningLink(self.pruner, self.channel, self.direction)

    def start(self, executor: Executor | str | None, history: Sequence[Trial], batch_size: int) -> None:
        """Before a run: a channel that reaches ``executor``'s workers, seeded with ``history``."""
        if self.pruner.cohort > 1 and (executor is None or batch_size < self.pruner.cohort):
            raise PrunerError(
                f"{self.pruner!r} is synchronous: its cohort of {self.pruner.cohort} trials must run "
                f"side by side, so give an executor with batch_size >= {self.pruner.cohort} (got "
                f"batch_size={batch_size}{'' if executor else ' and no executor'}); for trials run "
                "one at a time use ASHA"
            )
        self.channel = channel_for(executor)
        self.channel.load(history)
        self._seen = set()
        self.channel.new_reports(self._seen)  # the history's reports are not news
        self.link = self._make_link(local=executor is None)

    def close(self, asked: int) -> None:
        """The run asks no more trials than the ``asked`` it has."""
        self.channel.close(asked)

    def forward(self, running: Container[int]) -> None:
        """Pass reports made in workers since the last call to ``Backend.report``, for the trials
        still ``running`` in the study (a trial already recorded, e.g. INTERRUPTED at a timeout
        while its worker goes on, is not the backend's to hear about any more)."""
        if self.link.on_report is None:
            for number, step, value in self.channel.new_reports(self._seen):
                if number in running:
                    self.backend.report(number, step, value)

    def finish(self, trial: Trial) -> None:
        """Record a finished trial in the channel (its state; its reports if they were late)."""
        self.channel.finish(trial)

    def stop(self, history: Sequence[Trial]) -> None:
        """After a run: release the run's channel; go back to a local one.

        A channel already gone (a manager killed with the workers, a closed Dask client) is
        logged, not raised, so the run's own outcome (or exception) is what the caller sees.
        """
        try:
            self.channel.shutdown()
        except (OSError, EOFError) as exc:
            logger.warning("pruning channel already closed at the end of the run: %s", exc)
        self.channel = LocalChannel()
        self.channel.load(history)
        self.link = self._make_link(local=True)


def takes_budget(objective: Callable[..., Any]) -> bool:
    """True when the objective has a parameter named ``budget``."""
    try:
        return "budget" in inspect.signature(objective).parameters
    except (TypeError, ValueError):
        return False


class BudgetLoop:
    """Wrap ``objective(params[, trial], budget=...)`` into ``objective(params, trial)``.

    For each resource ``b`` of the pruner's schedule for the trial (increasing; the last is the
    full resource) the objective is called with ``budget=b``; it returns the value after
    training up to a total of ``b`` units (continuing from its previous call when it can). The
    value is reported at ``step=b``; the trial stops PRUNED at the first ``b`` where the pruner
    says so, and the last call's return is the trial's result.
    """

    def __init__(self, objective: Callable[..., Any], spec: ResultSpec):
        self.objective = objective
        self.spec = spec
        self.pass_trial = wants_trial(objective, ignore=("budget",))

    @classmethod
    def checked(cls, objective: Callable[..., Any], spec: ResultSpec, pruner: Pruner | None) -> BudgetLoop:
        """The loop for ``objective``, after checking that ``pruner`` has a schedule to drive it."""
        if pruner is None:
            raise PrunerError(
                "an objective that takes a budget is driven by a pruner's schedule: give the study "
                "pruner=ASHA(max_resource=...) (or another pruner with a schedule)"
            )
        pruner.budgets(0)  # raises PrunerError when the pruner has no resource schedule
        return cls(objective, spec)

    def __call__(self, params: dict[str, Any], trial: Any) -> Any:
        link = getattr(trial, "_link", None)
        if link is None:
            raise PrunerError(
                "an objective that takes a budget is driven by a pruner's schedule: give the study "
                "pruner=ASHA(max_resource=...) (or another pruner with a schedule)"
            )
        budgets = list(link.budgets(trial.number))
        raw = None
        for budget in budgets:
            raw = (self.objective(params, trial, budget=budget) if self.pass_trial
                   else self.objective(params, budget=budget))
            values, _, _ = interpret(raw, self.spec)
            if budget not in trial.intermediate:  # an objective's own report at step b stands
                trial.report(values[0], budget)
            if budget != budgets[-1] and trial.should_prune():
                raise TrialPruned(f"pruned at budget {budget}")
        return raw
