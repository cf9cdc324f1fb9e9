"""Search space: validation, sampling, membership, JSON round trips and grids."""

from __future__ import annotations

import itertools
import json
import math

import numpy as np
import pytest
from hypothesis import given, settings
from space_strategies import spaces

import unitune
from unitune import Categorical, Constant, Float, Int, Space, SpaceError, TrialState


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: Float(1.0, 0.0), r"low must be < high, got low=1.0 high=0.0"),
        (lambda: Float(0.0, 1.0, log=True), r"log=True needs low > 0, got low=0.0"),
        (lambda: Float(1e-200, 1e-150, log=True), r"low \* high = 0.0 must be a normal, finite float"),
        (lambda: Float(1e200, 1e300, log=True), r"low \* high = inf must be a normal, finite float"),
        (lambda: Float(0.0, float("inf")), r"high must be finite"),
        (lambda: Float(float("nan"), 1.0), r"low must be finite"),
        (lambda: Float(0.0, 1.0, step=0.3), r"step=0.3 does not fit the range"),
        (lambda: Float(0.0, 1.0, step=-0.5), r"step must be > 0"),
        (lambda: Float(1.0, 10.0, log=True, step=1.0), r"step cannot be combined with log=True"),
        (lambda: Float("a", 1.0), r"low must be a real number, got 'a'"),
        (lambda: Int(5, 1), r"low must be < high"),
        (lambda: Int(0, 10, step=3), r"step=3 does not fit the range: high - low = 10"),
        (lambda: Int(0, 10, log=True), r"log=True needs low > 0"),
        (lambda: Int(1, 10, log=True, step=3), r"log=True needs step=1"),
        (lambda: Int(0.5, 10), r"low must be an integer, got 0.5"),
        (lambda: Float(0.1, 1.0, log="yes"), r"log must be True or False, got 'yes'"),
        (lambda: Int(1, 10, log=1), r"log must be True or False, got 1"),
        (lambda: Categorical([]), r"choices must not be empty"),
        (lambda: Categorical(["a", "b", "a"]), r"duplicate choice 'a'"),
        (lambda: Categorical([[1, 2]]), r"every choice must be a str, int, finite float, bool or None"),
        (lambda: Categorical("abc"), r"choices must be a list of values or a mapping"),
        (lambda: Constant(object()), r"value must be JSON-representable"),
    ],
)
def test_invalid_dimensions_say_rule_and_value(build, message):
    with pytest.raises(SpaceError, match=message):
        build()


def test_space_errors_name_the_parameter():
    with pytest.raises(SpaceError, match=r"parameter 'sizes': got the list \[1, 2\]; write Categorical"):
        Space({"sizes": [1, 2]})
    with pytest.raises(SpaceError, match=r"parameter name 'lr' is defined twice .*opt='adam'/lr"):
        Space({"lr": Float(0.1, 1.0), "opt": Categorical({"adam": {"lr": Float(0.1, 1.0)}, "sgd": None})})
    with pytest.raises(SpaceError, match=r"parameter 'x': Float\(low=2.0, high=1.0\): low must be < high"):
        Space.from_dict({"x": {"type": "float", "low": 2.0, "high": 1.0}})
    with pytest.raises(SpaceError, match=r"parameter 'x': a float dimension needs the keys .* unknown \['lgo'\]"):
        Space.from_dict({"x": {"type": "float", "low": 0.0, "high": 1.0, "lgo": True}})


def test_categorical_tells_bool_int_and_float_apart():
    dim = Categorical([1, True, 1.0, None, "1"])
    assert dim.cardinality == 5
    assert dim.index(True) == 1 and dim.index(1.0) == 2
    assert not Categorical([1]).contains(True)


def test_plain_scalars_become_constants_and_are_always_present():
    space = Space({"x": Float(0.0, 1.0), "name": "fixed", "n": 3})
    assert space["name"] == Constant("fixed")
    params = space.sample(seed=1)
    assert params["name"] == "fixed" and params["n"] == 3
    assert not space.contains({**params, "n": 4})


def test_samples_are_plain_typed_in_bounds_and_on_step():
    space = Space({
        "f": Float(-1.0, 1.0, step=0.1),
        "lf": Float(1e-6, 1.0, log=True),
        "i": Int(3, 99, step=4),
        "li": Int(1, 1000, log=True),
    })
    rng = np.random.default_rng(0)
    seen_li = set()
    for _ in range(2000):
        params = space.sample(rng)
        assert type(params["f"]) is float and type(params["lf"]) is float
        assert type(params["i"]) is int and type(params["li"]) is int
        assert space.contains(params), params
        seen_li.add(params["li"])
    assert min(seen_li) == 1 and max(seen_li) <= 1000
    assert space["li"].snap(1000.4) == 1000 and space["li"].snap(0.7) == 1
    assert round(space["f"].snap(0.3), 12) == 0.3 and space["f"].snap(5.0) == 1.0


