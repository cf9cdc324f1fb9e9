"""Faults on real worker processes: a pool unitune owns (``executor="processes"``) and plain
``concurrent.futures`` executors. No mocks: workers are really killed, really hang."""

from __future__ import annotations

import contextlib
import logging
import signal
import threading
import time
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from pathlib import Path

import pytest
from faults import (
    always_exits,
    hangs,
    killed_once,
    pid_alive,
    raises_base_exception,
    result_with_a_lambda,
    sleeps_forever,
    terminates_itself,
    unpicklable_result,
    value_of,
    wait_for,
)

from unitune import Float, Study, TrialState, UnituneError


def _space(tmp_path: Path, victim: int) -> dict:
    return {"x": Float(0.0, 1.0), "dir": str(tmp_path), "victim": victim}


def _assert_complete(trials, numbers) -> None:
    for t in trials:
        if t.number in numbers:
            assert t.state is TrialState.COMPLETE, (t.number, t.state, t.failure)
            assert t.value == pytest.approx(value_of(t.params))


@pytest.mark.timeout(120)
def test_a_worker_killed_once_costs_nothing_the_trial_is_retried(tmp_path):
    study = Study(_space(tmp_path, victim=2), seed=0)
    study.optimize(killed_once, n_trials=6, batch_size=2, executor="processes")
    assert (tmp_path / "killed-2").exists(), "the victim trial never killed its worker"
    assert sorted(t.number for t in study.trials) == list(range(6))
    _assert_complete(study.trials, range(6))


@pytest.mark.timeout(120)
def test_an_objective_that_kills_its_worker_every_time_fails_after_the_retries(tmp_path):
    study = Study(_space(tmp_path, victim=1), seed=0)
    study.optimize(always_exits, n_trials=7, batch_size=2, executor="processes", max_retries=2)
    by_number = {t.number: t for t in study.trials}
    assert sorted(by_number) == list(range(7))
    lost = by_number[1]
    assert lost.state is TrialState.FAILED
    assert "worker process died" in lost.failure and "exit code 3" in lost.failure
    assert "gave up after 3 attempt(s) (max_retries=2)" in lost.failure
    attempts = (tmp_path / "attempts").read_text().split()
    assert len(attempts) == 3 and len(set(attempts)) == 3  # three different worker processes
    _assert_complete(study.trials, {0, 2, 3, 4, 5, 6})  # the study went on, on fresh workers


@pytest.mark.timeout(120)
def test_no_retry_when_max_retries_is_zero(tmp_path):
    study = Study(_space(tmp_path, victim=0), seed=0)
    study.optimize(always_exits, n_trials=3, executor="processes", max_retries=0)
    assert [t.state for t in study.trials] == [TrialState.FAILED, TrialState.COMPLETE, TrialState.COMPLETE]
    assert len((tmp_path / "attempts").read_text().split()) == 1


@pytest.mark.timeout(120)
@pytest.mark.parametrize("executor", [None, "processes", ThreadPoolExecutor, ProcessPoolExecutor])
def test_a_base_exception_from_the_objective_fails_its_trial_on_every_executor(tmp_path, executor):
    # It stopped the study inline (the trial INTERRUPTED, to be run again on resume), and on an
    # executor was recorded INTERRUPTED as "the executor lost the trial": one policy now, as for
    # sys.exit(): FAILED with the reason, told, and the study goes on.
    study = Study(_space(tmp_path, victim=1), seed=0)
    with contextlib.ExitStack() as stack:
        if isinstance(executor, type):
            executor = stack.enter_context(executor(max_workers=2))
        study.optimize(raises_base_exception, n_trials=4, batch_size=1 if executor is None else 2,
                       executor=executor)
    by_number = {t.number: t for t in study.trials}
    assert sorted(by_number) == [0, 1, 2, 3]
    assert by_number[1].state is TrialState.FAILED
    assert by_number[1].failure.startswith("Abort: aborted trial 1")
    _assert_complete(study.trials, {0, 2, 3})


@pytest.mark.timeout(120)
def test_a_hung_trial_past_its_limit_fails_and_its_worker_is_killed(tmp_path):
    study = Study(_space(tmp_path, victim=1), seed=0)
    study.optimize(hangs, n_trials=6, batch_size=2, executor="processes", trial_timeout=2)
    by_number = {t.number: t for t in study.trials}
    assert sorted(by_number) == list(range(6))
    assert by_number[1].state is TrialState.FAILED
    assert "trial_timeout of 2 s exceeded" in by_number[1].failure
    assert "killed and replaced" in by_number[1].failure
    _assert_complete(study.trials, {0, 2, 3, 4, 5})
    assert not pid_alive(int((tmp_path / "hung-1").read_text()))


