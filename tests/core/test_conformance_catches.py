"""The conformance suite fails a backend that breaks its contract, each check with a message that
says what is wrong (a check that cannot fail would pass every backend)."""

from __future__ import annotations

import numpy as np
import pytest

from unitune.backend import Proposal
from unitune.backends.random_search import RandomSearch
from unitune.errors import SearchExhausted
from unitune.testing import (
    check_batch_ask,
    check_failures_survivable,
    check_huge_values,
    check_replay,
    check_samples_in_space,
    check_seed_reproducible,
    check_seeds_differ,
)
from unitune.trial import TrialState


class _Broken(RandomSearch):
    """Random search whose proposals ``spoil`` changes."""

    name = "broken"
    proposals_in_space = False

    def spoil(self, proposal: Proposal) -> Proposal:
        return proposal

    def ask(self, numbers):
        return [self.spoil(p) for p in super().ask(numbers)]


class OutOfBounds(_Broken):
    def spoil(self, proposal):
        return Proposal(proposal.number, {**proposal.params, "x": 99.0})


class NumpyValues(_Broken):
    def spoil(self, proposal):
        return Proposal(proposal.number, {k: np.float64(v) if type(v) is float else v
                                          for k, v in proposal.params.items()})


class WrongNumbers(_Broken):
    def spoil(self, proposal):
        return Proposal(proposal.number + 1, proposal.params)


class ExhaustedAtOnce(RandomSearch):
    name = "exhausted"

    def ask(self, numbers):
        raise SearchExhausted("nothing to propose")


class IgnoresTheSeed(RandomSearch):
    name = "unseeded"

    def setup(self):
        super().setup()
        self._rng = np.random.default_rng()  # the study's seed is dropped


class SameForEverySeed(RandomSearch):
    name = "one-seed"

    def setup(self):
        super().setup()
        self._rng = np.random.default_rng(0)  # whatever the seed


class ChokesOnFailures(RandomSearch):
    """A backend bug: its tell breaks on a trial without a value."""

    name = "chokes"

    def tell(self, trial):
        if trial.state is TrialState.FAILED:
            raise KeyError("values")
        super().tell(trial)


class ChokesOnHistory(RandomSearch):
    name = "no-history"

    def replay(self, trials):
        raise TypeError("cannot replay")


class ChokesOnBatches(RandomSearch):
    name = "one-at-a-time"

    def ask(self, numbers):
        if len(numbers) > 1:
            raise IndexError("one at a time")
        return super().ask(numbers)


class ChokesOnHugeValues(RandomSearch):
    name = "no-huge"

    def tell(self, trial):
        if trial.values and abs(trial.values[0]) > 1e100:
            raise OverflowError("too large")
        super().tell(trial)


@pytest.mark.parametrize(("backend", "check", "says"), [
    (ChokesOnHugeValues, check_huge_values, r"after 1e\+200: optimize\(n_trials=6\) raised OverflowError: too large"),
    (ChokesOnFailures, check_failures_survivable,
     r"among failures: tell\(failed trial 0\) raised KeyError: 'values'"),
    (ChokesOnHistory, check_replay, r"space 'mixed': replay\(trials \[0, 1, 2, 3, 4, 5, 6\]\) raised TypeError"),
    (ChokesOnBatches, check_batch_ask, r"space 'mixed': ask\(\[0, 1, 2, 3\]\) raised IndexError: one at a time"),
], ids=["optimize", "tell", "replay", "ask"])
def test_a_backend_call_that_raises_fails_the_check_naming_the_call(backend, check, says):
    """The library's error is the cause; the failure says which call, on which trial, where."""
    with pytest.raises(AssertionError, match=says) as info:
        check(backend)
    assert isinstance(info.value.__cause__, (OverflowError, KeyError, TypeError, IndexError))


@pytest.mark.parametrize(("backend", "check", "says"), [
    (OutOfBounds, check_samples_in_space, r"proposal .*'x': 99\.0.* is not in the space"),
    (NumpyValues, check_samples_in_space, r"a Float takes a Python float"),
    (WrongNumbers, check_samples_in_space, r"ask\(\[0\]\) returned Proposal\(number=1, .*not a Proposal for it"),
    (ExhaustedAtOnce, check_samples_in_space, r"raised SearchExhausted at its first ask"),
    (IgnoresTheSeed, check_seed_reproducible, r"seed 7 proposed different configurations on two runs"),
    (SameForEverySeed, check_seeds_differ, r"seeds 1 and 2 proposed the same configurations"),
], ids=["out_of_bounds", "numpy_values", "wrong_numbers", "exhausted_at_once", "ignores_the_seed",
        "same_for_every_seed"])
def test_a_check_fails_a_backend_that_breaks_what_it_checks(backend, check, says):
    with pytest.raises(AssertionError, match=says):
        check(backend)


def test_the_same_checks_pass_random_search():
    for check in (check_samples_in_space, check_seed_reproducible, check_seeds_differ):
        check(RandomSearch)