def test_contains_demands_exactly_the_active_parameters():
    space = Space({
        "opt": Categorical({"sgd": {"momentum": Float(0.0, 0.9)}, "adam": None}),
        "lr": Float(0.001, 0.1),
    })
    assert space.contains({"opt": "sgd", "momentum": 0.5, "lr": 0.01})
    assert space.contains({"opt": "adam", "lr": 0.01})
    with pytest.raises(SpaceError, match=r"parameters \['momentum'\] are not active"):
        space.validate({"opt": "adam", "momentum": 0.5, "lr": 0.01})
    with pytest.raises(SpaceError, match=r"parameter 'momentum' is missing"):
        space.validate({"opt": "sgd", "lr": 0.01})
    with pytest.raises(SpaceError, match=r"parameter 'lr': 1 \(int\) is not a value of Float"):
        space.validate({"opt": "adam", "lr": 1})
    assert not space.contains({"opt": "adam", "lr": np.float64(0.01)})


def test_nested_branches_of_any_depth():
    space = Space({
        "a": Categorical({
            "x": {"b": Categorical({"y": {"c": Categorical({"z": {"deep": Int(0, 3)}, "w": None})}, "v": None})},
            "u": None,
        })
    })
    assert space.names == ("a", "b", "c", "deep")
    assert space.cardinality == 4 + 1 + 1 + 1
    configs = list(space.grid())
    assert len(configs) == 7 and all(space.contains(c) for c in configs)
    assert {"a": "x", "b": "y", "c": "z", "deep": 3} in configs


@settings(max_examples=150, deadline=None)
@given(spaces())
def test_random_spaces_round_trip_through_json(space):
    text = json.dumps(space.to_dict())
    again = Space.from_dict(json.loads(text))
    assert again == space
    assert again.to_dict() == space.to_dict()
    params = space.sample(seed=0)
    assert space.contains(params)
    assert again.contains(params)
    through_text = Space.from_json(space.to_json())
    assert through_text.names == space.names  # the order sets the grid and what a seed draws
    assert through_text.sample(seed=0) == params


@settings(max_examples=60, deadline=None)
@given(spaces())
def test_grid_points_are_in_the_space_and_unique(space):
    grid = space.grid(3)
    if len(grid) > 3000:
        return
    keys = set()
    for params in grid:
        space.validate(params)
        keys.add(json.dumps(params, sort_keys=True))
    assert len(keys) == len(grid)
    if space.cardinality is not None and space.cardinality <= 3:
        assert len(grid) == space.cardinality


def test_grid_includes_both_bounds_and_is_log_aware():
    assert Float(0.0, 1.0).grid(5) == (0.0, 0.25, 0.5, 0.75, 1.0)
    log_grid = Float(1e-4, 1.0, log=True).grid(5)
    assert log_grid[0] == 1e-4 and log_grid[-1] == 1.0
    assert all(math.isclose(b / a, 10.0) for a, b in itertools.pairwise(log_grid))
    assert Int(1, 1000, log=True).grid(4) == (1, 10, 100, 1000)
    assert Int(0, 4).grid(10) == (0, 1, 2, 3, 4)
    with pytest.raises(SpaceError, match=r"grid resolution must be an integer >= 2, got 1"):
        Space({"x": Float(0.0, 1.0)}).grid(1)


def test_grid_is_sized_indexable_and_counts_branches_once():
    space = Space({
        "model": Categorical({"svm": {"C": Float(0.1, 10.0, log=True)}, "tree": {"depth": Int(1, 3)}}),
        "scale": Categorical([True, False]),
    })
    grid = space.grid(resolution=4)
    assert len(grid) == (4 + 3) * 2
    assert grid[0] == {"model": "svm", "C": 0.1, "scale": True}
    assert grid[-1] == {"model": "tree", "depth": 3, "scale": False}
    assert list(grid)[5] == grid[5]
    with pytest.raises(IndexError, match="grid index 14 out of range"):
        grid[14]


def test_spaces_are_immutable_and_hashable():
    space = Space({"x": Float(0.0, 1.0)})
    with pytest.raises(AttributeError, match="immutable"):
        space.foo = 1
    with pytest.raises(AttributeError, match="immutable"):
        space["x"].low = 3.0
    assert hash(space) == hash(Space.from_json(space.to_json()))


# Logit-scaled floats (Bayesmark's "logit" warping) -------------------------------------------


