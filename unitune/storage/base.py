"""The store interface: named studies, their trials from start to finish, and who drives them.

A :class:`Storage` holds any number of named studies. The study loop writes a trial as RUNNING
(with its parameters) when it starts, and commits the finished record before the backend hears
of it, so the store is the single source of truth a resumed study is rebuilt from.
"""

from __future__ import annotations

import abc
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from unitune.errors import UnituneError
from unitune.trial import Trial, TrialState

__all__ = [
    "BackendChange",
    "InMemoryStorage",
    "Storage",
    "StorageError",
    "StudyExistsError",
    "StudyInfo",
    "StudyLeaseError",
    "StudyMismatchError",
    "StudyNotFoundError",
    "TrialStart",
]

#: One starting trial for :meth:`Storage.start_trials`: ``(number, params, started_at, retry_of)``.
TrialStart = tuple[int, Mapping[str, Any], float, int | None]


class StorageError(UnituneError):
    """A store cannot be opened, read or written (damaged, read-only, locked, too new, ...)."""


class StudyExistsError(StorageError):
    """A study of that name already exists and ``resume`` was not asked for."""


class StudyNotFoundError(StorageError, LookupError):
    """No study of that name is in the store."""


class StudyMismatchError(StorageError):
    """A resumed study was given another space, backend, seed, direction or metric than stored."""


class StudyLeaseError(StorageError):
    """Another driver holds the study (or took it over after this one stalled)."""


@dataclass(frozen=True)
class StudyInfo:
    """What identifies a study in a store. ``space`` is :meth:`Space.to_dict` output."""

    name: str
    space: Mapping[str, Any]
    backend: str
    seed: int | None = None
    directions: tuple[str, ...] = ("minimize",)
    metric: tuple[str, ...] | None = None
    backend_options: Mapping[str, Any] = field(default_factory=dict)
    created_at: float = field(default_factory=time.time)
    n_trials: int | None = None  # the total a one-call run was asked for (read by `unitune resume`)


@dataclass(frozen=True)
class BackendChange:
    """A deliberate switch of backend, recorded when a resumed study runs on another one."""

    at_number: int
    old_backend: str
    new_backend: str
    old_options: Mapping[str, Any]
    new_options: Mapping[str, Any]
    changed_at: float


class Storage(abc.ABC):
    """Named studies and their trials. In memory (:class:`InMemoryStorage`) or durable
    (:class:`unitune.storage.SQLiteStorage`).

    One driver at a time writes a study: it takes the study's lease with :meth:`acquire`
    and gives it back with :meth:`release`.
    """

    #: True when the trials outlive the process.
    durable: bool = False

    @property
    def location(self) -> str:
        """Where the store lives, for messages."""
        return "memory"

    # Studies.
    @abc.abstractmethod
    def create_study(self, info: StudyInfo) -> None:
        """Add a new study (StudyExistsError when the name is taken)."""

    @abc.abstractmethod
    def load_study(self, name: str) -> StudyInfo | None:
        """The study of that name, or None."""

    @abc.abstractmethod
    def study_names(self) -> list[str]:
        """Every study in the store, oldest first."""

    @abc.abstractmethod
    def set_target(self, name: str, n_trials: int | None) -> None:
        """Remember the total number of trials a run of the study was asked for."""

    @abc.abstractmethod
    def change_backend(self, name: str, backend: str, options: Mapping[str, Any], at_number: int) -> None:
        """Record a deliberate switch of the study to another backend (or backend options)."""

    @abc.abstractmethod
    def backend_changes(self, name: str) -> list[BackendChange]:
        """Every recorded backend switch of the study, oldest first."""

    # Trials.
    @abc.abstractmethod
    def start_trial(self, name: str, number: int, params: Mapping[str, Any], started_at: float,
                    retry_of: int | None = None) -> None:
        """Write a trial as RUNNING with its parameters (``retry_of``: the interrupted trial it
        evaluates again)."""

    def start_trials(self, name: str, starts: Sequence[TrialStart]) -> None:
        """Write several starting trials as RUNNING (one transaction in a durable store)."""
        for number, params, started_at, retry_of in starts:
            self.start_trial(name, number, params, started_at, retry_of)

    @abc.abstractmethod
    def finish_trial(self, name: str, trial: Trial) -> bool:
        """Commit a finished trial (started or not). A trial that is already finished is kept as
        it is and False is returned: a result that arrives twice is stored once."""

    @abc.abstractmethod
    def trials(self, name: str, *, running: bool = False) -> list[Trial]:
        """The study's finished trials in the order they finished (then the RUNNING ones, in
        number order, when ``running``)."""

    @abc.abstractmethod
    def interrupt_running(self, name: str, reason: str) -> list[int]:
        """Mark every RUNNING trial INTERRUPTED (their driver is gone); return their numbers."""

    @abc.abstractmethod
    def retries_due(self, name: str) -> list[Trial]:
        """INTERRUPTED trials not yet started again, in number order."""

    def next_number(self, name: str) -> int:
        """One more than the highest trial number used so far (0 for an empty study)."""
        numbers = [t.number for t in self.trials(name, running=True)]
        return max(numbers, default=-1) + 1

    # Leases.
    def acquire(self, name: str) -> None:  # noqa: B027 - a store for one process needs no lease
        """Become the study's only driver (StudyLeaseError when another one is alive)."""

    def release(self, name: str) -> None:  # noqa: B027
        """Stop driving the study."""

    def close(self) -> None:  # noqa: B027
        """Release every lease and resource; the default does nothing."""

    def __enter__(self) -> Storage:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


