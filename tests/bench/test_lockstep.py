"""The lockstep timer: two loops take turns at every objective call, in threads or processes, both orientations."""

from __future__ import annotations

import gc
import multiprocessing
import os
import threading

import pytest
from unitune_bench.lockstep import (
    CollectorClock,
    Crossover,
    LockstepError,
    Side,
    crossover,
    run_lockstep,
    run_lockstep_processes,
)


def _loop(tag: str, n_trials: int, log: list[tuple[str, str, int]]):
    """A loop calling the objective n_trials times; logs (tag, thread, trial) before each call."""

    def loop(objective):
        values = []
        for i in range(n_trials):
            log.append((tag, threading.current_thread().name, i))
            values.append(objective({"i": i}))
        return values

    return loop


def test_sides_alternate_trial_by_trial_and_return_their_results():
    log: list[tuple[str, str, int]] = []
    first, second = run_lockstep(lambda p: p["i"] * 10, _loop("a", 4, log), _loop("b", 4, log))
    assert [(tag, i) for tag, _, i in log] == [
        ("a", 0), ("b", 0), ("a", 1), ("b", 1), ("a", 2), ("b", 2), ("a", 3), ("b", 3)
    ]
    main = threading.main_thread().name
    assert {thread for tag, thread, _ in log if tag == "b"} == {main}
    assert {thread for tag, thread, _ in log if tag == "a"} == {"unitune-lockstep"}
    assert first.result == second.result == [0, 10, 20, 30]


def test_a_side_with_fewer_trials_leaves_the_other_to_run_alone():
    log: list[tuple[str, str, int]] = []
    first, second = run_lockstep(lambda p: p["i"], _loop("a", 2, log), _loop("b", 5, log))
    assert [(tag, i) for tag, _, i in log] == [
        ("a", 0), ("b", 0), ("a", 1), ("b", 1), ("b", 2), ("b", 3), ("b", 4)
    ]
    assert (first.result, second.result) == ([0, 1], [0, 1, 2, 3, 4])


@pytest.mark.parametrize("failing", ["thread", "main"])
def test_an_error_in_either_loop_is_raised_after_the_other_finished(failing):
    log: list[tuple[str, str, int]] = []

    def broken(objective):
        objective({"i": 0})
        raise ValueError("loop broke")

    loops = [broken, _loop("ok", 3, log)] if failing == "thread" else [_loop("ok", 3, log), broken]
    with pytest.raises(ValueError, match="loop broke"):
        run_lockstep(lambda p: p["i"], *loops)
    assert [i for _, _, i in log] == [0, 1, 2]  # the healthy loop ran to its end


def test_thread_cpu_time_counts_only_the_sides_own_work():
    def busy(objective):
        total = 0
        for i in range(3):
            total += sum(range(300_000))  # this side's own work, between its objective calls
            objective({"i": i})
        return total

    def idle(objective):
        return [objective({"i": i}) for i in range(3)]

    heavy, light = run_lockstep(lambda p: 0, busy, idle)
    # The idle side waits for its turn while the busy one computes: waiting costs no CPU.
    assert heavy.cpu_seconds > 5 * light.cpu_seconds


def test_young_collections_are_counted_apart_from_the_side_that_set_them_off():
    """Two threads share one collector: a collection is left out of the seconds of the side whose
    allocation set it off, and counted for it."""

    class Node:
        def __init__(self):
            self.me = self  # a cycle: only the collector frees it

    def cyclic(objective):
        for i in range(4):
            for _ in range(20_000):
                Node()
            objective({"i": i})
        return "cyclic"

    def plain(objective):
        return [objective({"i": i}) for i in range(4)]

    assert gc.isenabled()
    garbage, clean = run_lockstep(lambda p: 0, cyclic, plain)
    assert garbage.result == "cyclic" and clean.result == [0, 0, 0, 0]
    assert garbage.collections > 10 and garbage.collector_seconds > 0  # 80,000 cycles, threshold 700
    assert clean.collections == 0 and clean.collector_seconds == 0.0
    assert not any(isinstance(callback, CollectorClock) for callback in gc.callbacks)  # gone after the run


