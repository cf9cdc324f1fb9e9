"""Where trials run, and what unitune can do there when a trial hangs or its worker dies.

A runner wraps one executor for one :meth:`unitune.Study.optimize` call:

- :class:`OwnedProcessRunner` (``executor="processes"``): a pebble process pool unitune owns.
  A trial past ``trial_timeout`` has its worker killed and replaced; a worker that dies costs
  only the trial it ran (retried); a broken pool is replaced by a fresh one.
- :class:`DaskRunner` (``client.get_executor(pure=False)`` or the ``Client``): Dask re-runs a
  task whose worker died; when it gives up (``KilledWorker``) the trial is retried. A trial past its limit is
  cancelled and its worker restarted through its nanny.
- :class:`PlainRunner` (any other ``concurrent.futures.Executor``): a trial past its limit is
  recorded FAILED, but its worker cannot be stopped; it keeps its slot until the objective
  returns. A broken executor stops the study, as it cannot be replaced.
"""

from __future__ import annotations

import contextlib
import logging
import pickle
import signal
import time
import uuid
from collections.abc import Callable, Iterable
from concurrent.futures import (
    BrokenExecutor,
    CancelledError,
    Executor,
    Future,
    InvalidStateError,
    ProcessPoolExecutor,
)
from dataclasses import dataclass
from typing import Any

from unitune.errors import UnituneError
from unitune.execution.orphans import die_with_driver
from unitune.objective import TrialHandle, ended_trial
from unitune.trial import Trial, TrialState

__all__ = ["DaskRunner", "Lost", "OwnedProcessRunner", "PlainRunner", "Runner", "make_runner"]

logger = logging.getLogger("unitune")

#: Seconds between looks at trials not yet seen started, when the driver times them.
_POLL = 0.2
#: Seconds to wait for a restarted Dask worker to come back.
_RESTART_LIMIT = 30.0
#: Seconds to fetch a finished Dask task's result before the trial counts as lost (and is retried).
_FETCH_LIMIT = 120.0
#: Dask: trials kept queued behind each busy worker thread (see DaskRunner.slots).
_QUEUED_PER_THREAD = 1
#: Dask: seconds between counts of the cluster's workers while trials are in flight (two counts
#: in a row with none give a warning).
_WORKER_LOOK = 60.0
#: Seconds to remove a finished optimize's Dask event topic from the scheduler.
_CLEANUP_LIMIT = 10.0
#: Seconds after that removal until the scheduler removes the topic once more, in case a start
#: event or the subscription itself (sent when optimize began) was still on its way; the client
#: drops the topic's handler twice as late.
_LATE_EVENTS = 30.0


@dataclass(frozen=True)
class Lost:
    """A trial whose worker died or whose executor lost it: it may never have run.

    ``retryable``: running it again may help (unitune owns the pool, or Dask gave up on it);
    otherwise the trial is recorded INTERRUPTED and teaches the backend nothing. ``stops``: no
    trial can run any more (a Dask cluster without workers): the study stops with the reason.
    """

    reason: str
    retryable: bool
    stops: bool = False