def test_logit_float_validates_with_clear_errors() -> None:
    with pytest.raises(SpaceError, match=r"logit=True needs 0 < low < high < 1.*low=0\.0"):
        Float(0.0, 0.5, logit=True)
    with pytest.raises(SpaceError, match=r"logit=True needs 0 < low < high < 1.*high=1\.0"):
        Float(0.5, 1.0, logit=True)
    with pytest.raises(SpaceError, match="cannot be combined with log=True"):
        Float(0.1, 0.9, log=True, logit=True)
    with pytest.raises(SpaceError, match="cannot be combined with a step"):
        Float(0.1, 0.9, step=0.1, logit=True)
    with pytest.raises(SpaceError, match="logit must be True or False, got 1"):
        Float(0.1, 0.9, logit=1)


def test_logit_float_round_trips_through_json_and_repr() -> None:
    dim = Float(0.001, 0.999, logit=True)
    assert dim.logit is True
    assert repr(dim) == "Float(0.001, 0.999, logit=True)"
    assert dim.to_dict() == {"type": "float", "low": 0.001, "high": 0.999, "log": False, "step": None,
                             "logit": True}
    space = Space({"rate": dim, "plain": Float(0.1, 0.9)})
    again = Space.from_json(space.to_json())
    assert again == space and again["rate"].logit is True
    assert "logit" not in Float(0.1, 0.9).to_dict()  # other floats' dicts are unchanged
    assert Float(0.1, 0.9) != Float(0.1, 0.9, logit=True)


def test_logit_float_samples_uniformly_in_logit_space() -> None:

    dim = Float(0.001, 0.999, logit=True)
    rng = np.random.default_rng(0)
    values = np.array([dim.sample(rng) for _ in range(4000)])
    assert all(dim.contains(float(v)) for v in values)
    z = np.log(values / (1 - values))
    lo, hi = math.log(0.001 / 0.999), math.log(0.999 / 0.001)
    # Uniform in [lo, hi]: each quarter of the logit range holds a quarter of the draws.
    counts = np.histogram(z, bins=4, range=(lo, hi))[0] / len(z)
    assert np.allclose(counts, 0.25, atol=0.03)
    # A uniform draw would put only ~1% of values below 0.01; the logit scale puts ~17% there.
    assert 0.13 < float(np.mean(values < 0.01)) < 0.21


def test_logit_float_grid_is_even_in_logit_space() -> None:

    grid = Float(0.01, 0.99, logit=True).grid(5)
    assert grid[0] == 0.01 and grid[-1] == 0.99 and grid[2] == pytest.approx(0.5)
    z = [math.log(x / (1 - x)) for x in grid]
    assert np.allclose(np.diff(z), np.diff(z)[0])
    assert Space({"p": Float(0.01, 0.99, logit=True)}).grid(5)[1]["p"] == grid[1]


def test_native_backends_use_the_logit_scale() -> None:
    import unitune

    space = {"p": Float(0.001, 0.999, logit=True)}
    study = unitune.optimize(lambda p: p["p"], space, backend="random", n_trials=300, seed=1)
    values = [t.params["p"] for t in study.trials]
    assert float(np.mean(np.array(values) < 0.01)) > 0.1
    study = unitune.optimize(lambda p: p["p"], space, backend="grid", backend_options={"resolution": 3})
    assert sorted(t.params["p"] for t in study.trials) == [0.001, pytest.approx(0.5), 0.999]


def test_json_keeps_the_parameter_order_and_equal_spaces_hash_alike():
    space = Space({"z": Int(0, 4), "a": Float(0.0, 1.0)})
    again = Space.from_json(space.to_json())
    assert again.names == ("z", "a")
    assert [again.grid(3)[i] for i in range(3)] == [space.grid(3)[i] for i in range(3)] == [
        {"z": 0, "a": 0.0}, {"z": 0, "a": 0.5}, {"z": 0, "a": 1.0}]
    assert again.sample(seed=0) == space.sample(seed=0)
    reordered = Space({"a": Float(0.0, 1.0), "z": Int(0, 4)})
    assert reordered == space and hash(reordered) == hash(space)


@pytest.mark.parametrize(("params", "hint"), [
    # (the value's repr is left out: a library may set numpy's legacy printing, "0.5")
    ({"a": np.float64(0.5), "n": 1}, r"\(float64\) is not a value of Float\(0.0, 1.0\); a Float "
                                     r"takes a Python float: convert it with float\(\.\.\.\)"),
    ({"a": 1, "n": 1}, r"1 \(int\) is not a value of Float\(0.0, 1.0\); a Float takes a Python float"),
    ({"a": 0.5, "n": np.int64(1)}, r"\(int64\) is not a value of Int\(0, 5, step=1\); an Int takes a Python int"),
    ({"a": 2.0, "n": 1}, r"2.0 \(float\) is not a value of Float\(0.0, 1.0\)$"),
])
def test_a_number_of_the_wrong_python_type_is_refused_with_the_conversion_to_make(params, hint):
    with pytest.raises(SpaceError, match=hint):
        Space({"a": Float(0.0, 1.0), "n": Int(0, 5)}).validate(params)


