"""The study: the one ask -> evaluate -> tell -> record loop, by hand or with :func:`optimize`
(whose run loop is :mod:`unitune.execution.loop`).

>>> from unitune import Float, Study
>>> study = Study({"x": Float(-2.0, 2.0)}, backend="random", seed=0)
>>> trial = study.ask()
>>> record = study.tell(trial, trial.params["x"] ** 2)
>>> record.state.value
'complete'
"""

from __future__ import annotations

import logging
import numbers
import os
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import Executor
from typing import Any

from unitune.backend import Backend, Proposal, check_seed
from unitune.errors import BackendError, SearchExhausted, SpaceError, UnituneError
from unitune.execution.loop import check_budget, is_count, is_seconds, run_trials
from unitune.execution.runners import make_runner
from unitune.execution.signals import Terminated, pass_on_termination, termination_handled
from unitune.execution.signals import interrupts_deferred as _interrupts_deferred
from unitune.objective import (
    ResultSpec,
    TrialHandle,
    as_sequence,
    ended_trial,
    interpret,
    pruned_at,
    wants_trial,
)
from unitune.pruners import Pruner, make_pruner
from unitune.pruners.session import BudgetLoop, PruningSession, takes_budget
from unitune.registry import make_backend
from unitune.space import Space
from unitune.storage import Storage
from unitune.storage.binding import StudyStore
from unitune.trial import Direction, Trial, TrialState

__all__ = ["Callback", "Study", "optimize"]

logger = logging.getLogger("unitune")

#: Enum members read at every trial, as globals (why: unitune.trial).
_COMPLETE, _FAILED, _MINIMIZE = TrialState.COMPLETE, TrialState.FAILED, Direction.MINIMIZE

#: ``callback(study, trial)`` runs after each trial is recorded; it may call ``study.stop()``.
Callback = Callable[["Study", Trial], None]


