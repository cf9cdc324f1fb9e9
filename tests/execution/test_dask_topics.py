"""The Dask event topic a timed optimize announces its trials' starts on is removed from the
scheduler when the optimize ends (a long-lived cluster would otherwise keep one per call), also
with two studies at once on one client, and a failed removal never fails the study. Real Dask
LocalClusters on 127.0.0.1 (tests/conftest.py)."""

from __future__ import annotations

import logging
import pickle
import subprocess
import sys
import threading
import uuid
from collections import defaultdict, deque
from concurrent.futures import ThreadPoolExecutor

import pytest
from faults import hangs, value_of, wait_for

from unitune import Float, Study, TrialState
from unitune.execution import runners
from unitune.execution.runners import DaskRunner, _remove_topic

distributed = pytest.importorskip("distributed")
cloudpickle = pytest.importorskip("cloudpickle")

PREFIX = "unitune-started-"


def _held(dask_scheduler=None) -> dict[str, int]:
    """Run on the scheduler: unitune's event topics it holds, with how many events each."""
    broker = getattr(dask_scheduler, "_broker", None)
    if broker is not None:  # distributed since mid-2024
        topics = {name: len(topic.events) for name, topic in broker._topics.items()}
    else:
        topics = {name: len(events) for name, events in dask_scheduler.events.items()}
    return {name: count for name, count in topics.items() if name.startswith(PREFIX)}


def _topics(client) -> dict[str, int]:
    return client.run_on_scheduler(_held)


def _subscribed(topic: str, dask_scheduler=None) -> list[str] | None:
    """Run on the scheduler: the clients subscribed to ``topic`` (None: no such topic),
    without creating it."""
    broker = getattr(dask_scheduler, "_broker", None)
    if broker is not None:
        held = broker._topics.get(topic)
        return None if held is None else sorted(held.subscribers)
    return sorted(dask_scheduler.event_subscriber.get(topic, ()))


def _space(directory, victim: int) -> dict:
    return {"x": Float(0.0, 1.0), "dir": str(directory), "victim": victim}


def _complete(trials, numbers) -> None:
    by_number = {t.number: t for t in trials}
    for number in numbers:
        trial = by_number[number]
        assert trial.state is TrialState.COMPLETE, (number, trial.state, trial.failure)
        assert trial.value == pytest.approx(value_of(trial.params))


def test_a_timed_optimize_leaves_no_event_topic_on_the_scheduler(dask_client):
    assert _topics(dask_client) == {}
    seen: list[dict[str, int]] = []  # the scheduler's unitune topics after each trial

    def look(study, trial):
        seen.append(_topics(dask_client))

    study = Study({"x": Float(0.0, 1.0)}, seed=0)
    study.optimize(value_of, n_trials=6, batch_size=2, executor=dask_client.get_executor(pure=False),
                   trial_timeout=60, callbacks=[look])
    assert sorted(t.number for t in study.trials) == list(range(6))
    _complete(study.trials, range(6))
    # While it ran, one topic held the start of each trial; once it returned, nothing is left.
    assert len(seen) == 6
    names = {name for snapshot in seen for name in snapshot}
    assert len(names) == 1
    assert seen[-1] == {names.pop(): 6}
    assert _topics(dask_client) == {}


def test_the_client_forgets_the_topic_handler_too(dask_client, monkeypatch):
    # Client.unsubscribe_topic keeps the handler, and through it the runner, in the client.
    monkeypatch.setattr(runners, "_LATE_EVENTS", 0.2)
    handled: set[str] = set()  # this study's topics the client had a handler for while it ran

    def look(study, trial):
        handled.update(name for name in _topics(dask_client) if name in dask_client._event_handlers)

    study = Study({"x": Float(0.0, 1.0)}, seed=3)
    study.optimize(value_of, n_trials=2, batch_size=2, executor=dask_client, trial_timeout=60,
                   callbacks=[look])
    _complete(study.trials, range(2))
    [topic] = handled
    assert wait_for(lambda: topic not in dask_client._event_handlers, 60)
    assert _topics(dask_client) == {}


