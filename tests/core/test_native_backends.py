"""Native random and grid search: conformance, sampling properties, exhaustion."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from protocol_helpers import ask_params
from space_strategies import spaces

from unitune import Categorical, Float, Int, SearchExhausted, Space, Trial
from unitune.backend import params_key
from unitune.backends.grid_search import GridSearch
from unitune.backends.random_search import RandomSearch
from unitune.errors import BackendError
from unitune.testing import backend_checks, check_params


@pytest.mark.parametrize("backend", ["random", "grid", RandomSearch])
@pytest.mark.parametrize("check", backend_checks(), ids=lambda c: c.__name__)
def test_native_backends_pass_the_conformance_suite(backend, check):
    check(backend)


@settings(max_examples=60, deadline=None)
@given(spaces())
def test_every_random_sample_lies_in_its_space(space):
    backend = RandomSearch(space, seed=0)
    for number, params in enumerate(ask_params(backend, 8)):
        check_params(space, params, "random search")
        backend.tell(Trial.complete(number, params, 0.0))


@settings(max_examples=40, deadline=None)
@given(spaces())
def test_every_grid_point_lies_in_its_space(space):
    backend = GridSearch(space, resolution=3)
    for params in ask_params(backend, 20):
        check_params(space, params, "grid search")


def test_random_never_repeats_while_a_finite_space_has_unseen_configurations():
    space = Space({"a": Categorical(["x", "y", "z"]), "b": Int(0, 4), "c": Categorical([True, False])})
    backend = RandomSearch(space, seed=0)
    proposals = ask_params(backend, 30)
    assert len({params_key(p) for p in proposals}) == 30 == space.cardinality
    with pytest.raises(SearchExhausted, match="all 30 configurations"):
        backend.ask([30])


def test_random_skips_replayed_configurations():
    space = Space({"k": Int(0, 9)})
    backend = RandomSearch(space, seed=1)
    backend.replay([Trial.complete(number, {"k": k}, 0.0) for number, k in enumerate(range(0, 9))])
    assert ask_params(backend, 1, start=9) == [{"k": 9}]


def test_random_does_not_repeat_history_after_a_resume_with_the_same_seed():
    """Defect 6 of #7: a rebuilt backend re-proposed exactly the replayed points."""
    space = Space({"x": Float(0.0, 1.0), "y": Float(-1.0, 1.0)})
    history = ask_params(RandomSearch(space, seed=4), 10)
    resumed = RandomSearch(space, seed=4)
    resumed.replay([Trial.complete(i, p, 0.0) for i, p in enumerate(history)])
    again = ask_params(resumed, 10, start=10)
    assert not {params_key(p) for p in again} & {params_key(p) for p in history}
    twin = RandomSearch(space, seed=4)
    twin.replay([Trial.complete(i, p, 0.0) for i, p in enumerate(history)])
    assert ask_params(twin, 10, start=10) == again  # still reproducible


def test_random_is_reproducible_and_seed_dependent():
    space = Space({"x": Float(0.0, 1.0), "n": Int(1, 1000, log=True)})
    assert ask_params(RandomSearch(space, seed=5), 10) == ask_params(RandomSearch(space, seed=5), 10)
    assert ask_params(RandomSearch(space, seed=5), 10) != ask_params(RandomSearch(space, seed=6), 10)


def test_grid_order_shuffle_and_exhaustion():
    space = Space({"a": Int(0, 2), "b": Categorical({"p": {"q": Int(0, 1)}, "r": None})})
    backend = GridSearch(space)
    assert len(backend) == 9
    ordered = ask_params(backend, 100)
    assert ordered == list(space.grid())
    with pytest.raises(SearchExhausted, match="all 9 configurations"):
        backend.ask([100])
    shuffled = ask_params(GridSearch(space, seed=3, shuffle=True), 9)
    assert shuffled != ordered
    assert sorted(map(params_key, shuffled)) == sorted(map(params_key, ordered))
    assert ask_params(GridSearch(space, seed=3, shuffle=True), 9) == shuffled


def test_grid_skips_told_points_and_rejects_unknown_options():
    space = Space({"a": Int(0, 3)})
    backend = GridSearch(space)
    backend.replay([Trial.complete(0, {"a": 1}, 0.0)])
    assert ask_params(backend, 10, start=1) == [{"a": 0}, {"a": 2}, {"a": 3}]
    with pytest.raises(BackendError, match=r"unknown option\(s\) \['resolutoin'\]; it accepts \['resolution', 'shuffle'\]"):
        GridSearch(space, resolutoin=3)
    with pytest.raises(BackendError, match="option 'shuffle' must be True or False"):
        GridSearch(space, shuffle="yes")
