"""The run loop of one :meth:`unitune.Study.optimize` call.

:func:`run_trials` asks the study for trials, evaluates them inline or submits them to a
runner, and records each result through the study: lost trials run again, trials past
``trial_timeout`` are FAILED, deterministic batches are told in trial-number order, and at the
study timeout, on Ctrl-C/SIGTERM or on an error every trial still open is settled exactly once.
The study owns the state (store, backend, running trials, best trial, pruning); the loop only
drives it.
"""

from __future__ import annotations

import logging
import numbers
import sys
import time
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, wait
from typing import TYPE_CHECKING, Any

from unitune.backend import Proposal
from unitune.errors import SearchExhausted, TooManyFailuresError, UnituneError
from unitune.execution.runners import Lost, Runner
from unitune.execution.signals import Terminated
from unitune.execution.signals import interrupts_deferred as _interrupts_deferred
from unitune.objective import ResultSpec, TrialHandle, ended_trial, evaluate
from unitune.trial import _COMPLETE, _MINIMIZE, Trial, TrialState

if TYPE_CHECKING:
    from unitune.study import Callback, Study

__all__ = ["check_budget", "is_count", "is_seconds", "run_trials"]

logger = logging.getLogger("unitune")


def is_count(value: Any, least: int = 1) -> bool:
    """True for a whole number (a numpy integer too, never a bool) of at least ``least``."""
    return isinstance(value, numbers.Integral) and not isinstance(value, bool) and value >= least


def is_seconds(value: Any) -> bool:
    """True for a positive real number of seconds (a numpy float too; not NaN, not a bool)."""
    return isinstance(value, numbers.Real) and not isinstance(value, bool) and value > 0


def check_budget(n_trials: int | None, timeout: float | None, batch_size: int,
                 max_failures: int | None) -> None:
    """Refuse a budget the loop cannot run (UnituneError naming the value received)."""
    for name, value in (("n_trials", n_trials), ("max_consecutive_failures", max_failures)):
        if value is not None and not is_count(value):
            raise UnituneError(f"{name} must be a positive integer or None, got {value!r}")
    if timeout is not None and not is_seconds(timeout):
        raise UnituneError(f"timeout must be a positive number of seconds or None, got {timeout!r}")
    if not is_count(batch_size):
        raise UnituneError(f"batch_size must be a positive integer, got {batch_size!r}")


