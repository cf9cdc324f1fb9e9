"""Channels: how every trial's intermediate values reach every worker's ``should_prune()`` live.

A channel holds the reports (trial number, step, value) of every trial of a study and the state
of each finished trial. Workers publish their reports and read everyone's; the study (the
driver) records how each trial ended, and reads the new reports to pass them to the backend.

- :class:`LocalChannel`: a dict under a lock, for the inline executor and threads.
- :class:`ManagerChannel`: dicts held by a ``multiprocessing.Manager`` server process; its
  proxies travel to ``ProcessPoolExecutor`` workers (or any executor whose workers run on this
  machine) inside the trial handle.
- :class:`DaskChannel`: the Dask scheduler's metadata store (``Client.set_metadata`` /
  ``get_metadata``); a worker reaches it through ``distributed.get_client()``, so it works on any
  cluster the executor's client is connected to.

:func:`channel_for` picks one from the executor. Every read is a fresh snapshot: a worker sees
the reports that other trials have published up to the moment it asks.
"""

from __future__ import annotations

import abc
import threading
import uuid
from collections.abc import Iterable
from concurrent.futures import Executor, ProcessPoolExecutor, ThreadPoolExecutor
from typing import Any

from unitune.pruners.base import History, PrunerError, TrialReports
from unitune.trial import Direction, Trial, TrialState

__all__ = ["Channel", "DaskChannel", "LocalChannel", "ManagerChannel", "channel_for"]

_CLOSED = -1  # the state key that says the study asks no more trials


class Channel(abc.ABC):
    """Shared reports of one study's trials."""

    @abc.abstractmethod
    def publish(self, number: int, step: int, value: float) -> None:
        """Record trial ``number``'s value at ``step`` (worker side)."""

    @abc.abstractmethod
    def _snapshot(self) -> tuple[dict[tuple[int, int], float], dict[int, str]]:
        """All reports by ``(number, step)`` and the finished states by number."""

    @abc.abstractmethod
    def _set_state(self, number: int, state: str) -> None:
        """Record a finished state (driver side)."""

    @abc.abstractmethod
    def _replace(self, number: int, steps: dict[int, float]) -> None:
        """Make ``steps`` the whole of trial ``number``'s reports."""

    def finish(self, trial: Trial) -> None:
        """Record a finished trial: its record's reports replace whatever the channel held for it
        (a dead attempt's reports included), then its state."""
        self._replace(trial.number, dict(trial.intermediate))
        self._set_state(trial.number, trial.state.value)

    def load(self, trials: Iterable[Trial]) -> None:
        """Seed the channel with a study's finished trials (resume, a new executor)."""
        for trial in trials:
            self.finish(trial)

    def close(self, asked: int) -> None:
        """Say that the study asks no more trials than the ``asked`` it has (synchronous schedules
        stop waiting for others)."""
        self._set_state(_CLOSED, str(asked))

    def history(self, direction: Direction | str, own: TrialReports | None = None) -> History:
        """A snapshot of every trial, with ``own`` (the asking trial's local view) in place of
        what the channel holds for that trial."""
        reports, states = self._snapshot()
        steps: dict[int, dict[int, float]] = {}
        for (number, step), value in reports.items():
            steps.setdefault(number, {})[step] = value
        asked = states.pop(_CLOSED, None)
        trials = {n: TrialReports(n, TrialState(states.get(n, "running")), s) for n, s in steps.items()}
        for number, state in states.items():
            trials.setdefault(number, TrialReports(number, TrialState(state), {}))
        if own is not None:  # the asking trial's own view (a retried trial starts afresh)
            trials[own.number] = own
        return History(direction, trials, None if asked is None else int(asked))

    def new_reports(self, seen: set[tuple[int, int]]) -> list[tuple[int, int, float]]:
        """Reports not in ``seen`` (which is updated), as ``(number, step, value)`` in order."""
        reports, _ = self._snapshot()
        fresh = sorted(key for key in reports if key not in seen)
        seen.update(fresh)
        return [(number, step, reports[(number, step)]) for number, step in fresh]

    def shutdown(self) -> None:  # noqa: B027 - optional hook
        """Release what the channel holds (a manager process, scheduler metadata)."""