class Runner:
    """Submits trials to one executor and reads back what became of them."""

    #: True when a trial past its limit frees its worker (killed, or restarted).
    frees_workers = False
    #: True when trials travel to the workers by pickle (processes; Dask uses cloudpickle).
    pickles = False

    def __init__(self, executor: Any, trial_timeout: float | None = None):
        self.executor = executor
        self.trial_timeout = trial_timeout
        self._submitted: dict[Future, float | None] = {}  # future -> when seen started (monotonic)
        self._zombies: set[Future] = set()  # abandoned trials still holding a worker

    def submit(self, handle: TrialHandle, fn: Callable[..., Trial], *args: Any) -> Future:
        """Start ``fn(*args)`` for ``handle``'s trial; UnituneError when the executor is unusable."""
        try:
            future = self._submit(handle, fn, args)
        except UnituneError:
            raise
        except Exception as exc:  # a broken or shut-down executor: the loop records and stops
            raise UnituneError(
                f"the executor cannot run trials any more ({type(exc).__name__}: {exc}); finished "
                "trials are kept, continue with study.optimize(..., executor=<a working executor>)"
            ) from exc
        if self.trial_timeout is not None and self._enforces_deadlines():
            self._submitted[future] = None  # timed from when it is seen started
        return future

    def _submit(self, handle: TrialHandle, fn: Callable[..., Trial], args: tuple) -> Future:
        return self.executor.submit(fn, *args)

    def check_objective(self, objective: Callable[..., Any]) -> None:
        """Refuse, before any trial is asked, an objective the workers cannot receive."""
        if not self.pickles:
            return
        try:
            pickle.dumps(objective)
        except Exception as exc:  # PicklingError, or TypeError/AttributeError from pickle
            raise UnituneError(
                f"the objective cannot be sent to worker processes ({type(exc).__name__}: {exc}); "
                "define it with def at the top level of a module (not a lambda or a nested "
                "function) and keep unpicklable things (open files, locks, clients) out of it, "
                "or run it inline (executor=None) or in threads"
            ) from exc

    def slots(self, batch_size: int) -> int:
        """How many trials the loop keeps in flight for ``batch_size`` (free-running mode)."""
        return batch_size

    def check_workers(self) -> None:
        """At the start of a run: warn about what will keep trials from running (nothing here)."""

    def _enforces_deadlines(self) -> bool:
        """True when the driver, not the executor, watches ``trial_timeout``."""
        return True

    def outcome(self, future: Future, handle: TrialHandle) -> Trial | Lost:
        """The finished trial a done future holds, or :class:`Lost` when the executor lost it.

        Results are matched to trials by the handle the future was submitted for, never by
        parameters, and the record must carry that handle's trial number.
        """
        self._submitted.pop(future, None)
        try:
            trial = future.result()
        except BaseException as exc:  # raised by the executor or in the worker, not in this thread
            return self._lost(exc, handle)
        if not isinstance(trial, Trial) or trial.number != handle.number:
            reason = f"executor returned {trial!r} for trial {handle.number}"
            return ended_trial(handle, TrialState.FAILED, failure=reason)
        return trial

    def _lost(self, exc: BaseException, handle: TrialHandle) -> Trial | Lost:
        if isinstance(exc, BrokenExecutor):
            return Lost(f"a worker died and the executor broke ({type(exc).__name__}: {exc})", False)
        if _is_pickling_error(exc):  # the objective was checked: its result could not travel back
            return ended_trial(handle, TrialState.FAILED, failure=(
                f"the trial's result could not be sent back from its worker ({type(exc).__name__}: "
                f"{exc}); keep metrics and user attributes picklable"))
        return Lost(f"the executor lost the trial ({type(exc).__name__}: {exc})", False)

    def next_deadline(self) -> float | None:
        """Seconds until the loop must look at driver-watched trial limits again (None: never)."""
        if not self._submitted:
            return None
        if any(start is None for start in self._submitted.values()):
            return _POLL  # some trial has not been seen starting yet: look again soon
        return max(0.0, min(self._submitted.values()) + self.trial_timeout - time.monotonic())

    def overdue(self) -> list[Future]:
        """Futures of trials past ``trial_timeout`` that the driver must end itself.

        A trial is timed from when it is first seen started (checked every ``_POLL`` seconds
        while some trial waits), so one waiting for a free worker is not timed.
        """
        now = time.monotonic()
        waiting = [f for f, start in self._submitted.items() if start is None and not f.done()]
        if waiting:
            for future in self._started(waiting):
                self._submitted[future] = now
        return [f for f, start in self._submitted.items()
                if start is not None and not f.done() and now - start >= self.trial_timeout]

    def _started(self, futures: list[Future]) -> set[Future]:
        """Which of these futures' tasks have started (the executor marked them running)."""
        return {f for f in futures if f.running()}

    def abandon(self, future: Future) -> str:
        """Give up on a trial past its limit; return what happened to its worker."""
        self._submitted.pop(future, None)
        if future.cancel():
            return "it had not started; it was cancelled"
        self._zombies.add(future)
        return ("the executor cannot stop a running task: its worker stays busy until the objective "
                "returns, and that result is discarded")

    def held(self) -> int:
        """Workers still busy with abandoned trials (they count against ``batch_size``)."""
        self._zombies = {f for f in self._zombies if not f.done()}
        return len(self._zombies)

    def stop(self, futures: Iterable[Future]) -> None:
        """The loop ends early: cancel what has not started (and kill what runs, if owned)."""
        for future in futures:
            future.cancel()
            self._submitted.pop(future, None)

    def close(self) -> None:
        """Release what this runner owns (nothing for a user's executor)."""