def run_trials(
    study: Study,
    objective: Callable[..., Any],
    pass_trial: bool,
    runner: Runner | None,
    *,
    n_trials: int | None,
    timeout: float | None,
    batch_size: int,
    callbacks: Sequence[Callback],
    max_consecutive_failures: int | None,
    show_progress: bool | None,
    max_retries: int,
    deterministic: bool,
) -> None:
    """Run trials of ``study`` until the budget is spent, the deadline passes, the backend runs
    out of candidates or ``study.stop()`` is called; ``runner`` None evaluates inline.

    The arguments are those of :meth:`unitune.Study.optimize`, already checked. Ctrl-C settles
    the open trials and closes the study's store (a :class:`Terminated` then propagates; a
    plain Ctrl-C ends the call); any other exception settles them and propagates.
    """
    # The inline path (runner None) is measured per trial: the closures below read locals, not
    # attributes, and add no call beyond `record`.
    deadline = None if timeout is None else time.monotonic() + timeout
    study._stop_requested = False
    study._interrupted = False
    spec = study._spec
    pruning = study._pruning
    bar = _progress_bar(show_progress, n_trials)
    in_flight: dict[Future, TrialHandle] = {}
    ready: dict[int, Trial] = {}  # deterministic mode: finished, told when the batch is done
    attempts: dict[int, int] = {}
    asked = 0
    first = study._next_number  # trials from this number on are this call's to settle
    exhausted = False
    # Trials kept in flight: batch_size, or more where the runner hides its round trip behind
    # queued trials (Dask). Deterministic batches and synchronous pruning cohorts stay exact.
    slots = batch_size
    if runner is not None:
        runner.check_workers()
    if runner is not None and not deterministic and (study.pruner is None or study.pruner.cohort <= 1):
        slots = runner.slots(batch_size)

    def record(handle: TrialHandle, finished: Trial) -> None:
        with _interrupts_deferred():
            trial = study._finish(handle, finished)
        if bar is not None:
            bar.update(1)
            if study._best is not None:
                bar.set_postfix(best=f"{study._best.values[0]:.6g}", refresh=False)
        for callback in callbacks:
            callback(study, trial)
        if max_consecutive_failures is not None:
            _check_failures(study, max_consecutive_failures)

    def land(handle: TrialHandle, finished: Trial) -> None:
        if deterministic:
            ready[handle.number] = finished
        else:
            record(handle, finished)

    def submit(handle: TrialHandle) -> None:
        in_flight[runner.submit(handle, evaluate, objective, handle, spec, pass_trial)] = handle

    try:
        if runner is None and batch_size == 1 and pruning is None and bar is None and not callbacks \
                and max_consecutive_failures is None:
            asked, over = _run_plain(study, objective, spec, pass_trial, n_trials, deadline)
            if over:
                return
        while True:
            if deterministic and ready and not in_flight:  # the batch is done: tell in order
                while ready:
                    number = min(ready)
                    record(study._running[number], ready.pop(number))
            # Keep up to `slots` trials in flight while the budget allows (deterministic:
            # ask the next batch only when the last one has been told).
            free = slots - len(in_flight) - (runner.held() if runner is not None else 0)
            if deterministic and in_flight:
                free = 0
            if n_trials is not None and n_trials - asked < free:
                free = n_trials - asked
            out_of_time = deadline is not None and time.monotonic() >= deadline
            if free > 0 and not (exhausted or out_of_time or study._stop_requested):
                try:
                    handles = study.ask_batch(free)
                except SearchExhausted as exc:
                    logger.info("stopping: %s", exc)
                    exhausted = True
                    handles = []
                asked += len(handles)
                if runner is None:  # inline: the fast path, no futures
                    for handle in handles:
                        record(handle, evaluate(objective, handle, spec, pass_trial))
                    if handles:
                        continue
                for handle in handles:
                    submit(handle)
            if pruning is not None and (exhausted or out_of_time or study._stop_requested
                                        or (n_trials is not None and asked >= n_trials)):
                pruning.close(study._next_number)  # synchronous schedules stop waiting
            if not in_flight:
                if ready:
                    continue
                budget_left = n_trials is None or asked < n_trials
                if (runner is not None and runner.held() and budget_left
                        and not (exhausted or out_of_time or study._stop_requested)):
                    time.sleep(0.05)  # every slot is held by an abandoned trial: wait for one
                    continue
                break
            # With a pruner, wake every 0.1 s to pass workers' reports on to the backend.
            poll = 0.1 if pruning is not None else None
            waits = [t for t in (None if deadline is None else deadline - time.monotonic(),
                                 runner.next_deadline(), poll) if t is not None]
            finished, _ = wait(in_flight, timeout=max(0.0, min(waits)) if waits else None,
                               return_when=FIRST_COMPLETED)
            if pruning is not None:
                pruning.forward(study._running.keys() - study._foreign)
            for future in finished:
                handle = in_flight.pop(future)
                if handle.number not in study._running or handle.number in ready:
                    logger.warning("trial %d finished twice; keeping the first result", handle.number)
                    continue
                outcome = runner.outcome(future, handle)
                if isinstance(outcome, Lost):
                    tries = attempts.get(handle.number, 0)
                    if outcome.retryable and tries < max_retries:
                        attempts[handle.number] = tries + 1
                        logger.warning("trial %d: %s; running it again (retry %d of %d)",
                                       handle.number, outcome.reason, tries + 1, max_retries)
                        submit(handle)
                        continue
                    state = TrialState.FAILED if outcome.retryable else TrialState.INTERRUPTED
                    reason = outcome.reason
                    if outcome.retryable:
                        reason += f"; gave up after {tries + 1} attempt(s) (max_retries={max_retries})"
                    if outcome.stops:  # no trial can run: record this one, settle the rest, stop
                        land(handle, ended_trial(handle, state, failure=reason))
                        raise UnituneError(
                            f"trial {handle.number} could not run: {reason}; finished trials are "
                            "kept and the trials in flight are recorded INTERRUPTED"
                        )
                    outcome = ended_trial(handle, state, failure=reason)
                land(handle, outcome)
            for future in runner.overdue():  # trials past trial_timeout the driver must end
                handle = in_flight.pop(future)
                what = runner.abandon(future)
                land(handle, ended_trial(handle, TrialState.FAILED, failure=(
                    f"trial_timeout of {runner.trial_timeout} s exceeded: {what}")))
            if deadline is not None and time.monotonic() >= deadline and in_flight:
                # the deadline passed with trials still running
                with _interrupts_deferred():
                    unheard = _settle(study, in_flight, f"study timeout of {timeout} s reached while it ran",
                                      ready, runner, first)
                if unheard is not None:
                    raise unheard
                break
    except KeyboardInterrupt as exc:
        # A second Ctrl-C (or a SIGTERM) waits until every trial is recorded and the store
        # closed, then stops the driver at once (a SIGTERM wins over a Ctrl-C).
        try:
            with _interrupts_deferred():
                logger.warning("interrupted: keeping %d finished trials", study._store.n_finished)
                study._interrupted = True
                _log_unheard(_settle(study, in_flight, f"interrupted ({str(exc) or type(exc).__name__})",
                                     ready, runner, first))
                study._close_store()
        except KeyboardInterrupt as again:
            if isinstance(exc, Terminated) and not isinstance(again, Terminated):
                raise exc from None
            raise
        if isinstance(exc, Terminated):
            raise
    except BaseException as exc:
        with _interrupts_deferred():
            _log_unheard(_settle(study, in_flight, f"study stopped: {type(exc).__name__}: {exc}",
                                 ready, runner, first))
        raise
    finally:
        if bar is not None:
            bar.close()


