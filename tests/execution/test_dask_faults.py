"""Faults on a real Dask LocalCluster on 127.0.0.1: dead workers, hung trials past their limit,
results stored once. Dask gives up on a task whose worker died after ``allowed-failures``
re-runs (0 here, so that unitune's own retry is what runs it again)."""

from __future__ import annotations

import threading

import pytest
from faults import (
    always_exits,
    dies_when_its_result_is_fetched,
    hangs,
    killed_once,
    pid_alive,
    raises_base_exception,
    value_of,
    wait_for,
    waits_for_release,
)

from unitune import Float, Study, TrialState

pytest.importorskip("distributed")


def _space(tmp_path, victim: int) -> dict:
    return {"x": Float(0.0, 1.0), "dir": str(tmp_path), "victim": victim}


def _complete(trials, numbers) -> None:
    for t in trials:
        if t.number in numbers:
            assert t.state is TrialState.COMPLETE, (t.number, t.state, t.failure)
            assert t.value == pytest.approx(value_of(t.params))


@pytest.mark.slow
@pytest.mark.timeout(240)
def test_a_dask_worker_killed_once_the_trial_is_retried(dask_fault_client, tmp_path):
    study = Study(_space(tmp_path, victim=1), seed=0)
    study.optimize(killed_once, n_trials=5, batch_size=2, executor=dask_fault_client.get_executor(pure=False))
    assert (tmp_path / "killed-1").exists()
    assert sorted(t.number for t in study.trials) == list(range(5))  # each trial stored once
    _complete(study.trials, range(5))


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_an_objective_killing_its_dask_worker_every_time_fails_after_the_retries(dask_fault_client, tmp_path):
    study = Study(_space(tmp_path, victim=0), seed=0)
    # One trial at a time: a dying worker also takes down whatever else it held (queued tasks,
    # results not yet gathered), and with allowed-failures=0 those bystanders would use up their
    # own retries too. That cost is documented; here the victim alone is under test.
    study.optimize(always_exits, n_trials=4, batch_size=1, executor=dask_fault_client.get_executor(pure=False),
                   max_retries=1)
    by_number = {t.number: t for t in study.trials}
    assert sorted(by_number) == list(range(4))
    assert by_number[0].state is TrialState.FAILED
    assert "Dask worker died" in by_number[0].failure
    assert "gave up after 2 attempt(s) (max_retries=1)" in by_number[0].failure
    assert len((tmp_path / "attempts").read_text().split()) == 2
    _complete(study.trials, {1, 2, 3})


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_a_hung_dask_trial_past_its_limit_fails_and_its_worker_is_restarted(dask_fault_client, tmp_path):
    study = Study(_space(tmp_path, victim=1), seed=0)
    study.optimize(hangs, n_trials=5, batch_size=2, executor=dask_fault_client.get_executor(pure=False),
                   trial_timeout=3)
    by_number = {t.number: t for t in study.trials}
    assert sorted(by_number) == list(range(5))
    assert by_number[1].state is TrialState.FAILED
    assert "trial_timeout of 3 s exceeded" in by_number[1].failure
    assert "restarted" in by_number[1].failure, by_number[1].failure
    _complete(study.trials, {0, 2, 3, 4})
    hung_pid = int((tmp_path / "hung-1").read_text())
    assert wait_for(lambda: not pid_alive(hung_pid), 60)  # the worker process really went away
    assert len(dask_fault_client.scheduler_info()["workers"]) >= 1


@pytest.mark.slow
@pytest.mark.timeout(240)
def test_a_result_lost_with_its_worker_is_computed_again_and_stored_once(dask_fault_client, tmp_path):
    # Trial 1 finishes; its worker dies as its result is being fetched. Dask runs the task again
    # (at-least-once), so the objective ran twice; the study records the trial once.
    study = Study(_space(tmp_path, victim=1), seed=0)
    study.optimize(dies_when_its_result_is_fetched, n_trials=3, batch_size=1,
                   executor=dask_fault_client.get_executor(pure=False))
    killed = int((tmp_path / "shipped").read_text())
    runs = [int(pid) for pid in (tmp_path / "runs-1").read_text().split()]
    assert len(runs) == 2 and runs[0] == killed and runs[1] != killed  # computed again elsewhere
    assert [t.number for t in study.trials] == [0, 1, 2]  # stored once
    _complete(study.trials, {0, 1, 2})
    assert dict(study.trials[1].user_attrs) == {"shipped": "shipped"}  # the second run's result
    assert wait_for(lambda: not pid_alive(killed), 30)