class Study:
    """A search space, a backend and the trials run so far.

    Args:
        space: a :class:`Space` or a dict of dimensions.
        backend: a backend name (``"random"``, ``"grid"``, ``"optuna.tpe"``, ...), class or instance.
        direction: ``"minimize"`` (default) or ``"maximize"``, or a list of them (multi-objective).
        metric: when the objective returns a dict, the metric (or list of metrics) to optimize.
        seed: seed handed to the backend.
        backend_options: keyword options for the backend; unknown ones are rejected.
        strict: refuse backends that can only approximate or emulate part of the space.
        storage: where trials are kept: in memory by default, or a SQLite file (a path, a
            ``sqlite:///`` URL or a :class:`unitune.storage.SQLiteStorage`) for a durable study.
        study_name: the study's name in the store (``"default"`` when None); a file holds many.
        resume: continue the stored study of that name, created if missing (its backend is
            rebuilt by replaying the stored trials; trials its dead driver left RUNNING are
            marked INTERRUPTED and evaluated again first). Without it, an existing name is an error.
        allow_backend_change: on resume, run on another backend (or backend options) than the
            stored one; the switch is recorded. The space, seed and directions must match.
        pruner: stops hopeless trials early (``"median"``, ``"asha"``, ``"optuna.median"``, a
            :class:`unitune.pruners.Pruner`); see docs/pruning.md.

    A study on a file holds the study's lease until :meth:`close` (or the end of
    :func:`optimize`): a second driver of the same study is refused.
    """

    def __init__(
        self,
        space: Space | Mapping[str, Any],
        backend: str | type[Backend] | Backend = "random",
        *,
        direction: str | Sequence[str] = "minimize",
        metric: str | Sequence[str] | None = None,
        seed: int | None = None,
        backend_options: Mapping[str, Any] | None = None,
        strict: bool = False,
        storage: Storage | str | os.PathLike[str] | None = None,
        study_name: str | None = None,
        resume: bool = False,
        allow_backend_change: bool = False,
        pruner: str | Pruner | None = None,
    ):
        self.space = Space.coerce(space)
        names = [direction] if isinstance(direction, (str, Direction)) else list(direction)
        self.directions = tuple(Direction.parse(d) for d in names)
        self.metric = as_sequence(metric)
        if self.metric is not None and len(self.metric) != len(self.directions):
            raise UnituneError(
                f"metric names {list(self.metric)!r} must match the directions "
                f"{[d.value for d in self.directions]!r} one to one"
            )
        self.seed = seed = check_seed(seed)
        self.backend = make_backend(backend, self.space, seed=seed, directions=self.directions,
                                    strict=strict, options=backend_options)
        # The pruner is checked before the store: a bad one (or one on a multi-objective study)
        # creates no study.
        self.pruner = make_pruner(pruner)
        self._pruning: PruningSession | None = None
        if self.pruner is not None:
            self._pruning = PruningSession(self.pruner, self.directions, self.backend)
        self._store = StudyStore(
            storage, study_name, space=self.space.to_dict(), backend=self.backend.full_name,
            backend_options=self.backend.options, seed=seed, directions=[d.value for d in self.directions],
            metric=self.metric, resume=resume, allow_backend_change=allow_backend_change)
        self.study_name = self._store.name
        self._spec = ResultSpec(self.metric, len(self.directions))
        self._proposals_trusted = bool(self.backend.proposals_in_space)
        self._running: dict[int, TrialHandle] = {}
        self._foreign: set[int] = set()  # running trials the backend did not propose (retries)
        self._next_number = self._store.next_number
        self._best: Trial | None = None
        self._consecutive_failures = 0
        self._stop_requested = False
        self._interrupted = False  # the last optimize ended on Ctrl-C (the CLI exits 130)
        try:
            self._learn(self._store.trials)
        except BaseException:  # Ctrl-C or a backend's error in the replay: give the lease back
            self._store.close()
            raise

    def _learn(self, history: Sequence[Trial]) -> None:
        """Take in the stored trials: the best so far, the pruner's reports, and (for a resumed
        study) the backend's history, by replay."""
        if self._pruning is not None:
            self._pruning.channel.load(history)
        for trial in history:
            self._note_best(trial)
        self._replay([t for t in history if t.state is not TrialState.INTERRUPTED])

    # Reading results.
    @property
    def trials(self) -> tuple[Trial, ...]:
        """Every finished trial, in the order it finished."""
        return tuple(self._store.trials)

    @property
    def storage(self) -> Storage:
        """Where the study's trials are kept."""
        return self._store.storage

    @property
    def n_finished(self) -> int:
        """Finished trials that count toward a budget: every state but INTERRUPTED."""
        return self._store.n_finished

    def close(self) -> None:
        """Stop driving the study: give its lease back (and close a store the study opened).
        The trials stay readable; asking again takes the lease again."""
        self._store.close()

    def __enter__(self) -> Study:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def direction(self) -> Direction:
        """The single direction (an error for a multi-objective study)."""
        self._require_single("direction")
        return self.directions[0]

    @property
    def best_trial(self) -> Trial:
        """The best COMPLETE trial (single-objective); UnituneError if there is none yet."""
        self._require_single("best_trial")
        if self._best is None:
            raise UnituneError("no trial has completed yet, so there is no best trial")
        return self._best

    @property
    def best_params(self) -> dict[str, Any]:
        """Parameters of :attr:`best_trial`."""
        return dict(self.best_trial.params)

    @property
    def best_value(self) -> float:
        """Value of :attr:`best_trial`."""
        return self.best_trial.values[0]

    @property
    def best_trials(self) -> list[Trial]:
        """The Pareto front of COMPLETE trials (for any number of objectives)."""
        done = [t for t in self.trials if t.state is TrialState.COMPLETE]
        return [t for t in done if not any(self._dominates(o, t) for o in done)]

    def _dominates(self, a: Trial, b: Trial) -> bool:
        pairs = list(zip(self.directions, a.values, b.values))
        no_worse = all(not d.better(y, x) for d, x, y in pairs)
        return no_worse and any(d.better(x, y) for d, x, y in pairs)

    def _require_single(self, what: str) -> None:
        if len(self.directions) != 1:
            raise UnituneError(
                f"{what} is for single-objective studies; use best_trials for the Pareto front"
            )

    def records(self) -> list[dict[str, Any]]:
        """Every finished trial as a plain JSON-ready dict."""
        return [t.to_record() for t in self.trials]

    def to_dataframe(self) -> Any:
        """The trials as a pandas DataFrame, one column per parameter and metric."""
        try:
            import pandas as pd
        except ImportError as exc:
            raise ImportError("Study.to_dataframe needs pandas: pip install 'unitune[pandas]'") from exc
        rows = []
        for t in self.trials:
            row = {"number": t.number, "state": t.state.value, "failure": t.failure,
                   "duration": t.duration}
            if t.values is not None:
                row.update({f"value_{i}" if len(t.values) > 1 else "value": v
                            for i, v in enumerate(t.values)})
            row.update({f"params_{k}": v for k, v in t.params.items()})
            row.update({f"metrics_{k}": v for k, v in t.metrics.items()})
            row.update({f"user_attrs_{k}": v for k, v in t.user_attrs.items()})
            rows.append(row)
        return pd.DataFrame(rows)

    # Ask and tell.
    def ask(self) -> TrialHandle:
        """Start one trial: the backend proposes its parameters."""
        return self.ask_batch(1)[0]

    def ask_batch(self, n: int) -> list[TrialHandle]:
        """Start up to ``n`` trials at once (SearchExhausted when the backend has none left)."""
        if type(n) is not int or n < 1:  # (is_count's common case first: every ask)
            if not is_count(n):
                raise UnituneError(f"ask_batch needs a positive integer, got {n!r}")
            n = int(n)
        store = self._store
        if store.durable:
            store.drive(self._next_number)
        handles = []
        while store.retries and len(handles) < n:  # interrupted configurations run again first
            retry_of, params = store.retries.popleft()
            handle = TrialHandle(self._next_number, params)
            store.start(handle.number, params, handle.started_at, retry_of)
            if self._pruning is not None:  # pruned like any trial; not the backend's to hear
                handle._link = self._pruning.silent_link()
            self._next_number += 1
            self._running[handle.number] = handle
            self._foreign.add(handle.number)
            handles.append(handle)
        if len(handles) == n:
            return handles
        numbers = range(self._next_number, self._next_number + n - len(handles))
        try:
            # Ctrl-C is held back until the proposals are registered as running trials, so an
            # interrupt never leaves a proposal pending in the backend and unknown to the study.
            with _interrupts_deferred():
                self._register(self.backend.ask(numbers), numbers, handles)
        except SearchExhausted:
            if handles:
                return handles
            raise
        return handles

    def _register(self, proposals: Sequence[Any], numbers: range, handles: list[TrialHandle]) -> None:
        """Turn the backend's proposals into running trials (written RUNNING to the store).

        A proposal for another trial number, or whose parameters are not a configuration of
        the space (plain Python values only; checked unless the backend declares
        ``proposals_in_space``), is refused with a BackendError before any proposal
        of the batch starts: no objective runs on it and nothing is recorded (retried
        configurations already started by the same ask end INTERRUPTED, run again later).
        """
        if len(proposals) == 1:  # the common case, kept cheap
            in_order = getattr(proposals[0], "number", None) == numbers[0]
        else:
            in_order = len(proposals) <= len(numbers) and [
                getattr(p, "number", None) for p in proposals] == list(numbers[: len(proposals)])
        if not in_order:
            raise BackendError(
                f"backend {self.backend.full_name!r} answered ask({list(numbers)}) with proposals for "
                f"trials {[getattr(p, 'number', p) for p in proposals]}; it must return one "
                "Proposal per trial number, in order"
            )
        for proposal in () if self._proposals_trusted else proposals:
            try:
                self.space.validate(proposal.params)
            except SpaceError as exc:
                self._forget_refused(proposals)
                raise BackendError(
                    f"backend {self.backend.full_name!r} proposed for trial {proposal.number} "
                    f"{proposal.params!r}, which is not a configuration of the space: {exc}. "
                    "No trial was started; a backend must propose the active parameters as plain "
                    "Python values in the space (unitune.testing checks this)"
                ) from None
        now = time.time()
        if len(proposals) == 1:
            self._store.start(proposals[0].number, proposals[0].params, now)
        elif proposals:  # one transaction for the whole batch
            self._store.start_many([(p.number, p.params, now, None) for p in proposals])
        for proposal in proposals:
            handle = TrialHandle(proposal.number, proposal.params, now)
            if self._pruning is not None:
                handle._link = self._pruning.link
            self._running[handle.number] = handle
            self._next_number += 1
            handles.append(handle)

    def _forget_refused(self, proposals: Sequence[Proposal]) -> None:
        """Tell the backend a refused batch's trials INTERRUPTED (they never ran), so that its
        pending proposals are gone and the study can ask for the same trial numbers again."""
        for proposal in proposals:
            try:
                self.backend.tell(Trial(proposal.number, proposal.params, TrialState.INTERRUPTED,
                                        failure="proposal refused: not a configuration of the space"))
            except Exception as exc:  # the refusal's error is the one to raise
                logger.warning("backend %r could not forget refused trial %d: %s: %s",
                               self.backend.full_name, proposal.number, type(exc).__name__, exc)

    def tell(
        self,
        trial: TrialHandle | int,
        result: Any = None,
        *,
        state: TrialState | str | None = None,
        failure: str | None = None,
    ) -> Trial:
        """Finish a running trial with the objective's return value, or with a state.

        ``result`` is read like an objective's return (number, dict of metrics, Result).
        ``state="failed"`` (with an optional ``failure`` reason) or ``state="pruned"`` end a
        trial without a value (a PRUNED trial's default reason is ``"pruned at step N"``, its last
        reported step). A bad result records a FAILED trial; it does not raise.
        """
        handle = self._running_handle(trial)
        ended = None if state is None else _told_state(state)
        if result is not None and ended is not None and ended is not TrialState.COMPLETE:
            raise UnituneError(f"tell got the result {result!r} and state={state!r}: a {ended.value} "
                               "trial has no value; give one or the other")
        if self._store.durable:  # after close() (or a Ctrl-C in optimize): take the lease again
            self._store.drive(self._next_number)
        if ended is not None and ended is not TrialState.COMPLETE:
            default = pruned_at(handle) if ended is TrialState.PRUNED else ended.value
            record = ended_trial(handle, ended, failure=failure or default)
        else:
            record = self._record_from(handle, result)
        with _interrupts_deferred():
            return self._finish(handle, record)

    def _running_handle(self, trial: TrialHandle | int) -> TrialHandle:
        number = trial.number if isinstance(trial, TrialHandle) else trial
        if isinstance(number, bool) or not isinstance(number, numbers.Integral):
            raise UnituneError(f"tell takes a TrialHandle or a trial number (int), got {trial!r}")
        if number not in self._running:
            raise UnituneError(
                f"trial {number!r} is not running in this study (already told, or never asked)"
            )
        handle = self._running[number]
        if isinstance(trial, TrialHandle) and trial is not handle:
            handle.user_attrs.update(trial.user_attrs)
            handle.intermediate.update(trial.intermediate)
        return handle

    def _record_from(self, handle: TrialHandle, result: Any) -> Trial:
        try:
            values, metrics, user_attrs = interpret(result, self._spec)
        except UnituneError as exc:
            return ended_trial(handle, TrialState.FAILED, failure=str(exc))
        handle.user_attrs.update(user_attrs)
        return ended_trial(handle, TrialState.COMPLETE, values, metrics)

    def _finish(self, handle: TrialHandle, trial: Trial) -> Trial:
        """Record a finished trial: store it, track the best, tell the backend.

        The record is stored first. Callers hold Ctrl-C back around the call
        (``_interrupts_deferred``), so a trial is never stored without leaving the running
        set, and a backend is never left halfway through learning a trial.
        """
        self._store.finish(trial)  # committed before the backend hears of it
        del self._running[handle.number]
        if self._pruning is not None:
            self._pruning.finish(trial)
        self._note_best(trial)
        if handle.number in self._foreign:  # a retry the backend never proposed: history to replay
            self._foreign.discard(handle.number)
            if trial.state is not TrialState.INTERRUPTED:
                self._replay([trial])
        else:
            self.backend.tell(trial)
        if trial.state is _FAILED:
            self._consecutive_failures += 1
            logger.info("trial %d failed: %s", trial.number, (trial.failure or "").splitlines()[0])
        elif trial.state is _COMPLETE:
            self._consecutive_failures = 0
        return trial

    def _note_best(self, trial: Trial) -> None:
        if trial.state is not _COMPLETE or len(self.directions) != 1:
            return
        best = self._best
        # Direction.better, inline: this runs at every trial.
        if best is None or (trial.values[0] < best.values[0] if self.directions[0] is _MINIMIZE
                            else trial.values[0] > best.values[0]):
            self._best = trial

    def add_trials(self, trials: Iterable[Trial]) -> None:
        """Replay finished trials from elsewhere: store them and replay them into the backend.

        Trials are renumbered to follow this study's own; parameters must fit the space. The
        whole batch is checked before anything is stored. INTERRUPTED trials are refused: they
        carry no outcome.
        """
        trials = list(trials)
        for trial in trials:
            if not isinstance(trial, Trial):
                raise UnituneError(f"add_trials takes Trial records, got {trial!r}")
            if not trial.state.is_finished or trial.state is TrialState.INTERRUPTED:
                raise UnituneError(
                    f"only COMPLETE, FAILED or PRUNED trials can be added, trial {trial.number} is "
                    f"{trial.state.value}"
                )
            try:
                self.space.validate(trial.params)
            except SpaceError as exc:
                raise SpaceError(f"add_trials: trial {trial.number} does not fit the space: {exc}; "
                                 "nothing was added") from None
            if trial.values is not None and len(trial.values) != len(self.directions):
                raise UnituneError(
                    f"trial {trial.number} has {len(trial.values)} values; this study optimizes "
                    f"{len(self.directions)} objective(s)"
                )
        if self._store.durable:
            self._store.drive(self._next_number)
        copies = []
        for trial in trials:
            copy = Trial(number=self._next_number, params=trial.params, state=trial.state,
                         values=trial.values, metrics=trial.metrics, failure=trial.failure,
                         started_at=trial.started_at, finished_at=trial.finished_at,
                         user_attrs=trial.user_attrs, intermediate=trial.intermediate)
            self._next_number += 1
            self._store.finish(copy)
            self._note_best(copy)
            copies.append(copy)
        if self._pruning is not None:
            self._pruning.channel.load(copies)
        self._replay(copies)

    def _replay(self, trials: Sequence[Trial]) -> None:
        if trials:
            with _interrupts_deferred():
                self.backend.replay(trials)

    def stop(self) -> None:
        """Ask a running :meth:`optimize` to stop after the trials in flight (use in callbacks)."""
        self._stop_requested = True

    # The loop.
    def optimize(
        self,
        objective: Callable[..., Any],
        n_trials: int | None = None,
        timeout: float | None = None,
        *,
        batch_size: int = 1,
        executor: Executor | str | None = None,
        callbacks: Sequence[Callback] = (),
        max_consecutive_failures: int | None = None,
        show_progress: bool | None = None,
        trial_timeout: float | None = None,
        max_retries: int = 1,
        deterministic: bool = False,
    ) -> Study:
        """Run the objective until ``n_trials`` more trials finish, ``timeout`` seconds pass,
        or the backend runs out of candidates.

        ``batch_size`` trials are asked at once and run on ``executor``: None (inline),
        ``"processes"`` (a process pool unitune owns, ``batch_size`` workers) or any
        ``concurrent.futures.Executor`` (Dask's ``client.get_executor(pure=False)`` included).
        ``trial_timeout`` (seconds, not inline) FAILs a trial past its limit and frees its worker
        where the executor allows; a trial whose worker dies is run again up to ``max_retries``
        times, then FAILED. ``deterministic=True`` asks ``batch_size`` trials, waits for all of
        them and tells them in trial-number order, so a same-seed run repeats its history
        exactly. See docs/execution.md.

        Every trial it asked ends recorded exactly once (one asked by hand before the call is
        left for you to tell): Ctrl-C or SIGTERM stop the loop cleanly
        (finished trials are kept, the trials in flight are recorded INTERRUPTED, the store is
        closed; after SIGTERM the process then exits with status 143); at the ``timeout``
        deadline, trials still running on an executor are recorded INTERRUPTED and the call
        returns; when the loop raises (TooManyFailuresError, a callback's exception), results
        that already arrived are recorded and the rest INTERRUPTED before the exception
        propagates.

        An objective with a parameter named ``budget`` is called by the study's pruner schedule
        (see :class:`unitune.pruners.session.BudgetLoop`); with ``pruner=``, reports travel
        between workers as docs/pruning.md describes.
        """
        check_budget(n_trials, timeout, batch_size, max_consecutive_failures)
        if trial_timeout is not None and not is_seconds(trial_timeout):
            raise UnituneError(
                f"trial_timeout must be a positive number of seconds or None, got {trial_timeout!r}"
            )
        if not is_count(max_retries, least=0):
            raise UnituneError(f"max_retries must be a non-negative integer, got {max_retries!r}")
        n_trials, max_consecutive_failures = _whole(n_trials), _whole(max_consecutive_failures)
        batch_size, max_retries = int(batch_size), int(max_retries)  # numpy integers as int
        if n_trials is None and timeout is None and not self.backend.exhaustible:
            raise UnituneError(
                f"give n_trials or timeout: backend {self.backend.full_name!r} never runs out of "
                "candidates on this space, so the search would never end"
            )
        self._store.queue_retries()  # trials interrupted earlier are evaluated again first
        if takes_budget(objective):
            objective, pass_trial = BudgetLoop.checked(objective, self._spec, self.pruner), True
        else:
            pass_trial = wants_trial(objective)
        runner = make_runner(executor, workers=batch_size, trial_timeout=trial_timeout)
        terminated: Terminated | None = None
        try:
            if runner is not None:
                runner.check_objective(objective)
            if self._pruning is not None:
                self._pruning.start(executor, self.trials, batch_size)
            with termination_handled():
                try:
                    run_trials(self, objective, pass_trial, runner, n_trials=n_trials, timeout=timeout,
                               batch_size=batch_size, callbacks=callbacks,
                               max_consecutive_failures=max_consecutive_failures,
                               show_progress=show_progress, max_retries=max_retries,
                               deterministic=deterministic)
                except Terminated as exc:
                    terminated = exc
        finally:
            if self._pruning is not None:
                self._pruning.stop(self.trials)
            if runner is not None:
                runner.close()
        if terminated is not None:
            self._close_store()  # again, in case SIGTERM cut the first close short (idempotent)
            pass_on_termination(terminated)
        return self

    def _close_store(self) -> None:
        """After Ctrl-C or SIGTERM: close the study's store cleanly when it can be closed
        (its lease is given back; the trials stay readable)."""
        self.close()