class PlainRunner(Runner):
    """A user's ``concurrent.futures.Executor``: unitune cannot kill its workers."""

    def __init__(self, executor: Any, trial_timeout: float | None = None):
        super().__init__(executor, trial_timeout)
        self.pickles = isinstance(executor, ProcessPoolExecutor)


class DaskRunner(Runner):
    """A Dask cluster, given as ``client.get_executor(...)`` or as the ``Client`` itself.

    Tasks are submitted through the client with unitune's own keys, and bridged to
    ``concurrent.futures`` futures here: ``ClientExecutor`` can leave a future unresolved
    forever when a finished result is lost with its worker. With ``trial_timeout``, each task
    announces its start (and its worker) as a Dask event the client subscribes to, so the
    driver times it from then and, past its limit, cancels it and restarts that worker through
    its nanny; nothing is polled on the workers. The event topic is this runner's own (two
    studies on one client each have theirs), and :meth:`close` removes it from the scheduler,
    which would otherwise keep every topic's last events for as long as it runs.
    """

    frees_workers = True

    def __init__(self, executor: Any, trial_timeout: float | None = None):
        super().__init__(executor, trial_timeout)
        self.client = getattr(executor, "_client", executor)
        self._options = {"pure": False, **getattr(executor, "_kwargs", {})}
        # our future -> its Dask future, kept: dropping a Dask future releases its task
        self._tasks: dict[Future, Any] = {}
        self._keys: dict[Future, str] = {}
        self._topic: str | None = None
        self._workers: dict[str, str] = {}  # key -> the worker that announced running it (timed trials)
        self._looked_at = time.monotonic()  # when the cluster's workers were last counted
        self._idle_since: float | None = None  # when trials were first seen waiting on no worker
        self._said_idle = False  # that wait was named in a warning
        self._threads: int | None = None  # the cluster's threads when the run started
        if trial_timeout is not None:
            topic = f"unitune-started-{uuid.uuid4().hex[:12]}"
            try:
                self.client.subscribe_topic(topic, self._on_start)
            except Exception as exc:  # a closed client or an unreachable scheduler
                raise UnituneError(
                    f"the Dask cluster cannot be reached ({type(exc).__name__}: {exc}); pass a "
                    "working client or executor"
                ) from exc
            self._topic = topic

    def _on_start(self, event: tuple[float, dict]) -> None:
        """A worker started a timed trial (runs in the client's event-loop thread)."""
        message = event[1]
        self._workers[message["key"]] = message["worker"]

    def _submit(self, handle: TrialHandle, fn: Callable[..., Trial], args: tuple) -> Future:
        key = f"unitune-trial-{handle.number}-{uuid.uuid4().hex[:12]}"
        if self._topic is not None:
            fn, args = _announced, (self._topic, key, fn, *args)
        task = self.client.submit(fn, *args, key=key, **self._options)
        future: Future = Future()
        future.add_done_callback(lambda f: task.cancel() if f.cancelled() else None)
        task.add_done_callback(lambda t: _pass_on(t, future))
        self._tasks[future] = task
        self._keys[future] = key
        return future

    def slots(self, batch_size: int) -> int:
        """``batch_size``, plus one trial queued behind each worker thread when the cluster's
        threads are all in use: a worker then starts its next trial the moment it finishes one,
        instead of idling through the driver's round trip (Dask tells the client, the client
        fetches the result, the study records it, asks the backend, and submits the next task).
        With fewer trials than threads, ``batch_size`` stays the cap on trials running at once.
        """
        threads = self._threads if self._threads is not None else self._count_threads()
        if threads == 0 or batch_size < threads:
            return batch_size
        return max(batch_size, threads + _QUEUED_PER_THREAD * threads)

    def _count_threads(self) -> int:
        """The cluster's worker threads now (UnituneError when it cannot be reached)."""
        try:
            return sum(self.client.nthreads().values())
        except Exception as exc:  # a closed client or an unreachable scheduler
            raise UnituneError(
                f"the Dask cluster cannot be reached ({type(exc).__name__}: {exc}); finished trials "
                "are kept, continue with study.optimize(..., executor=<a working executor>)"
            ) from exc

    def _threads_now(self) -> int | None:
        """The cluster's worker threads now, or None when the scheduler does not answer (logged)."""
        try:
            return self._count_threads()
        except UnituneError as exc:
            logger.debug("could not count the Dask cluster's workers: %s", exc.__cause__)
            return None

    def check_workers(self) -> None:
        """Count the cluster's threads once for the run (``slots`` uses the count); with none,
        warn that trials wait for a worker, and what ends the wait."""
        self._threads = self._count_threads()
        if self._threads:
            return
        logger.warning("the Dask cluster has no workers: trials wait %s", self._until())

    def _until(self) -> str:
        """What ends the wait of trials on a cluster with no workers, as its scheduler is set."""
        setting = "the scheduler's distributed.scheduler.no-workers-timeout"
        try:
            timeout = self.client.run_on_scheduler(_no_workers_timeout(), callback_timeout=_CLEANUP_LIMIT)
        except Exception as exc:  # a scheduler refusing to run functions: say both cases
            logger.debug("could not read the Dask scheduler's no-workers-timeout: %s", exc)
            return f"until one joins, unless {setting} is set: past it they fail and the study stops"
        if timeout is None:
            return f"until one joins (set {setting} to have them fail and the study stop)"
        return f"until one joins, for at most {timeout:g} s ({setting}): then they fail and the study stops"

    def next_deadline(self) -> float | None:
        """As for any runner, and while trials are in flight, the next look at the workers."""
        limit = super().next_deadline()
        if not self._tasks:
            return limit
        look = max(0.0, self._looked_at + _WORKER_LOOK - time.monotonic())
        return look if limit is None else min(limit, look)

    def overdue(self) -> list[Future]:
        self._watch_workers()
        return super().overdue()

    def _watch_workers(self) -> None:
        """Every ``_WORKER_LOOK`` seconds while trials are in flight, count the cluster's
        workers; when two counts in a row find none, warn (once per outage) that the trials
        wait, and what ends the wait: a cluster that lost every worker would otherwise wait in
        silence. (Counts a minute apart see an outage one to two minutes after it began.)"""
        now = time.monotonic()
        if not self._tasks:
            self._idle_since, self._said_idle = None, False
            return
        if now - self._looked_at < _WORKER_LOOK:
            return
        self._looked_at = now
        threads = self._threads_now()
        if threads is None:  # the scheduler did not answer: look again later
            return
        if threads:
            self._idle_since, self._said_idle = None, False
        elif self._idle_since is None:
            self._idle_since = now
        elif not self._said_idle and now - self._idle_since >= _WORKER_LOOK:
            self._said_idle = True
            logger.warning("the Dask cluster had no workers at two counts %.0f s apart; %d trial(s) wait %s",
                           now - self._idle_since, len(self._tasks), self._until())

    def _forget(self, future: Future) -> str | None:
        task = self._tasks.pop(future, None)
        if task is not None:  # the key is no longer wanted, whoever still holds the Dask future:
            task.release()  # otherwise Dask would compute a lost result again for nobody
        key = self._keys.pop(future, None)
        self._workers.pop(key, None)
        return key

    def outcome(self, future: Future, handle: TrialHandle) -> Trial | Lost:
        self._forget(future)
        return super().outcome(future, handle)

    def _lost(self, exc: BaseException, handle: TrialHandle) -> Trial | Lost:
        if type(exc).__name__ == "KilledWorker":  # Dask ran it on workers that died, then gave up
            return Lost(f"its Dask worker died while running it ({exc})", True)
        if self._no_worker_at_all(exc):  # the scheduler's no-workers-timeout passed without a worker
            return Lost(f"the Dask cluster had no workers to run it ({exc})", False, stops=True)
        if isinstance(exc, (_ResultLost, _CancelledElsewhere)):
            return Lost(str(exc), True)
        return super()._lost(exc, handle)

    def _no_worker_at_all(self, exc: BaseException) -> bool:
        """True for the error Dask's scheduler fails a task with when its no-workers-timeout
        passed without a worker: ``NoWorkerError``, or ``NoValidWorkerError`` (a task held
        unrunnable: task queuing off, or restrictions) while the cluster has no threads."""
        name = type(exc).__name__
        if name != "NoValidWorkerError":
            return name == "NoWorkerError"
        return self._threads_now() == 0  # (None: the scheduler did not answer, not known empty)

    def _started(self, futures: list[Future]) -> set[Future]:
        """Tasks whose start a worker announced (queued ones, waiting for a thread, a free
        worker or a restart, are not timed yet)."""
        return {f for f in futures if self._keys.get(f) in self._workers}

    def abandon(self, future: Future) -> str:
        self._submitted.pop(future, None)
        key = self._keys.get(future)
        worker = self._workers.get(key) if key is not None else None
        self._forget(future)
        future.cancel()  # releases the key: Dask will not run it again elsewhere
        if worker is None:
            return "its Dask task was cancelled (it was not running on any worker)"
        try:
            status = self.client.restart_workers([worker], timeout=_RESTART_LIMIT, raise_for_error=False)
        except Exception as exc:  # no nanny, or an old distributed: say so, keep going
            logger.warning("could not restart Dask worker %s: %s", worker, exc)
            return (f"its Dask task was cancelled, but worker {worker} could not be restarted "
                    f"({type(exc).__name__}: {exc}) and stays busy until the objective returns")
        return f"its Dask task was cancelled and worker {worker} restarted ({status.get(worker, '?')})"

    def stop(self, futures: Iterable[Future]) -> None:
        futures = list(futures)
        super().stop(futures)
        for future in futures:
            self._forget(future)

    def close(self) -> None:
        """Remove this runner's event topic from the scheduler (the subscription with it).

        ``Client.unsubscribe_topic`` alone would leave the topic and its last events on the
        scheduler for as long as it runs (one topic per ``optimize`` call), and this runner
        in the client's event handlers. A failure is logged, never raised: the study is done.
        """
        if self._topic is None:
            return
        topic, self._topic = self._topic, None
        if getattr(self.client, "status", None) in ("closing", "closed"):  # nothing to reach
            logger.debug("Dask event topic %s not removed from the scheduler: the client is %s",
                         topic, self.client.status)
            return
        try:
            problem = self.client.run_on_scheduler(_remove_topic, topic, _LATE_EVENTS,
                                                   callback_timeout=_CLEANUP_LIMIT)
        except Exception as exc:  # an unreachable scheduler, or one refusing to run functions
            problem = f"{type(exc).__name__}: {exc}"
            try:  # at least stop the events coming to this client
                self.client.unsubscribe_topic(topic)
            except Exception as unsubscribe_exc:  # the client broke too
                logger.debug("could not unsubscribe from Dask topic %s: %s", topic, unsubscribe_exc)
        if problem:
            logger.warning("could not remove Dask event topic %s from the scheduler (%s); it keeps "
                           "the topic's last events until it restarts", topic, problem)
        self._drop_handler(topic)

    def _drop_handler(self, topic: str) -> None:
        """Forget our handler in the client once events already sent have arrived: a late one
        finding no handler makes the client log an error (``Client.unsubscribe_topic`` keeps
        handlers, and through this one the runner)."""
        handlers = getattr(self.client, "_event_handlers", None)
        if not isinstance(handlers, dict):  # another distributed: it keeps its handler
            return
        try:
            loop = self.client.loop
            loop.add_callback(loop.call_later, 2 * _LATE_EVENTS, handlers.pop, topic, None)
        except Exception as exc:  # the client's loop is gone: so are its handlers
            logger.debug("could not drop the client's handler of Dask topic %s: %s", topic, exc)