class LocalChannel(Channel):
    """Reports in this process: the inline executor and thread pools.

    Each trial's :class:`TrialReports` is kept between snapshots and rebuilt only when that
    trial reports or ends, so a snapshot costs one entry per trial, not one per report.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._steps: dict[int, dict[int, float]] = {}
        self._states: dict[int, str] = {}
        self._views: dict[int, TrialReports] = {}

    def publish(self, number: int, step: int, value: float) -> None:
        with self._lock:
            self._steps.setdefault(number, {})[step] = value
            self._views.pop(number, None)

    def _replace(self, number: int, steps: dict[int, float]) -> None:
        with self._lock:
            self._steps[number] = dict(steps)
            self._views.pop(number, None)

    def _set_state(self, number: int, state: str) -> None:
        with self._lock:
            self._states[number] = state
            self._views.pop(number, None)

    def _snapshot(self):
        with self._lock:
            reports = {(n, s): v for n, steps in self._steps.items() for s, v in steps.items()}
            return reports, dict(self._states)

    def history(self, direction: Direction | str, own: TrialReports | None = None) -> History:
        with self._lock:
            asked = self._states.get(_CLOSED)
            for number in self._steps.keys() | self._states.keys() - {_CLOSED}:
                if number not in self._views:
                    state = TrialState(self._states.get(number, "running"))
                    self._views[number] = TrialReports(number, state, self._steps.get(number, {}))
            trials = dict(self._views)
            if own is not None:  # the asking trial's own view (a retried trial starts afresh)
                trials[own.number] = own
        return History(direction, trials, None if asked is None else int(asked))

    def __reduce__(self):
        raise PrunerError("a LocalChannel stays in its process; use a ManagerChannel or DaskChannel")


class ManagerChannel(Channel):
    """Reports kept by a ``multiprocessing.Manager`` server; the proxies pickle into workers of
    this machine (their manager shares this process's authentication key)."""

    def __init__(self, reports: Any = None, states: Any = None, manager: Any = None):
        if reports is None:
            from multiprocessing.managers import SyncManager

            from unitune.execution.orphans import die_with_driver

            manager = SyncManager()
            manager.start(die_with_driver)  # a killed driver leaves no server behind
            reports, states = manager.dict(), manager.dict()
        self._manager, self._reports, self._states = manager, reports, states

    def publish(self, number: int, step: int, value: float) -> None:
        self._reports[(number, step)] = value

    def _replace(self, number: int, steps: dict[int, float]) -> None:
        stale = [k for k in self._reports.keys() if k[0] == number and k[1] not in steps]  # noqa: SIM118 - one round trip to the manager
        for key in stale:
            self._reports.pop(key, None)
        self._reports.update({(number, step): value for step, value in steps.items()})

    def _set_state(self, number: int, state: str) -> None:
        self._states[number] = state

    def _snapshot(self):
        return self._reports.copy(), self._states.copy()

    def __reduce__(self):
        return (ManagerChannel, (self._reports, self._states))

    def shutdown(self) -> None:
        if self._manager is not None:
            self._manager.shutdown()
            self._manager = None


class DaskChannel(Channel):
    """Reports in the Dask scheduler's metadata, under ``["unitune-pruning", <token>, ...]``."""

    def __init__(self, client: Any = None, token: str | None = None):
        self._client = client
        self.token = token or uuid.uuid4().hex

    def _get_client(self) -> Any:
        if self._client is None:  # on a worker
            from distributed import get_client

            self._client = get_client()
        return self._client

    def publish(self, number: int, step: int, value: float) -> None:
        self._get_client().set_metadata(["unitune-pruning", self.token, "r", str(number), str(step)],
                                        float(value))

    def _replace(self, number: int, steps: dict[int, float]) -> None:
        self._get_client().set_metadata(["unitune-pruning", self.token, "r", str(number)],
                                        {str(step): float(value) for step, value in steps.items()})

    def _set_state(self, number: int, state: str) -> None:
        self._get_client().set_metadata(["unitune-pruning", self.token, "s", str(number)], state)

    def _snapshot(self):
        data = self._get_client().get_metadata(["unitune-pruning", self.token], default={}) or {}
        reports = {(int(n), int(s)): v for n, by_step in data.get("r", {}).items()
                   for s, v in by_step.items()}
        states = {int(n): state for n, state in data.get("s", {}).items()}
        return reports, states

    def __reduce__(self):
        return (DaskChannel, (None, self.token))

    def shutdown(self) -> None:
        client = self._client
        if client is not None and client.status == "running":
            client.run_on_scheduler(_drop_metadata, self.token)


def _drop_metadata(token: str, dask_scheduler: Any = None) -> None:
    dask_scheduler.task_metadata.get("unitune-pruning", {}).pop(token, None)


def channel_for(executor: Executor | str | None) -> Channel:
    """The channel that reaches ``executor``'s workers (see the module docstring); the
    ``"processes"`` pool that unitune owns gets a ManagerChannel."""
    if executor is None or isinstance(executor, ThreadPoolExecutor):
        return LocalChannel()
    if type(executor).__module__.startswith("distributed"):
        client = getattr(executor, "_client", None)
        if client is None:
            from distributed import get_client

            client = get_client()
        return DaskChannel(client)
    if isinstance(executor, ProcessPoolExecutor):
        return ManagerChannel()
    return ManagerChannel()  # any other executor: assumed to run its workers on this machine