def test_a_runner_closed_at_once_leaves_nothing_either(dask_client, monkeypatch):
    # Its subscription may reach the scheduler after the removal (another connection): the
    # second removal takes it away then.
    monkeypatch.setattr(runners, "_LATE_EVENTS", 0.5)
    runner = DaskRunner(dask_client, trial_timeout=60)
    runner.close()
    assert wait_for(lambda: _topics(dask_client) == {}, 60)


def test_optimize_without_trial_timeout_uses_no_event_topic(dask_client):
    seen: list[dict[str, int]] = []
    study = Study({"x": Float(0.0, 1.0)}, seed=1)
    study.optimize(value_of, n_trials=3, batch_size=2, executor=dask_client,
                   callbacks=[lambda study, trial: seen.append(_topics(dask_client))])
    _complete(study.trials, range(3))
    assert seen == [{}, {}, {}]
    assert _topics(dask_client) == {}


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_two_studies_at_once_on_one_client_each_remove_only_their_own_topic(dask_fault_client, tmp_path):
    # A and B run side by side (a barrier after each one's first trial). A ends and removes its
    # topic while B waits; B's next trial then hangs, and is still timed from the start it
    # announces on its own topic, failed past its limit and its worker restarted.
    client = dask_fault_client
    both_running = threading.Barrier(2)
    a_done = threading.Event()
    seen: dict[str, dict[str, int]] = {}

    def a_first(study, trial):
        if trial.number == 0:
            both_running.wait(timeout=120)
            seen["both"] = _topics(client)

    def b_first(study, trial):
        if trial.number == 0:
            both_running.wait(timeout=120)
            assert a_done.wait(timeout=120), "study A did not end"

    def run_a():
        (tmp_path / "a").mkdir()
        study = Study(_space(tmp_path / "a", victim=-1), seed=0)
        study.optimize(hangs, n_trials=2, batch_size=1, executor=client.get_executor(pure=False),
                       trial_timeout=60, callbacks=[a_first])
        seen["after_a"] = _topics(client)
        a_done.set()
        return study

    def run_b():
        (tmp_path / "b").mkdir()
        study = Study(_space(tmp_path / "b", victim=1), seed=1)
        study.optimize(hangs, n_trials=3, batch_size=1, executor=client.get_executor(pure=False),
                       trial_timeout=3, callbacks=[b_first])
        return study

    with ThreadPoolExecutor(2) as pool:
        a, b = pool.submit(run_a), pool.submit(run_b)
        study_a, study_b = a.result(timeout=240), b.result(timeout=240)

    assert len(seen["both"]) == 2  # a topic each
    assert len(seen["after_a"]) == 1 and set(seen["after_a"]) < set(seen["both"])  # B's stays
    assert sorted(t.number for t in study_a.trials) == [0, 1]
    _complete(study_a.trials, {0, 1})
    by_number = {t.number: t for t in study_b.trials}
    assert sorted(by_number) == [0, 1, 2]
    _complete(study_b.trials, {0, 2})
    assert by_number[1].state is TrialState.FAILED
    assert by_number[1].value is None
    assert "trial_timeout of 3 s exceeded" in by_number[1].failure
    assert "restarted" in by_number[1].failure, by_number[1].failure
    assert _topics(client) == {}


