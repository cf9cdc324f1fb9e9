"""The link between one :class:`unitune.Study` and its store: create or resume the named study,
check it is the same study, take its lease, and write its trials from start to finish.
"""

from __future__ import annotations

import json
import logging
import os
from collections import deque
from collections.abc import Mapping, Sequence
from typing import Any

from unitune.storage import codec
from unitune.storage.base import (
    Storage,
    StorageError,
    StudyExistsError,
    StudyInfo,
    StudyLeaseError,
    StudyMismatchError,
    TrialStart,
    check_same,
)
from unitune.storage.sqlite import SQLiteStorage
from unitune.trial import Trial, TrialState

__all__ = ["DEFAULT_STUDY_NAME", "StudyStore"]

logger = logging.getLogger("unitune")

DEFAULT_STUDY_NAME = "default"
_RESUMED = "the driver stopped before this trial finished (found RUNNING when the study was resumed)"


def _json(value: Any) -> Any:
    """What ``value`` reads back as after a trip through the store."""
    return json.loads(codec.dumps(value))


class StudyStore:
    """One study's view of a :class:`Storage`; the study writes through it and holds its lease.

    Args:
        storage: None (in memory), a Storage, a file path or a ``sqlite:///`` URL.
        name: the study's name in the store (``"default"`` when None).
        resume: continue the stored study of that name (created when missing); without it, an
            existing name is an error.
        allow_backend_change: on resume, accept another backend (or backend options) than the
            stored one and record the switch; otherwise that is an error.
    """

    def __init__(self, storage: Storage | str | os.PathLike[str] | None, name: str | None, *,
                 space: Mapping[str, Any], backend: str, backend_options: Mapping[str, Any],
                 seed: int | None, directions: Sequence[str], metric: Sequence[str] | None,
                 resume: bool = False, allow_backend_change: bool = False):
        from unitune.storage import open_storage

        if name is not None and (not isinstance(name, str) or not name):
            raise StorageError(f"study_name must be a non-empty string, got {name!r}")
        self.owned = not isinstance(storage, Storage) and storage is not None
        self.storage = open_storage(storage)
        #: True when the trials outlive the process (read at every ask: an attribute, not a
        #: property; a reopened store in drive() is of the same kind).
        self.durable: bool = self.storage.durable
        self.name = DEFAULT_STUDY_NAME if name is None else name
        try:
            self._open(StudyInfo(self.name, _json(space), backend, seed, tuple(directions),
                                 None if metric is None else tuple(metric), _json(backend_options)),
                       resume, allow_backend_change)
        except BaseException:
            self.close()
            raise

    def _open(self, wanted: StudyInfo, resume: bool, allow_backend_change: bool) -> None:
        store, name = self.storage, self.name
        info = store.load_study(name)
        if info is None:
            store.create_study(wanted)
            store.acquire(name)
        elif not resume:
            raise StudyExistsError(
                f"a study named {name!r} already exists in {store.location}; pass resume=True to "
                "continue it, or choose another study_name"
            )
        else:
            diffs = check_same(info, wanted, store.location)
            if diffs:
                raise StudyMismatchError(
                    f"cannot resume study {name!r} from {store.location}: {'; '.join(diffs)}. Resume "
                    "it with its stored settings, or start a new study_name"
                )
            switched = info.backend != wanted.backend or _json(info.backend_options) != wanted.backend_options
            if switched and not allow_backend_change:
                raise StudyMismatchError(
                    f"study {name!r} in {store.location} ran on backend {info.backend!r} with options "
                    f"{dict(info.backend_options)!r}; this resume asks for {wanted.backend!r} with "
                    f"{dict(wanted.backend_options)!r}. Pass allow_backend_change=True to switch on "
                    "purpose (the switch is recorded and the new backend learns the history by replay)"
                )
            store.acquire(name)  # from here on, this process is the study's only driver
            lost = store.interrupt_running(name, _RESUMED)
            if switched:
                store.change_backend(name, wanted.backend, wanted.backend_options, store.next_number(name))
            if lost:
                logger.warning("study %r: trials %s were running when their driver stopped; they are "
                               "marked interrupted and evaluated again first", name, lost)
        self.trials: list[Trial] = store.trials(name)
        self.next_number = store.next_number(name)
        self.retries: deque[tuple[int, dict[str, Any]]] = deque()
        self.queue_retries()

    def queue_retries(self) -> None:
        """Queue the INTERRUPTED trials not yet evaluated again (they run first)."""
        queued = {number for number, _ in self.retries}
        for trial in self.storage.retries_due(self.name):
            if trial.number not in queued:
                self.retries.append((trial.number, dict(trial.params)))

    def drive(self, next_number: int) -> None:
        """Make sure this process holds the study's lease (taken again after :meth:`close`).

        ``next_number`` is the next trial number of the study object that drives: when the lease
        is taken again and another driver has added trials meanwhile, this object's trials and
        backend are out of date, so it is refused (StudyLeaseError) rather than let it write.
        """
        storage = self.storage
        if not isinstance(storage, SQLiteStorage):
            storage.acquire(self.name)
            return
        if storage.closed:  # reopened here: this binding owns the new connection
            storage = self.storage = SQLiteStorage(storage.path, lease_ttl=storage.lease_ttl,
                                                   timeout=storage.timeout, synchronous=storage.synchronous)
            self.owned = True
        elif storage.holds(self.name):
            return
        storage.acquire(self.name)
        stored = storage.next_number(self.name)
        if stored > next_number:
            if self.owned:
                storage.close()
            else:
                storage.release(self.name)
            raise StudyLeaseError(
                f"study {self.name!r} in {storage.location} was continued by another driver (it now "
                f"has trials up to {stored - 1}; this Study object knows up to {next_number - 1}) "
                "since this one last drove it; open it again with resume=True to continue"
            )

    def start(self, number: int, params: Mapping[str, Any], started_at: float,
              retry_of: int | None = None) -> None:
        """Write the trial as RUNNING."""
        self.storage.start_trial(self.name, number, params, started_at, retry_of)

    def start_many(self, starts: Sequence[TrialStart]) -> None:
        """Write several trials as RUNNING at once: ``(number, params, started_at, retry_of)``."""
        self.storage.start_trials(self.name, starts)

    def finish(self, trial: Trial) -> None:
        """Commit the finished trial (before anyone tells the backend)."""
        self.storage.finish_trial(self.name, trial)
        self.trials.append(trial)

    @property
    def n_finished(self) -> int:
        """Finished trials that count toward a budget (every state but INTERRUPTED)."""
        return sum(1 for t in self.trials if t.state is not TrialState.INTERRUPTED)

    def set_target(self, n_trials: int | None) -> None:
        """Remember the total number of trials asked for (``unitune resume`` reads it)."""
        self.storage.set_target(self.name, n_trials)

    def close(self) -> None:
        """Give the lease back; close the store when this study opened it."""
        storage = getattr(self, "storage", None)
        if storage is None:
            return
        if self.owned:
            storage.close()
        else:
            storage.release(self.name)