def _run_plain(study: Study, objective: Callable[..., Any], spec: ResultSpec, pass_trial: bool,
               n_trials: int | None, deadline: float | None) -> tuple[int, bool]:
    """The plain inline run, one trial at a time (no runner, pruner, callbacks, progress bar or
    failure limit: ``optimize``'s defaults): :meth:`Study.ask_batch`'s steps for one trial,
    written out in this one frame, then :func:`evaluate`, then :meth:`Study._finish` (its common
    case, a COMPLETE trial of the backend's own in a single-objective study without a pruner,
    written out here too).

    This is the path measured against each library's own loop, where every call and object a
    trial adds shows (docs/backends.md#adapter-overhead). Anything out of the common case goes
    through the study's own methods: a proposal not as expected (``Study._register`` checks it
    and raises), and a queued retry or a durable store, for which this returns to
    :func:`run_trials`' general loop. Returns (trials asked, whether the run is over).
    tests/core/test_plain_run.py runs the same studies through both paths, trial by trial.
    """
    store, running = study._store, study._running
    ask, tell = study.backend.ask, study.backend.tell
    trusted = study._proposals_trusted
    clock = time.time
    # The store's calls without the binding's frame (StudyStore.start and .finish, inline).
    name, start_trial, finish_trial, recorded = store.name, store.storage.start_trial, \
        store.storage.finish_trial, store.trials
    # Study._finish for the common case (a COMPLETE trial of the backend's own, no pruner,
    # one direction: _note_best), inline; anything else through _finish itself.
    minimize = study.directions[0] is _MINIMIZE if len(study.directions) == 1 else None
    foreign = study._foreign
    held = _interrupts_deferred()  # the same block for the whole run (thread and handlers do not change)
    asked = 0
    while n_trials is None or asked < n_trials:
        if study._stop_requested or (deadline is not None and time.monotonic() >= deadline):
            return asked, True
        if store.retries or store.durable:
            return asked, False
        number = study._next_number
        numbers = range(number, number + 1)
        try:
            with held:  # registered as running before an interrupt can land (as in ask_batch)
                proposals = ask(numbers)
                if len(proposals) == 1 and trusted and type(proposals[0]) is Proposal \
                        and proposals[0].number == number:
                    params = proposals[0].params
                    now = clock()
                    start_trial(name, number, params, now, None)
                    handle = running[number] = TrialHandle(number, params, now)
                    study._next_number = number + 1
                else:  # checked (and refused) as ask_batch does
                    handles: list[TrialHandle] = []
                    study._register(proposals, numbers, handles)
                    if not handles:
                        return asked, True
                    (handle,) = handles
        except SearchExhausted as exc:
            logger.info("stopping: %s", exc)
            return asked, True
        asked += 1
        trial = evaluate(objective, handle, spec, pass_trial)
        with held:
            if trial.state is not _COMPLETE or minimize is None or study._pruning is not None \
                    or handle.number in foreign:
                study._finish(handle, trial)
                continue
            finish_trial(name, trial)  # committed before the backend hears of it
            recorded.append(trial)
            del running[handle.number]
            best = study._best
            if best is None or (trial.values[0] < best.values[0] if minimize
                                else trial.values[0] > best.values[0]):
                study._best = trial
            tell(trial)
            study._consecutive_failures = 0
    return asked, True