@pytest.mark.parametrize("backend", ["random", "grid"])
def test_fine_steps_and_long_lows_stay_in_bounds_and_on_the_grid(backend):
    # snap rounded to 12 decimals: a step of 1e-13 collapsed onto 0.0 (below low=1e-13) and
    # low=0.1234567890123456 was rounded below itself; every trial's params were out of the space.
    space = Space({
        "tiny": Float(1e-13, 3e-13, step=1e-13),
        "fine": Float(0.0, 1e-12, step=1e-13),
        "long": Float(0.1234567890123456, 1.1234567890123456, step=0.5),
    })
    assert list(space["tiny"].grid(10)) == [1e-13, 2e-13, 3e-13]
    assert len(set(space["fine"].grid(10))) == 11
    assert space["long"].snap(-5.0) == 0.1234567890123456
    seen = []

    def objective(params):
        space.validate(params)
        seen.append(params["tiny"])
        return params["tiny"] + params["fine"] + params["long"]

    study = unitune.optimize(objective, space, backend=backend, n_trials=12, seed=0)
    assert [t.state for t in study.trials] == [TrialState.COMPLETE] * 12
    assert set(seen) <= {1e-13, 2e-13, 3e-13}


def test_stepped_floats_snap_without_float_noise_at_any_magnitude():
    # Rounding 12 digits finer than the step alone asked more digits than a double holds at
    # larger magnitudes: 13,035 of Float(0, 1000, step=0.01)'s grid points snapped as
    # 64.07000000000001 and the like; a range up to 1e15 with step 0.5 must keep its halves.
    hundredths = Float(0.0, 1000.0, step=0.01)
    assert [k for k in range(100_001) if hundredths.snap(k * 0.01) != round(k / 100, 2)] == []
    halves = Float(0.0, 1e15, step=0.5)
    assert halves.snap(1e15 - 1.5) == 1e15 - 1.5 and halves.snap(3 * 0.5) == 1.5
    long = Float(0.1234567890123456, 1.1234567890123456, step=0.5)
    assert (long.snap(-5.0), long.snap(5.0)) == (long.low, long.high)  # both ends, exactly


@pytest.mark.parametrize("backend", ["skopt", "nevergrad"])
def test_log_bounds_far_from_one_are_refused_when_built_not_by_a_backend(backend):
    # low * high under- or overflowed: scikit-optimize refused the space ("should not contain 0")
    # and Nevergrad's sqrt(low * high) start was outside the bounds, while other backends ran it.
    pytest.importorskip(f"unitune_{backend}")
    with pytest.raises(SpaceError, match=r"parameter 'lr': .*low \* high = 0.0 must be a normal"):
        Space.from_dict({"lr": {"type": "float", "low": 1e-300, "high": 1e-290, "log": True}})
    space = {"lr": Float(1e-300, 1e300, log=True), "c": Float(1e-160, 1e-140, log=True)}
    study = unitune.optimize(lambda p: math.log10(p["lr"]) ** 2 + math.log10(p["c"]), space,
                             backend=backend, n_trials=5, seed=0)
    assert [t.state for t in study.trials] == [TrialState.COMPLETE] * 5


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        # A dict of choice -> branch merged these silently: 1.0 and the branch of 1 were lost.
        ({"choices": [1, 1.0, "a"], "branches": [{"y": {"type": "int", "low": 0, "high": 3}}, None, None]},
         r"choices with branches must be distinct dict keys \(1, 1.0 and True are one key\)"),
        ({"choices": ["a", "a"], "branches": [None, {}]}, r"duplicate choice 'a'"),
        ({"choices": "ab", "branches": [None, None]}, r"choices must be a list of values"),
        ({"choices": [["a"], "b"], "branches": [None, None]}, r"every choice must be a str"),  # was TypeError
    ],
)
def test_json_branch_choices_follow_the_categorical_rules(spec, message):
    with pytest.raises(SpaceError, match=r"parameter 'x': .*" + message):
        Space.from_dict({"x": {"type": "categorical", **spec}})


def test_json_null_options_stand_for_their_defaults_on_every_numeric_dimension():
    space = Space.from_dict({
        "k": {"type": "int", "low": 0, "high": 4, "step": None, "log": None},
        "x": {"type": "float", "low": 0.0, "high": 1.0, "step": None, "log": None, "logit": None},
    })
    assert space["k"] == Int(0, 4) and space["x"] == Float(0.0, 1.0)
    with pytest.raises(SpaceError, match=r"parameter 'k': .*step must be >= 1, got step=0"):
        Space.from_dict({"k": {"type": "int", "low": 0, "high": 4, "step": 0}})
