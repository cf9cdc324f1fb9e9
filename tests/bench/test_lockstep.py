"""The lockstep timer: two loops take turns at every objective call, in threads, both orientations."""

from __future__ import annotations

import threading

import pytest
from unitune_bench.lockstep import Crossover, Side, crossover, run_lockstep


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