def test_a_failed_removal_is_logged_and_the_study_still_ends_well(dask_client, monkeypatch, caplog):
    run_on_scheduler = dask_client.run_on_scheduler

    def unreachable(*args, **kwargs):
        raise OSError("scheduler unreachable")

    monkeypatch.setattr(dask_client, "run_on_scheduler", unreachable)
    study = Study({"x": Float(0.0, 1.0)}, seed=2)
    try:
        with caplog.at_level(logging.WARNING, logger="unitune"):
            study.optimize(value_of, n_trials=3, batch_size=2, executor=dask_client, trial_timeout=60)
        monkeypatch.undo()
        _complete(study.trials, range(3))
        [warning] = [r for r in caplog.records if "could not remove Dask event topic" in r.getMessage()]
        assert warning.levelno == logging.WARNING
        assert "OSError: scheduler unreachable" in warning.getMessage()
        left = _topics(dask_client)
        [(name, count)] = left.items()
        assert name in warning.getMessage()  # the topic named is the one left behind
        assert count == 3  # a start each
        # ... and this client unsubscribed from it: no more events come its way
        assert wait_for(lambda: dask_client.run_on_scheduler(_subscribed, name) == [], 60)
    finally:
        monkeypatch.undo()
        # An unsubscribe still on its way would bring a removed topic back (empty): wait for it.
        wait_for(lambda: not any(run_on_scheduler(_subscribed, n) for n in _topics(dask_client)), 60)
        for name in _topics(dask_client):
            run_on_scheduler(_remove_topic, name)
    assert _topics(dask_client) == {}


def test_closing_after_the_client_closed_does_not_raise(dask_client):
    other = distributed.Client(dask_client.scheduler.address, set_as_default=False)
    try:
        runner = DaskRunner(other.get_executor(pure=False), trial_timeout=60)
        topic = runner._topic
        assert wait_for(lambda: topic in _topics(dask_client), 60)  # its subscription arrived
    finally:
        other.close()
    runner.close()
    runner.close()  # idempotent
    # That client went before its runner could reach the scheduler; clear what it left there.
    dask_client.run_on_scheduler(_remove_topic, topic)
    assert _topics(dask_client) == {}


def test_a_start_announced_after_the_removal_is_swept_later(dask_client):
    topic = f"{PREFIX}late-{uuid.uuid4().hex[:8]}"

    def remove_then_announce(dask_scheduler=None):
        # in one go on the scheduler's loop, so the second sweep cannot run in between
        dask_scheduler.log_event(topic, {"key": "early", "worker": "w"})
        problem = _remove_topic(topic, 0.2, dask_scheduler=dask_scheduler)
        removed = topic not in _held(dask_scheduler)
        dask_scheduler.log_event(topic, {"key": "late", "worker": "w"})
        return problem, removed, _held(dask_scheduler).get(topic)

    assert dask_client.run_on_scheduler(remove_then_announce) == (None, True, 1)
    assert wait_for(lambda: topic not in _topics(dask_client), 60)


def test_the_removal_travels_by_value_and_knows_older_schedulers():
    # The scheduler's machine may lack unitune: the function must load without importing it.
    # Before mid-2024 a distributed scheduler kept events in three tables keyed by topic.
    script = """if True:
        import pickle, sys
        from collections import defaultdict, deque
        sys.modules["unitune"] = None  # import unitune now fails
        remove = pickle.loads(sys.stdin.buffer.read())
        class Scheduler:
            events = defaultdict(deque, {"t": deque([(0.0, {})]), "other": deque([(0.0, {})])})
            event_counts = defaultdict(int, {"t": 1, "other": 1})
            event_subscriber = defaultdict(set, {"t": {"client"}})
        print(remove("t", 30.0, dask_scheduler=Scheduler),
              sorted(Scheduler.events), sorted(Scheduler.event_counts), sorted(Scheduler.event_subscriber))
        print(remove("t", dask_scheduler=object()))
    """
    done = subprocess.run([sys.executable, "-c", script], input=cloudpickle.dumps(_remove_topic),
                          capture_output=True, timeout=120)
    assert done.returncode == 0, done.stderr.decode()
    lines = done.stdout.decode().splitlines()
    assert lines[0] == "None ['other'] ['other'] []"
    assert "unitune does not look" in lines[1]
    # And in this process, on the same tables:
    scheduler = type("Scheduler", (), {"events": defaultdict(deque, {"t": deque([1])}),
                                       "event_counts": {"t": 1}, "event_subscriber": {"t": {"c"}}})
    assert _remove_topic("t", dask_scheduler=scheduler) is None
    assert (dict(scheduler.events), scheduler.event_counts, scheduler.event_subscriber) == ({}, {}, {})
    assert pickle.loads(cloudpickle.dumps(_remove_topic))("t", dask_scheduler=scheduler) is None