def _settle(study: Study, in_flight: dict[Future, TrialHandle], reason: str,
            ready: dict[int, Trial], runner: Runner | None, first: int) -> Exception | None:
    """Record every trial of this call (numbered ``first`` on) still open when the loop ends
    early, exactly once: results that already arrived as they are (in trial-number order), the
    rest INTERRUPTED (their futures cancelled if queued, their workers killed if unitune owns
    them). Trials asked by hand before the call stay running, to be told by hand.

    A backend whose ``tell`` raises does not leave the later trials RUNNING: each trial is
    recorded all the same, and the first such error is returned for the caller to raise (or
    to log, when another error already ends the loop)."""
    running = study._running
    errors: list[Exception] = []

    def finish(handle: TrialHandle, trial: Trial) -> None:
        try:
            study._finish(handle, trial)
        except Exception as exc:
            if handle.number in running:  # the store failed to record it: give up
                raise
            errors.append(exc)

    for number in sorted(ready):
        if number in running:
            finish(running[number], ready[number])
    ready.clear()
    if runner is not None:
        runner.stop([f for f in in_flight if not f.done()])
    for future, handle in list(in_flight.items()):
        if handle.number not in running:
            continue
        outcome = None
        if future.done() and not future.cancelled() and runner is not None:
            outcome = runner.outcome(future, handle)
        if isinstance(outcome, Trial):
            finish(handle, outcome)
        else:
            future.cancel()
            finish(handle, ended_trial(handle, TrialState.INTERRUPTED, failure=reason))
    in_flight.clear()
    for handle in [h for n, h in running.items() if n >= first]:  # asked but never submitted
        finish(handle, ended_trial(handle, TrialState.INTERRUPTED, failure=reason))
    return errors[0] if errors else None


def _log_unheard(error: Exception | None) -> None:
    """Log the backend's error from :func:`_settle` when another error already ends the loop."""
    if error is not None:
        logger.error("the backend failed to hear a trial recorded as the study stopped: %s: %s",
                     type(error).__name__, error)


def _check_failures(study: Study, limit: int) -> None:
    if study._consecutive_failures >= limit:
        last = next(t for t in reversed(study.trials) if t.state is TrialState.FAILED)
        reason = (last.failure or "").strip().splitlines()
        raise TooManyFailuresError(
            f"{study._consecutive_failures} trials failed in a row (limit "
            f"max_consecutive_failures={limit}); last failure: {reason[0] if reason else '?'}"
        )


def _progress_bar(show: bool | None, total: int | None) -> Any:
    if show is None:
        show = sys.stderr.isatty()
    if not show:
        return None
    from tqdm.auto import tqdm

    return tqdm(total=total, desc="unitune", unit="trial")