def _whole(value: int | None) -> int | None:
    """A checked count as a Python int (None stays None)."""
    return None if value is None else int(value)


def _told_state(state: TrialState | str) -> TrialState:
    """The finished state ``tell`` was given; UnituneError naming the states it takes."""
    told = ("complete", "failed", "pruned", "interrupted")
    try:
        ended = TrialState(state)
    except ValueError:
        ended = None
    if ended is None or ended.value not in told:
        raise UnituneError(f"tell takes state= one of {list(told)}, got {state!r}")
    return ended


def optimize(
    objective: Callable[..., Any],
    space: Space | Mapping[str, Any],
    backend: str | type[Backend] | Backend = "random",
    *,
    n_trials: int | None = None,
    timeout: float | None = None,
    direction: str | Sequence[str] = "minimize",
    metric: str | Sequence[str] | None = None,
    seed: int | None = None,
    backend_options: Mapping[str, Any] | None = None,
    strict: bool = False,
    batch_size: int = 1,
    executor: Executor | str | None = None,
    callbacks: Sequence[Callback] = (),
    max_consecutive_failures: int | None = None,
    show_progress: bool | None = None,
    trial_timeout: float | None = None,
    max_retries: int = 1,
    deterministic: bool = False,
    storage: Storage | str | os.PathLike[str] | None = None,
    study_name: str | None = None,
    resume: bool = False,
    allow_backend_change: bool = False,
    pruner: str | Pruner | None = None,
) -> Study:
    """Create a :class:`Study` and run :meth:`Study.optimize` on it; return the study.

    ``n_trials`` is the study's total: a resumed study (``storage="study.db", resume=True``)
    runs only the trials it still lacks (INTERRUPTED trials do not count). The study's lease is
    given back when the call returns.

    >>> from unitune import Int
    >>> study = optimize(lambda p: abs(p["k"] - 3), {"k": Int(0, 9)}, backend="grid")
    >>> study.best_params, len(study.trials)
    ({'k': 3}, 10)
    """
    study = Study(space, backend, direction=direction, metric=metric, seed=seed,
                  backend_options=backend_options, strict=strict, storage=storage,
                  study_name=study_name, resume=resume, allow_backend_change=allow_backend_change,
                  pruner=pruner)
    try:
        left = n_trials
        if n_trials is not None:
            check_budget(n_trials, timeout, batch_size, max_consecutive_failures)
            n_trials = int(n_trials)
            if study.storage.durable:
                study._store.set_target(n_trials)
            left = n_trials - study.n_finished
            if left <= 0:
                logger.info("study %r already has %d finished trials (n_trials=%d): nothing to run",
                            study.study_name, study.n_finished, n_trials)
                return study
        return study.optimize(objective, left, timeout, batch_size=batch_size, executor=executor,
                              callbacks=callbacks, max_consecutive_failures=max_consecutive_failures,
                              show_progress=show_progress, trial_timeout=trial_timeout,
                              max_retries=max_retries, deterministic=deterministic)
    finally:
        study.close()