@dataclass
class _MemoryStudy:
    info: StudyInfo
    finished: list[Trial] = field(default_factory=list)
    running: dict[int, tuple[Mapping[str, Any], float]] = field(default_factory=dict)  # params, start
    done: set[int] = field(default_factory=set)
    retried: set[int] = field(default_factory=set)
    changes: list[BackendChange] = field(default_factory=list)
    top: int = -1  # the highest trial number used


class InMemoryStorage(Storage):
    """Studies in Python lists (the default): nothing survives the process."""

    def __init__(self) -> None:
        self._studies: dict[str, _MemoryStudy] = {}

    def _study(self, name: str) -> _MemoryStudy:
        try:
            return self._studies[name]
        except KeyError:
            raise StudyNotFoundError(f"no study named {name!r} in {self.location}") from None

    def create_study(self, info: StudyInfo) -> None:
        if info.name in self._studies:
            raise StudyExistsError(f"a study named {info.name!r} already exists in {self.location}")
        self._studies[info.name] = _MemoryStudy(info)

    def load_study(self, name: str) -> StudyInfo | None:
        study = self._studies.get(name)
        return None if study is None else study.info

    def study_names(self) -> list[str]:
        return list(self._studies)

    def set_target(self, name: str, n_trials: int | None) -> None:
        study = self._study(name)
        study.info = replace(study.info, n_trials=n_trials)

    def change_backend(self, name: str, backend: str, options: Mapping[str, Any], at_number: int) -> None:
        study = self._study(name)
        study.changes.append(BackendChange(at_number, study.info.backend, backend,
                                           dict(study.info.backend_options), dict(options), time.time()))
        study.info = replace(study.info, backend=backend, backend_options=dict(options))

    def backend_changes(self, name: str) -> list[BackendChange]:
        return list(self._study(name).changes)

    def start_trial(self, name: str, number: int, params: Mapping[str, Any], started_at: float,
                    retry_of: int | None = None) -> None:
        study = self._studies.get(name) or self._study(name)  # (one call fewer on every trial)
        if number in study.running or number in study.done:
            raise StorageError(f"study {name!r}: trial {number} was already started")
        study.running[number] = (params, started_at)
        if number > study.top:
            study.top = number
        if retry_of is not None:
            study.retried.add(retry_of)

    def finish_trial(self, name: str, trial: Trial) -> bool:
        study = self._studies.get(name) or self._study(name)  # (one call fewer on every trial)
        number = trial.number
        if number in study.done:
            return False
        study.running.pop(number, None)
        study.done.add(number)
        study.finished.append(trial)
        if number > study.top:
            study.top = number
        return True

    def trials(self, name: str, *, running: bool = False) -> list[Trial]:
        study = self._study(name)
        if not running:
            return list(study.finished)
        return study.finished + [Trial(n, study.running[n][0], TrialState.RUNNING,
                                       started_at=study.running[n][1]) for n in sorted(study.running)]

    def interrupt_running(self, name: str, reason: str) -> list[int]:
        study = self._study(name)
        numbers = sorted(study.running)
        now = time.time()
        for number in numbers:
            params, started_at = study.running[number]
            self.finish_trial(name, Trial(number, params, TrialState.INTERRUPTED, failure=reason,
                                          started_at=started_at, finished_at=now))
        return numbers

    def retries_due(self, name: str) -> list[Trial]:
        study = self._study(name)
        return sorted((t for t in study.finished
                       if t.state is TrialState.INTERRUPTED and t.number not in study.retried),
                      key=lambda t: t.number)

    def next_number(self, name: str) -> int:
        return self._study(name).top + 1

    def acquire(self, name: str) -> None:
        self._study(name)

    def __len__(self) -> int:
        return sum(len(s.finished) for s in self._studies.values())


def check_same(info: StudyInfo, wanted: StudyInfo, location: str) -> list[str]:
    """The differences between a stored study and the one a resume asks for, as sentences."""
    diffs = []
    if dict(info.space) != dict(wanted.space):
        diffs.append(f"the space differs ({_space_diff(info.space, wanted.space)})")
    if info.seed != wanted.seed:
        diffs.append(f"the seed differs (stored {info.seed!r}, given {wanted.seed!r})")
    if tuple(info.directions) != tuple(wanted.directions):
        diffs.append(f"the directions differ (stored {list(info.directions)}, "
                     f"given {list(wanted.directions)})")
    if (None if info.metric is None else tuple(info.metric)) != (
            None if wanted.metric is None else tuple(wanted.metric)):
        diffs.append(f"the metric differs (stored {info.metric!r}, given {wanted.metric!r})")
    return diffs


def _space_diff(stored: Mapping[str, Any], given: Mapping[str, Any]) -> str:
    """Parameter by parameter, what differs between two spaces' dict forms."""
    parts = [f"{name!r} only in the stored space" for name in stored if name not in given]
    parts += [f"{name!r} only in the given space" for name in given if name not in stored]
    parts += [f"{name!r} stored {_short(stored[name])}, given {_short(given[name])}"
              for name in stored if name in given and stored[name] != given[name]]
    return "; ".join(parts)


def _short(value: Any, limit: int = 160) -> str:
    text = repr(dict(value)) if isinstance(value, Mapping) else repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def as_strings(values: Sequence[str] | None) -> tuple[str, ...] | None:
    """A tuple of strings, or None."""
    return None if values is None else tuple(str(v) for v in values)