def _topic_remover() -> Callable[..., str | None]:
    """The function ``close`` runs on the Dask scheduler. Made here, not at module level, so
    that it travels by value: the scheduler's machine need not have unitune installed.

    ``remove(topic, later)`` deletes ``topic`` (its events, count and subscribers) from the
    scheduler's state, and once more ``later`` seconds on, in case the client's subscription
    (an optimize that ended at once) or a task that started as optimize stopped reached the
    scheduler after the first removal, and made the topic again. Dask has no public call for
    this; the state is read as distributed keeps it: a ``Broker`` of topics (since mid-2024), or
    ``events``, ``event_counts`` and ``event_subscriber`` tables (before). Returns None, or
    what went wrong.
    """

    def remove(topic: str, later: float | None = None, dask_scheduler: Any = None) -> str | None:
        def drop() -> bool:
            broker = getattr(dask_scheduler, "_broker", None)
            tables = [getattr(broker, "_topics", None)]
            tables += [getattr(dask_scheduler, name, None)
                       for name in ("events", "event_counts", "event_subscriber")]
            tables = [table for table in tables if isinstance(table, dict)]
            for table in tables:
                table.pop(topic, None)
            return bool(tables)

        if not drop():
            return "this version of distributed keeps its events where unitune does not look"
        if later:
            import asyncio

            try:
                loop = asyncio.get_running_loop()
            except RuntimeError:  # not run by the scheduler's event loop: no second sweep
                return None
            loop.call_later(later, drop)
        return None

    return remove