@pytest.mark.slow
@pytest.mark.timeout(120)
def test_a_base_exception_from_the_objective_fails_its_trial_on_dask(dask_client, tmp_path):
    # Dask's worker does not hand back a BaseException: the driver waited 120 s for the result,
    # twice (retried), then recorded the trial FAILED as "lost with its worker".
    study = Study(_space(tmp_path, victim=1), seed=0)
    study.optimize(raises_base_exception, n_trials=4, batch_size=2,
                   executor=dask_client.get_executor(pure=False))
    by_number = {t.number: t for t in study.trials}
    assert sorted(by_number) == [0, 1, 2, 3]
    assert by_number[1].state is TrialState.FAILED
    assert by_number[1].failure.startswith("Abort: aborted trial 1")
    _complete(study.trials, {0, 2, 3})


@pytest.mark.timeout(120)
def test_the_dask_client_itself_is_an_executor(dask_client):
    import os

    def where(params):
        return {"loss": value_of(params), "pid": float(os.getpid())}

    study = Study({"x": Float(0.0, 1.0)}, seed=0, metric="loss")
    study.optimize(where, n_trials=4, batch_size=2, executor=dask_client)
    assert sorted(t.number for t in study.trials) == [0, 1, 2, 3]
    assert all(t.state is TrialState.COMPLETE and t.value == pytest.approx(value_of(t.params))
               for t in study.trials)
    assert os.getpid() not in {int(t.metrics["pid"]) for t in study.trials}


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_trials_cancelled_by_a_client_restart_run_again(dask_fault_client, tmp_path):
    # client.restart() cancels every task: a cancellation the runner did not ask for means the
    # trial may never have run, so it runs again (it was recorded INTERRUPTED, silently).
    starts = tmp_path / "starts"

    def restart_once_two_trials_run():
        wait_for(lambda: starts.exists() and len(starts.read_text().split()) >= 2, 120)
        dask_fault_client.restart()
        (tmp_path / "release").write_text("go")

    restarter = threading.Thread(target=restart_once_two_trials_run)
    restarter.start()
    study = Study(_space(tmp_path, victim=-1), seed=0)
    try:
        # max_retries=3: a retry sent while the workers restart may die with them (allowed-failures
        # is 0 on this cluster), which costs an attempt too
        study.optimize(waits_for_release, n_trials=4, batch_size=2, max_retries=3,
                       executor=dask_fault_client.get_executor(pure=False))
    finally:
        restarter.join()
    assert sorted(t.number for t in study.trials) == list(range(4))  # each trial stored once
    _complete(study.trials, range(4))
    runs = starts.read_text().split()
    assert runs.count("0") >= 2 and runs.count("1") >= 2  # the two cut short ran again


@pytest.mark.timeout(240)
@pytest.mark.parametrize(("deterministic", "config"), [
    (False, {}),
    (True, {}),
    (False, {"distributed.scheduler.worker-saturation": "inf"}),  # tasks held unrunnable, not queued
], ids=["free-running", "deterministic", "no-task-queuing"])
def test_a_dask_cluster_without_workers_stops_the_study_once_the_scheduler_gives_up(caplog, deterministic, config):
    """No worker ever joins: with the scheduler's no-workers-timeout set (on the scheduler only,
    as in a real cluster), the first batch's trials are recorded INTERRUPTED (they never ran) and
    optimize stops with an error naming the cause, instead of asking batch after batch; the
    warning at the start says what the scheduler will do."""
    from conftest import local_dask_client
    from unitune.errors import UnituneError

    with local_dask_client(n_workers=0, **{"distributed.scheduler.no-workers-timeout": "1s", **config}) as client:
        study = Study({"x": Float(0.0, 1.0)}, backend="random", seed=0)
        with caplog.at_level("WARNING", logger="unitune"), \
                pytest.raises(UnituneError, match=r"could not run: the Dask cluster had no workers to run it"):
            study.optimize(value_of, n_trials=20, batch_size=3, executor=client, deterministic=deterministic)
    assert ("the Dask cluster has no workers: trials wait until one joins, for at most 1 s (the "
            "scheduler's distributed.scheduler.no-workers-timeout): then they fail and the study stops"
            ) in caplog.text
    assert sorted(t.number for t in study.trials) == [0, 1, 2]  # one batch: nothing asked after the stop
    assert {t.state for t in study.trials} == {TrialState.INTERRUPTED}
    assert all(t.values is None for t in study.trials)
    assert any("had no workers to run it" in t.failure for t in study.trials)
    if deterministic or config:
        return
    # Continued where workers exist, the study goes on from there.
    with local_dask_client(n_workers=1) as client:
        study.optimize(value_of, n_trials=2, executor=client)
    finished = [t for t in study.trials if t.state is TrialState.COMPLETE]
    assert len(finished) == 2 and all(t.value == pytest.approx(value_of(t.params)) for t in finished)