@pytest.mark.timeout(120)
def test_a_study_timeout_kills_the_workers_of_an_owned_pool(tmp_path):
    study = Study(_space(tmp_path, victim=2), seed=0)
    study.optimize(sleeps_forever, n_trials=10, timeout=4, batch_size=2, executor="processes")
    states = {t.number: t.state for t in study.trials}
    assert states[0] is TrialState.COMPLETE and states[1] is TrialState.COMPLETE
    assert states[2] is TrialState.INTERRUPTED and states[3] is TrialState.INTERRUPTED
    assert sorted(states) == [0, 1, 2, 3]
    pids = [int(p.read_text()) for p in tmp_path.glob("started-*")]
    assert pids and not any(pid_alive(pid) for pid in pids)


@pytest.mark.timeout(60)
def test_trial_timeout_on_a_thread_pool_fails_the_trial_but_cannot_stop_it():
    release = threading.Event()
    started = threading.Event()

    def objective(params, trial):
        if trial.number == 0:
            started.set()
            release.wait(60)  # "hung" until the test lets it go
        return params["x"]

    with ThreadPoolExecutor(max_workers=2) as pool:
        study = Study({"x": Float(0.0, 1.0)}, seed=0)
        try:
            study.optimize(objective, n_trials=5, batch_size=2, executor=pool, trial_timeout=1)
        finally:
            release.set()  # let the "hung" thread go, or the pool cannot shut down
    by_number = {t.number: t for t in study.trials}
    assert started.is_set()
    assert sorted(by_number) == list(range(5))
    assert by_number[0].state is TrialState.FAILED
    assert "trial_timeout of 1 s exceeded" in by_number[0].failure
    assert "cannot stop a running task" in by_number[0].failure
    for n in range(1, 5):
        assert by_number[n].state is TrialState.COMPLETE
        assert by_number[n].value == by_number[n].params["x"]


def test_trial_timeout_inline_is_refused_with_the_fix():
    study = Study({"x": Float(0.0, 1.0)}, seed=0)
    with pytest.raises(UnituneError, match="trial_timeout needs trials to run outside the driver"):
        study.optimize(value_of, n_trials=2, trial_timeout=5)
    assert study.trials == ()


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"executor": "threads"}, "executor must be None"),
    ({"executor": object()}, "executor must be None, 'processes'"),
    ({"executor": "processes", "trial_timeout": 0}, "trial_timeout must be a positive number"),
    ({"executor": "processes", "max_retries": -1}, "max_retries must be a non-negative integer"),
    ({"executor": "processes", "max_retries": True}, "max_retries must be a non-negative integer"),
    # a string reached a comparison and raised a bare TypeError
    ({"executor": "processes", "trial_timeout": "5"}, r"trial_timeout must be .* got '5'"),
    ({"timeout": "5"}, r"timeout must be a positive number of seconds or None, got '5'"),
])
def test_bad_execution_options_are_refused(kwargs, message):
    study = Study({"x": Float(0.0, 1.0)}, seed=0)
    with pytest.raises(UnituneError, match=message):
        study.optimize(value_of, n_trials=2, **kwargs)
    assert study.trials == ()


@pytest.mark.timeout(120)
def test_numpy_integers_are_taken_as_counts(tmp_path):
    # They were refused: "batch_size must be a positive integer, got np.int64(2)".
    import numpy as np

    import unitune

    study = unitune.optimize(value_of, {"x": Float(0.0, 1.0)}, n_trials=np.int64(3), seed=0,
                             batch_size=np.int64(2), executor="processes", max_retries=np.int64(1),
                             max_consecutive_failures=np.int32(2), timeout=np.float64(60),
                             trial_timeout=np.float32(60), storage=tmp_path / "s.db", study_name="s")
    assert sorted(t.number for t in study.trials) == [0, 1, 2]
    _assert_complete(study.trials, {0, 1, 2})
    study = Study({"x": Float(0.0, 1.0)}, seed=0)
    handles = study.ask_batch(np.int64(2))
    assert [study.tell(h, value_of(h.params)).state for h in handles] == [TrialState.COMPLETE] * 2


@pytest.mark.timeout(60)
def test_sigterm_handler_is_only_ours_while_optimize_runs():
    seen = []

    def objective(params):
        seen.append(signal.getsignal(signal.SIGTERM))
        return params["x"]

    before = signal.getsignal(signal.SIGTERM)
    Study({"x": Float(0.0, 1.0)}, seed=0).optimize(objective, n_trials=2)
    assert signal.getsignal(signal.SIGTERM) is before
    assert seen and all(h is not before and callable(h) for h in seen)