_remove_topic = _topic_remover()


def _no_workers_timeout() -> Callable[..., float | None]:
    """The function :meth:`DaskRunner.check_workers` runs on the scheduler: its
    no-workers-timeout in seconds, or None. Made here so that it travels by value (the
    scheduler's machine need not have unitune installed)."""

    def read(dask_scheduler: Any = None) -> float | None:
        return getattr(dask_scheduler, "no_workers_timeout", None)

    return read


def _announced(topic: str, key: str, fn: Callable[..., Trial], *args: Any) -> Trial:
    """Run on a Dask worker: tell the driver this task starts here, then run it."""
    from distributed import get_worker

    worker = get_worker()
    worker.log_event(topic, {"key": key, "worker": worker.address})
    return fn(*args)


class _ResultLost(Exception):
    """A finished Dask task whose result could not be fetched."""


class _CancelledElsewhere(Exception):
    """A Dask task cancelled by someone else than this runner (``client.restart()``, a cancel
    from another client): the trial may never have run."""


def _pass_on(task: Any, future: Future) -> None:
    """Hand a finished Dask task's outcome to our future (runs in Dask's callback thread)."""
    if future.done():
        return
    try:
        if task.status == "cancelled":  # ours are cancelled through `future` first (seen above)
            raise _CancelledElsewhere(f"Dask cancelled its task {task.key} (a client.restart() or a "
                                      "cancel from elsewhere)")
        try:
            outcome = task.result(timeout=_FETCH_LIMIT)
        except TimeoutError:  # a result lost with its worker, never computed again
            raise _ResultLost(f"its result could not be fetched from Dask within {_FETCH_LIMIT} s "
                              "(lost with its worker)") from None
    except BaseException as exc:  # the worker's failure, a lost worker, a cancelled task
        with contextlib.suppress(InvalidStateError):
            future.set_exception(exc)
        return
    with contextlib.suppress(InvalidStateError):
        future.set_result(outcome)