def test_crossover_runs_both_orientations_and_cancels_the_threads_share():
    orientations = []

    def loop_of(tag):
        def loop(objective):
            orientations.append((tag, threading.current_thread().name))
            return [objective({"i": i}) for i in range(2)]

        return loop

    calls = []
    pair = crossover(lambda p: p["i"], loop_of("a"), loop_of("b"), between=lambda: calls.append(1))
    assert sorted(orientations) == [
        ("a", "MainThread"), ("a", "unitune-lockstep"), ("b", "MainThread"), ("b", "unitune-lockstep")
    ]
    assert calls == [1, 1]
    assert all(side.result == [0, 1] for side in (*pair.a, *pair.b))


def test_crossover_ratio_is_the_geometric_mean_of_both_orientations():
    # a costs 1 s in the thread and 1.2 s in the main thread; b costs 2.4 s in main, 2 s in the thread:
    # b is twice as costly as a wherever both run, and the main thread adds 20 % to either.
    pair = Crossover(a=(Side(1.0, None), Side(1.2, None)), b=(Side(2.4, None), Side(2.0, None)))
    assert pair.ratio == pytest.approx(2.0)
    assert pair.main_thread_ratios == pytest.approx((2.4, 2.0 / 1.2))


# Two processes: the same turns, each side with its own heap and collector. The loops below are
# closures: they reach the processes by fork, not by pickling.
needs_fork = pytest.mark.skipif("fork" not in multiprocessing.get_all_start_methods(), reason="no fork here")


def _shared_counter():
    """An objective returning a sequence number shared by both processes (fork inherits it)."""
    counter = multiprocessing.Value("i", 0)

    def next_number(params):
        with counter.get_lock():
            counter.value += 1
            return counter.value - 1

    return next_number


def _prepared(n_trials: int):
    def prepare():
        def loop(objective):
            return [(os.getpid(), objective({"i": i})) for i in range(n_trials)]

        return loop

    return prepare


@needs_fork
def test_processes_take_turns_trial_by_trial_each_in_its_own_process():
    first, second = run_lockstep_processes(_shared_counter(), _prepared(3), _prepared(5))
    assert [n for _, n in first.result] == [0, 2, 4]
    assert [n for _, n in second.result] == [1, 3, 5, 6, 7]  # alone once the first side is done
    pids = {pid for pid, _ in first.result}, {pid for pid, _ in second.result}
    assert len(pids[0]) == len(pids[1]) == 1 and pids[0] != pids[1] and os.getpid() not in pids[0] | pids[1]


@needs_fork
def test_process_cpu_time_counts_a_sides_helper_threads():
    def with_busy_helper():
        def loop(objective):
            helper = threading.Thread(target=lambda: sum(range(3_000_000)))
            helper.start()
            helper.join()  # the side's own thread waits; its helper computes
            return [objective({"i": 0})]

        return loop

    helped, idle = run_lockstep_processes(lambda p: 0, with_busy_helper, _prepared(1))
    assert helped.cpu_seconds > 5 * idle.cpu_seconds


@needs_fork
def test_a_side_failing_to_prepare_is_reported_with_its_traceback():
    def broken():
        raise ValueError("no such library")

    with pytest.raises(LockstepError, match="no such library"):
        run_lockstep_processes(lambda p: 0, _prepared(2), broken)


@needs_fork
def test_a_side_whose_process_dies_is_reported_and_the_other_runs_to_its_end():
    def dying():
        def loop(objective):
            objective({"i": 0})
            os._exit(3)

        return loop

    with pytest.raises(LockstepError, match=r"side 0 .*died \(exit code 3\)") as caught:
        run_lockstep_processes(lambda p: 0, dying, _prepared(4))
    assert "side 1" not in str(caught.value)  # the healthy side finished and reported


@needs_fork
def test_crossover_in_processes_starts_each_side_first_once():
    pair = crossover(_shared_counter(), _prepared(2), _prepared(2), runner=run_lockstep_processes)
    # a first: a gets 0, 2; then b first: b gets 4, 6 (the counter runs on across both runs).
    assert [n for _, n in pair.a[0].result] == [0, 2] and [n for _, n in pair.b[0].result] == [1, 3]
    assert [n for _, n in pair.b[1].result] == [4, 6] and [n for _, n in pair.a[1].result] == [5, 7]