@pytest.mark.timeout(120)
def test_a_worker_forked_while_optimize_runs_ends_on_sigterm_as_without_unitune(tmp_path):
    # A ProcessPoolExecutor forks its workers at its first task, inside optimize: they inherited
    # the driver's SIGTERM handler, so a SIGTERM raised Terminated inside the objective, the
    # worker lived on, and the trial was recorded as one "the executor lost".
    study = Study(_space(tmp_path, victim=1), seed=0)
    before = signal.getsignal(signal.SIGTERM)
    with (ProcessPoolExecutor(max_workers=1) as pool,
          pytest.raises(UnituneError, match="the executor cannot run trials any more")):
        study.optimize(terminates_itself, n_trials=4, executor=pool)
    assert signal.getsignal(signal.SIGTERM) is before
    by_number = {t.number: t for t in study.trials}
    assert sorted(by_number) == [0, 1, 2]
    _assert_complete(study.trials, {0})
    assert by_number[1].state is TrialState.INTERRUPTED
    assert by_number[1].failure.startswith("a worker died and the executor broke")
    assert by_number[2].state is TrialState.INTERRUPTED  # asked, never run: the pool was broken


@pytest.mark.timeout(120)
def test_a_pool_broken_by_an_idle_worker_dying_is_replaced(tmp_path):
    """pebble gives up on its whole pool when a worker dies with no task running anywhere; the
    study starts a fresh pool and goes on."""
    from faults import killed_while_idle

    first = tmp_path / "pid-0"

    def pause_after_the_first(study, trial):
        if trial.number == 0:  # nothing runs now: the worker dies idle, and the pool breaks
            assert wait_for(lambda: first.exists() and not pid_alive(int(first.read_text())), 30)
            time.sleep(0.5)  # let the pool notice

    study = Study(_space(tmp_path, victim=0), seed=0)
    said = []
    handler = logging.Handler(logging.WARNING)
    handler.emit = lambda record: said.append(record.getMessage())
    logging.getLogger("unitune").addHandler(handler)
    try:
        study.optimize(killed_while_idle, n_trials=4, executor="processes",
                       callbacks=[pause_after_the_first])
    finally:
        logging.getLogger("unitune").removeHandler(handler)
    assert "the process pool broke; starting a fresh one" in said
    assert [t.number for t in study.trials] == [0, 1, 2, 3]
    _assert_complete(study.trials, range(4))
    assert int((tmp_path / "pid-1").read_text()) != int(first.read_text())


def _nested_objective():
    def objective(params):
        return value_of(params)
    return objective


@pytest.mark.timeout(120)
@pytest.mark.parametrize("objective", [lambda p: value_of(p), _nested_objective()], ids=["lambda", "nested"])
@pytest.mark.parametrize("pool", ["processes", "user ProcessPoolExecutor"])
def test_an_objective_workers_cannot_receive_is_refused_before_any_trial(objective, pool):
    # Before, every trial came back INTERRUPTED ("the executor lost the trial"), uncounted, so a
    # timeout-bound study asked thousands of them and optimize returned as if nothing was wrong.
    study = Study({"x": Float(0.0, 1.0)}, seed=0)
    with contextlib.ExitStack() as stack:
        executor = "processes" if pool == "processes" else stack.enter_context(ProcessPoolExecutor(1))
        with pytest.raises(UnituneError, match=r"objective cannot be sent to worker processes .*top level"):
            study.optimize(objective, timeout=30, batch_size=2, executor=executor)
    assert list(study.trials) == []
    # The same objective in threads runs (nothing to pickle there).
    with ThreadPoolExecutor(2) as threads:
        study.optimize(objective, n_trials=2, executor=threads)
    _assert_complete(study.trials, range(2))


@pytest.mark.timeout(120)
def test_a_result_that_cannot_travel_back_fails_its_trial_and_counts():
    study = Study({"x": Float(0.0, 1.0)}, seed=0)
    study.optimize(unpicklable_result, n_trials=3, batch_size=2, executor="processes")
    assert [t.state for t in study.trials] == [TrialState.FAILED] * 3
    for trial in study.trials:
        assert "result could not be sent back from its worker" in trial.failure
        assert "pickle" in trial.failure


@pytest.mark.timeout(120)
def test_a_result_holding_a_lambda_fails_its_trial_once_and_keeps_its_worker(tmp_path):
    path = tmp_path / "study.db"
    study = Study(_space(tmp_path, victim=-1), seed=0, storage=path)
    study.optimize(result_with_a_lambda, n_trials=3, batch_size=2, executor="processes")
    study.close()
    assert sorted(t.number for t in study.trials) == [0, 1, 2]
    for trial in study.trials:
        assert trial.state is TrialState.FAILED
        assert "result could not be sent back from its worker" in trial.failure
        assert "Can't pickle local object" in trial.failure  # not "its worker process died"
    assert sorted((tmp_path / "runs").read_text().split()) == ["0", "1", "2"]  # each ran once
    with Study(_space(tmp_path, victim=-1), seed=0, storage=path, resume=True) as again:
        assert [(t.number, t.state) for t in again.trials] == [(t.number, t.state) for t in study.trials]