class OwnedProcessRunner(Runner):
    """A pebble process pool owned by unitune for one ``optimize`` call."""

    frees_workers = True
    pickles = True

    def __init__(self, workers: int, trial_timeout: float | None = None):
        super().__init__(None, trial_timeout)
        try:
            import pebble
        except ImportError as exc:  # pragma: no cover - pebble is a core dependency
            raise ImportError("executor='processes' needs pebble: pip install pebble") from exc
        self._pebble = pebble
        self.workers = workers
        self.executor = self._pool()

    def _pool(self) -> Any:
        return self._pebble.ProcessPool(max_workers=self.workers, initializer=die_with_driver)

    def _enforces_deadlines(self) -> bool:
        return False  # pebble times each task from its start in a worker, and kills that worker

    def _submit(self, handle: TrialHandle, fn: Callable[..., Trial], args: tuple) -> Future:
        if not self.executor.active:  # broken (every worker died at once): start a fresh pool
            logger.warning("the process pool broke; starting a fresh one")
            self._shut(self.executor)
            self.executor = self._pool()
        return self.executor.schedule(_sent_back, args=(fn, *args), timeout=self.trial_timeout)

    def _lost(self, exc: BaseException, handle: TrialHandle) -> Trial | Lost:
        if isinstance(exc, self._pebble.ProcessExpired):
            return Lost(f"its worker process died while running it ({_exit_text(exc.exitcode)})", True)
        if isinstance(exc, TimeoutError):
            return ended_trial(handle, TrialState.FAILED, failure=(
                f"trial_timeout of {self.trial_timeout} s exceeded: its worker process was killed "
                "and replaced"))
        if isinstance(exc, BrokenExecutor):
            return Lost(f"the process pool broke ({type(exc).__name__}: {exc})", True)
        if isinstance(exc, CancelledError):
            return Lost("cancelled", False)
        return super()._lost(exc, handle)

    def stop(self, futures: Iterable[Future]) -> None:
        for future in futures:
            future.cancel()  # pebble kills the worker of a running task

    def close(self) -> None:
        self._shut(self.executor)

    @staticmethod
    def _shut(pool: Any) -> None:
        pool.stop()
        pool.join()


