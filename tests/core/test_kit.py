"""The adapter template, unitune.kit.KitBackend: what it does for every adapter, on a small real backend."""

from __future__ import annotations

import math

import numpy as np
import pytest

from unitune import Categorical, Constant, Float, Int, Space
from unitune.backend import Algorithm
from unitune.errors import BackendError, SearchExhausted
from unitune.kit import FlatCodec, KitBackend, WorstLoss, derive_seed
from unitune.trial import Trial, TrialState

SPACE = Space({"x": Float(0.0, 1.0), "k": Categorical(["a", "b"])})


class Journal(KitBackend):
    """Proposes the trial number as a native handle and writes down every hook call."""

    name = "journal"
    algorithms = {"journal": Algorithm("records the template's calls")}

    def setup(self) -> None:
        super().setup()
        self.calls: list[tuple] = []

    def first_ask(self) -> None:
        self.calls.append(("first_ask", self.replayed, self.start_seed()))

    def propose(self, numbers):
        self.calls.append(("propose", list(numbers)))
        return [self.proposal(n, {"x": n / 100, "k": "a"}, f"handle-{n}") for n in numbers]

    def learn(self, trial, native):
        self.calls.append(("learn", trial.number, trial.state.value, native))

    def forget(self, trial, native):
        self.calls.append(("forget", trial.number, native))


def _trial(number: int, state: TrialState) -> Trial:
    params = {"x": number / 100, "k": "a"}
    if state is TrialState.COMPLETE:
        return Trial.complete(number, params, 1.0)
    return Trial(number=number, params=params, state=state)


def test_own_trials_are_told_by_number_with_their_native_handle():
    backend = Journal(SPACE, seed=3)
    assert [p.number for p in backend.ask([0, 1, 2])] == [0, 1, 2]
    assert len(backend.pending) == 3
    backend.tell(_trial(1, TrialState.COMPLETE))
    backend.tell(_trial(0, TrialState.INTERRUPTED))
    backend.tell(_trial(2, TrialState.PRUNED))
    assert backend.calls == [
        ("first_ask", 0, 3),
        ("propose", [0, 1, 2]),
        ("learn", 1, "complete", "handle-1"),
        ("forget", 0, "handle-0"),
        ("learn", 2, "pruned", "handle-2"),
    ]
    assert len(backend.pending) == 0


def test_tell_refuses_running_foreign_and_repeated_trials():
    backend = Journal(SPACE, seed=0)
    backend.ask([0])
    with pytest.raises(BackendError, match=r"'journal': tell needs a finished trial, trial 0 is running"):
        backend.tell(_trial(0, TrialState.RUNNING))
    with pytest.raises(BackendError, match=r"never proposed trial 7 .*go through replay\(\)"):
        backend.tell(_trial(7, TrialState.COMPLETE))
    backend.tell(_trial(0, TrialState.COMPLETE))
    with pytest.raises(BackendError, match=r"never proposed trial 0 \(or it was already told\)"):
        backend.tell(_trial(0, TrialState.COMPLETE))


def test_replay_drops_interrupted_counts_the_rest_and_reseeds_the_first_ask():
    backend = Journal(SPACE, seed=5)
    history = [
        _trial(0, TrialState.COMPLETE),
        _trial(1, TrialState.INTERRUPTED),
        _trial(2, TrialState.FAILED),
    ]
    backend.replay(history)
    backend.replay([_trial(3, TrialState.INTERRUPTED)])  # nothing left: learn_replayed not called
    assert backend.replayed == 2
    assert backend.calls == [("learn", 0, "complete", None), ("learn", 2, "failed", None)]
    backend.ask([4])
    backend.ask([5])  # first_ask runs once
    assert backend.calls[2:] == [("first_ask", 2, derive_seed(5, 2)), ("propose", [4]), ("propose", [5])]
    assert derive_seed(5, 2) != 5
    assert Journal(SPACE, seed=None).start_seed() is None


def test_a_space_with_nothing_to_search_follows_the_one_rule_without_the_hooks():
    space = Space({"c": Constant(1), "only": Categorical(["solo"])})
    backend = Journal(space, seed=0)
    assert backend.exhaustible
    assert [(p.number, p.params) for p in backend.ask([0, 1])] == [(0, {"c": 1, "only": "solo"})]
    backend.tell(_trial(0, TrialState.COMPLETE))
    with pytest.raises(SearchExhausted, match="single configuration, already proposed"):
        backend.ask([1])
    assert backend.calls == []
    assert not Journal(SPACE, seed=0).exhaustible


def test_conversion_report_is_exact_without_a_codec():
    report = Journal(SPACE, seed=0).conversion_report()
    assert [(c.param, c.fidelity.value) for c in report] == [("x", "exact"), ("k", "exact")]


def test_worst_loss_stands_in_for_failures_held_until_one_completes():
    stand_in: WorstLoss[str] = WorstLoss()
    assert stand_in.failed("f1") == []
    assert stand_in.failed("f2") == []
    assert stand_in.held == ["f1", "f2"]
    assert stand_in.completed("c1", 3.0) == [("c1", 3.0), ("f1", 3.0), ("f2", 3.0)]
    assert stand_in.held == []
    assert stand_in.completed("c2", 1.0) == [("c2", 1.0)]
    assert stand_in.failed("f3") == [("f3", 3.0)]
    assert stand_in.completed("c3", 7.5) == [("c3", 7.5)]
    assert stand_in.failed("f4") == [("f4", 7.5)]


class _PlainCodec(FlatCodec):
    """A FlatCodec whose library hands values back unchanged (the default from_native)."""

    def native_column(self, column):
        return column.name

    def describe(self, column):
        return column.name


@pytest.mark.parametrize("raw", [-7.5, 0.25, 3, 1e300, -0.0, math.nan, np.float64(0.7), np.int64(-9)])
def test_a_flat_space_of_plain_floats_decodes_each_value_as_its_dimension_snaps_it(raw):
    space = Space({"a": Float(-1.0, 1.0), "lr": Float(1e-4, 1.0, log=True), "b": Float(0.0, 2.0)})
    codec = _PlainCodec(space)
    point = [raw, raw, raw]
    decoded = codec.decode(point)
    expected = {name: space[name].snap(raw) for name in space}
    assert list(decoded) == list(expected)
    assert all(type(v) is float for v in decoded.values())
    assert [str(v) for v in decoded.values()] == [str(v) for v in expected.values()]  # NaN too
    by_name = codec.clipped_by_name({"b": raw, "lr": raw, "a": raw})  # a library's point by name
    assert list(by_name) == list(expected) and all(type(v) is float for v in by_name.values())
    assert [str(v) for v in by_name.values()] == [str(v) for v in expected.values()]


def test_a_space_with_steps_ints_or_choices_decodes_column_by_column():
    space = Space({"a": Float(0.0, 1.0, step=0.25), "n": Int(1, 5), "k": Categorical(["x", "y"])})
    codec = _PlainCodec(space)
    assert codec.decode([1.2, 4.6, 1]) == {"a": 0.25, "n": 5, "k": "y"}  # a: a grid index
