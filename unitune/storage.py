"""Where finished trials are kept. The store is the study's single source of truth."""

from __future__ import annotations

from collections.abc import Sequence

from unitune.trial import Trial

__all__ = ["InMemoryStorage", "Storage"]


class Storage:
    """Append-only store of finished trials; subclasses may persist them."""

    def append(self, trial: Trial) -> None:
        """Keep one finished trial."""
        raise NotImplementedError

    def trials(self) -> Sequence[Trial]:
        """Every kept trial, in the order it finished."""
        raise NotImplementedError


class InMemoryStorage(Storage):
    """Trials in a Python list (the default)."""

    def __init__(self) -> None:
        self._trials: list[Trial] = []

    def append(self, trial: Trial) -> None:
        self._trials.append(trial)

    def trials(self) -> Sequence[Trial]:
        return tuple(self._trials)

    def __len__(self) -> int:
        return len(self._trials)