def _sent_back(fn: Callable[..., Trial], *args: Any) -> _Sendable:
    """Run ``fn(*args)`` in a pebble worker; its result travels back as a :class:`_Sendable`."""
    return _Sendable(fn(*args))


class _Sendable:
    """A worker's result that any pickling failure turns into a ``PicklingError``.

    pebble sends back a result it cannot pickle as the task's error only for ``PicklingError``
    and ``TypeError``; the ``AttributeError`` pickle raises for a lambda or a local object (in a
    user attribute, say) kills the worker instead, and its trial would be run again. Unpickled,
    this is the result itself.
    """

    def __init__(self, result: Any):
        self.result = result

    def __reduce__(self) -> tuple[Callable[[bytes], Any], tuple[bytes]]:
        try:
            data = pickle.dumps(self.result, protocol=pickle.HIGHEST_PROTOCOL)
        except Exception as exc:  # anything pickle raises on the result
            raise pickle.PicklingError(f"{type(exc).__name__}: {exc}") from exc
        return pickle.loads, (data,)


def _is_pickling_error(exc: BaseException) -> bool:
    """True for what pickle raises on an object it cannot serialize."""
    if isinstance(exc, pickle.PicklingError):
        return True
    return isinstance(exc, (TypeError, AttributeError)) and "pickle" in str(exc).lower()


def _exit_text(code: int | None) -> str:
    if code is not None and code < 0:
        try:
            return f"killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exit code {code}"


def _is_dask(executor: Any) -> bool:
    kind = type(executor)
    return kind.__module__.startswith("distributed") and kind.__name__ in ("ClientExecutor", "Client")


def make_runner(executor: Executor | str | None, *, workers: int,
                trial_timeout: float | None = None) -> Runner | None:
    """The runner for ``optimize(executor=...)``: None means inline (in the driver's thread)."""
    if executor is None:
        if trial_timeout is not None:
            raise UnituneError(
                "trial_timeout needs trials to run outside the driver, where a hung one can be "
                "stopped: pass executor='processes' (or a Dask executor); inline, unitune cannot "
                "interrupt an objective"
            )
        return None
    if isinstance(executor, str):
        if executor != "processes":
            raise UnituneError(
                f"executor must be None (inline), 'processes' (a process pool unitune owns) or a "
                f"concurrent.futures.Executor, got {executor!r}"
            )
        return OwnedProcessRunner(workers, trial_timeout)
    if _is_dask(executor):
        return DaskRunner(executor, trial_timeout)
    if not callable(getattr(executor, "submit", None)):
        raise UnituneError(
            f"executor must be None, 'processes' or a concurrent.futures.Executor (with a submit "
            f"method), got {type(executor).__name__}"
        )
    return PlainRunner(executor, trial_timeout)
