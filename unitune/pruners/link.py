"""The link a trial handle carries when its study prunes: the pruner, the channel, the direction.

It travels with the handle to wherever the objective runs (it pickles; the driver-only hook
that passes reports straight to the backend stays behind), so ``trial.report`` publishes to the
channel and ``trial.should_prune`` asks the pruner about a fresh snapshot of every trial.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence

from unitune.pruners.base import Pruner, TrialReports
from unitune.pruners.channel import Channel
from unitune.trial import Direction, TrialState

__all__ = ["PruningLink"]

#: Seconds between two looks at the channel while a synchronous schedule says "wait".
POLL_SECONDS = 0.02


class PruningLink:
    """Pruner + channel + direction for one study run; see the module docstring."""

    __slots__ = ("channel", "direction", "on_report", "pruner")

    def __init__(self, pruner: Pruner, channel: Channel, direction: Direction,
                 on_report: Callable[[int, int, float], None] | None = None):
        self.pruner = pruner
        self.channel = channel
        self.direction = direction
        self.on_report = on_report

    def __reduce__(self):
        return (PruningLink, (self.pruner, self.channel, self.direction))

    def report(self, number: int, step: int, value: float) -> None:
        """Publish one report (and hand it to the backend when running in the driver)."""
        self.channel.publish(number, step, value)
        if self.on_report is not None:
            self.on_report(number, step, value)

    def should_prune(self, number: int, steps: Mapping[int, float]) -> bool:
        """The pruner's decision on a fresh snapshot; waits while a synchronous schedule says so."""
        own = TrialReports(number, TrialState.RUNNING, steps)
        while True:
            decision = self.pruner.should_prune(number, self.channel.history(self.direction, own))
            if decision is not None:
                return bool(decision)
            time.sleep(POLL_SECONDS)

    def budgets(self, number: int) -> Sequence[int]:
        """The resources at which a ``budget`` objective is called for trial ``number``."""
        return self.pruner.budgets(number)