@pytest.mark.timeout(120)
def test_a_dask_cluster_without_workers_and_no_timeout_is_named_in_a_warning(caplog):
    """Without the scheduler's setting trials wait (an adaptive cluster may scale up from zero):
    the warning says so and names the setting; the study's own timeout still ends the wait."""
    from conftest import local_dask_client

    with local_dask_client(n_workers=0) as client, caplog.at_level("WARNING", logger="unitune"):
        study = Study({"x": Float(0.0, 1.0)}, backend="random", seed=0)
        study.optimize(value_of, n_trials=4, batch_size=2, executor=client, timeout=3)
    assert ("the Dask cluster has no workers: trials wait until one joins (set the scheduler's "
            "distributed.scheduler.no-workers-timeout to have them fail and the study stop)") in caplog.text
    assert sorted(t.number for t in study.trials) == [0, 1]
    assert {t.state for t in study.trials} == {TrialState.INTERRUPTED}
    assert all("study timeout of 3 s reached" in t.failure for t in study.trials)


@pytest.mark.timeout(120)
@pytest.mark.parametrize(("config", "then"), [
    ({}, "until one joins (set the scheduler's distributed.scheduler.no-workers-timeout to have them "
         "fail and the study stop)"),
    ({"distributed.scheduler.no-workers-timeout": "60s"},
     "until one joins, for at most 60 s (the scheduler's distributed.scheduler.no-workers-timeout): "
     "then they fail and the study stops"),
], ids=["no-scheduler-timeout", "scheduler-timeout"])
def test_trials_waiting_on_a_cluster_with_no_workers_are_named_in_a_warning_while_they_wait(
        caplog, monkeypatch, config, then):
    """A cluster that has no worker (lost them all mid-run, or never had one): while trials
    wait, the driver counts the workers now and then and, when two counts in a row find none,
    says once that trials wait and what ends the wait as the scheduler is set (here the study's
    own timeout ends it first)."""
    from conftest import local_dask_client
    from unitune.execution import runners

    monkeypatch.setattr(runners, "_WORKER_LOOK", 0.3)  # a look every 0.3 s instead of every minute
    with local_dask_client(n_workers=0, **config) as client, caplog.at_level("WARNING", logger="unitune"):
        study = Study({"x": Float(0.0, 1.0)}, backend="random", seed=0)
        study.optimize(value_of, n_trials=2, batch_size=2, executor=client, timeout=4)
    said = [r.getMessage() for r in caplog.records if "had no workers at two counts" in r.getMessage()]
    assert len(said) == 1, said
    assert said[0].endswith(f"; 2 trial(s) wait {then}"), said[0]
    assert sorted(t.number for t in study.trials) == [0, 1]
    assert {t.state for t in study.trials} == {TrialState.INTERRUPTED}


@pytest.mark.timeout(120)
def test_a_restricted_trial_on_a_cluster_without_workers_stops_the_study_at_once():
    """A task with resource restrictions fails with NoValidWorkerError, not NoWorkerError, when
    it waited unrunnable: with no worker in the cluster that also stops the study, at the first
    trial."""
    from conftest import local_dask_client
    from unitune.errors import UnituneError

    with local_dask_client(n_workers=0, **{"distributed.scheduler.no-workers-timeout": "1s"}) as client:
        study = Study({"x": Float(0.0, 1.0)}, backend="random", seed=0)
        executor = client.get_executor(pure=False, resources={"GPU": 1})
        with pytest.raises(UnituneError, match=r"no workers to run it \(Attempted to run .* valid worker"):
            study.optimize(value_of, n_trials=6, batch_size=1, executor=executor)
    assert [(t.number, t.state) for t in study.trials] == [(0, TrialState.INTERRUPTED)]
