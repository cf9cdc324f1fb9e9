"""Tests of the unitune-hyperopt adapter against the real Hyperopt library."""

from __future__ import annotations

import importlib.util
import math

import numpy as np
import pytest
from hyperopt import base as hbase
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from protocol_helpers import ask_params
from space_strategies import spaces
from unitune_hyperopt import HyperoptBackend
from unitune_hyperopt.codec import HyperoptCodec

import unitune
from unitune import Categorical, Float, Int, Space
from unitune.backend import Fidelity, params_key
from unitune.errors import (
    BackendError,
    BackendNotInstalledError,
    CapabilityError,
    SearchExhausted,
    SpaceError,
)
from unitune.kit import FixedConfiguration
from unitune.registry import conversion_report, list_backends, load_backend_class, make_backend
from unitune.testing import STANDARD_SPACES, check_params
from unitune.trial import Direction, Trial, TrialState

HAS_ATPE_DEPS = all(importlib.util.find_spec(m) is not None for m in ("lightgbm", "sklearn"))
needs_atpe = pytest.mark.skipif(not HAS_ATPE_DEPS, reason="lightgbm not installed (extra 'atpe')")
# ATPE trains LightGBM models on every ask: thorough but slow, so its cases are marked slow.
ALGORITHMS = ["tpe", "random", "anneal", pytest.param("atpe", marks=[needs_atpe, pytest.mark.slow])]


def _name(algorithm: str) -> str:
    return "hyperopt" if algorithm == "tpe" else f"hyperopt.{algorithm}"


def _bowl(params) -> float:
    return sum((v - 0.3) ** 2 for v in params.values() if isinstance(v, float))


# Discovery first.
def test_discovery_installed_found_and_listed():
    info = {b.name: b for b in list_backends()}["hyperopt"]
    assert info.installed
    assert info.missing == ()
    assert list(info.algorithms) == ["tpe", "random", "anneal", "atpe"]
    assert not any(caps.multi_objective for caps in info.capabilities.values())
    assert all(caps.conditional and caps.batch and caps.replay for caps in info.capabilities.values())
    assert load_backend_class("hyperopt") is HyperoptBackend
    backend = make_backend("hyperopt.anneal", {"x": Float(0.0, 1.0)}, seed=0)
    assert isinstance(backend, HyperoptBackend)
    assert (backend.algorithm, backend.full_name) == ("anneal", "hyperopt.anneal")
    assert make_backend("hyperopt", {"x": Float(0.0, 1.0)}).algorithm == "tpe"


# Every proposal is inside the space, of the declared type, on the grid: random spaces.
@pytest.mark.parametrize("algorithm", ALGORITHMS)
@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(space=spaces(), seed=st.integers(0, 2**16), data=st.data())
def test_property_proposals_in_space(algorithm, space, seed, data):
    options = {"n_startup_jobs": 3} if algorithm == "tpe" else {}
    backend = make_backend(_name(algorithm), space, seed=seed, options=options)
    number = 0
    for step in range(4):
        try:
            batch = ask_params(backend, data.draw(st.integers(1, 3), label="batch"), number)
        except SearchExhausted:
            assert FixedConfiguration.applies(space) and number == 1  # proposed once, then done
            return
        for params in batch:
            check_params(space, params, f"{algorithm} step {step}")
        for params in batch:
            if number % 4 == 3:
                backend.tell(Trial.failed(number, params))
            else:
                backend.tell(Trial.complete(number, params, _bowl(params) + number % 3))
            number += 1
    foreign = space.sample(seed=seed)
    backend.replay([Trial.complete(number, foreign, 0.0)])
    check_params(space, ask_params(backend, 1, number + 1)[0], f"{algorithm} after a foreign trial")


@settings(max_examples=40, deadline=None)
@given(space=spaces(), seed=st.integers(0, 2**16))
def test_property_encode_decode_round_trip(space, seed):
    translation = HyperoptCodec(space)
    params = space.sample(seed=seed)
    vals = translation.encode(params)
    assert set(vals) == set(translation.labels)
    assert translation.decode(vals) == params


# Integers, steps and log scales: closed bounds, both extremes reachable, exact types.
@pytest.mark.parametrize(
    ("dim", "expected"),
    [
        (Int(1, 3, log=True), {1, 2, 3}),
        (Int(-7, 8, step=3), {-7, -4, -1, 2, 5, 8}),
        (Int(0, 10, step=5), {0, 5, 10}),
        (Float(0.05, 1.05, step=0.25), {0.05, 0.3, 0.55, 0.8, 1.05}),
        (Float(-1.0, 1.0, step=0.5), {-1.0, -0.5, 0.0, 0.5, 1.0}),
    ],
    ids=repr,
)
@pytest.mark.parametrize("algorithm", ["random", "tpe"])
def test_discrete_dimensions_cover_their_closed_grid(dim, expected, algorithm):
    space = Space({"v": dim})
    backend = make_backend(_name(algorithm), space, seed=1)
    seen = set()
    for number in range(60):
        [params] = ask_params(backend, 1, number)
        check_params(space, params, "discrete")
        seen.add(params["v"])
        backend.tell(Trial.complete(number, params, float(number % 7)))
    assert seen == expected
    assert all(type(v) is type(dim.low) for v in seen)


def test_log_int_bounds_rounding_is_clipped():
    translation = HyperoptCodec(Space({"n": Int(1, 1000, log=True)}))
    # np.round(0.5) == 0 and np.round(1000.5) == 1000 + 1 with half-to-even: clipped in.
    assert translation.decode({"n": [0.0]}) == {"n": 1}
    assert translation.decode({"n": [1001.0]}) == {"n": 1000}
    assert translation.decode({"n": [37.0]}) == {"n": 37}
    [report] = translation.report()
    assert report.fidelity is Fidelity.EXACT
    assert "qloguniform" in report.detail
    assert "clipped" in report.detail


def test_log_int_extremes_are_proposed():
    space = Space({"n": Int(1, 4, log=True), "m": Int(100, 101, log=True)})
    backend = make_backend("hyperopt.random", space, seed=0)
    batch = ask_params(backend, 400)
    assert {p["n"] for p in batch} == {1, 2, 3, 4}
    assert {p["m"] for p in batch} == {100, 101}


def test_categories_are_values_never_indices():
    space = Space({"c": Categorical([True, 1, 1.0, None, "a"])})
    backend = make_backend("hyperopt.random", space, seed=0)
    got = ask_params(backend, 200)
    kinds = {(type(p["c"]).__name__, p["c"]) for p in got}
    assert kinds == {("bool", True), ("int", 1), ("float", 1.0), ("NoneType", None), ("str", "a")}


def test_conditional_space_nested_choice_and_inactive_labels():
    space = STANDARD_SPACES["conditional"]
    backend = make_backend("hyperopt", space, seed=2)
    for number in range(30):
        [params] = ask_params(backend, 1, number)
        check_params(space, params, "conditional")
        backend.tell(Trial.complete(number, params, _bowl(params)))
    for doc in backend.trials.trials:
        vals = doc["misc"]["vals"]
        active = {label for label, v in vals.items() if v}
        model = ["linear", "tree", "none"][vals["model"][0]]
        assert ("alpha" in active) == (model == "linear")
        assert ("depth" in active) == (model == "tree")
        assert ("n_tries" in active) == (model == "tree" and vals["split"] == [1])


# Batch ask: pending documents, the way fmin(max_queue_len=n) leaves them.
@pytest.mark.parametrize("algorithm", ["tpe", "random", "anneal"])
def test_batch_ask_keeps_pending_ids_until_told(algorithm):
    space = Space({"x": Float(-2.0, 2.0), "y": Float(-2.0, 2.0)})
    backend = make_backend(_name(algorithm), space, seed=4, options=(
        {"n_startup_jobs": 4} if algorithm == "tpe" else {}))
    number, told = 0, []
    for _ in range(4):
        batch = ask_params(backend, 3, number)
        assert len({params_key(p) for p in batch}) == 3
        docs = backend.trials.trials
        assert [d["state"] for d in docs[-3:]] == [hbase.JOB_STATE_NEW] * 3
        assert len({d["tid"] for d in docs}) == len(docs)
        for offset, params in reversed(list(enumerate(batch))):
            told.append(_bowl(params))
            backend.tell(Trial.complete(number + offset, params, told[-1]))
        number += len(batch)
        assert all(d["state"] == hbase.JOB_STATE_DONE for d in backend.trials.trials)
    assert len(backend.trials.trials) == 12
    assert sorted(backend.trials.losses()) == sorted(told)


# Failure policy: FAILED and PRUNED reach Hyperopt as STATUS_FAIL, never as a loss.
def test_failed_and_pruned_are_told_as_fail_status():
    space = Space({"x": Float(0.0, 1.0)})
    backend = make_backend("hyperopt", space, seed=0)
    [a, b, c] = ask_params(backend, 3)
    backend.tell(Trial.failed(0, a, "boom"))
    backend.tell(Trial(number=1, params=b, state=TrialState.PRUNED))
    backend.tell(Trial.complete(2, c, 0.5))
    results = [d["result"] for d in backend.trials.trials]
    assert [r["status"] for r in results] == ["fail", "fail", "ok"]
    assert [r["loss"] for r in results] == [None, None, 0.5]
    assert [r.get("unitune_state") for r in results] == ["failed", "pruned", None]
    assert backend.trials.statuses() == ["fail", "fail", "ok"]


@pytest.mark.parametrize(("direction", "loss"), [("minimize", 0.25), ("maximize", -0.25)])
def test_a_pruned_trial_that_reported_counts_with_its_last_report(direction, loss):
    space = Space({"x": Float(0.0, 1.0)})
    backend = make_backend("hyperopt", space, seed=0, directions=(direction,))
    [a, b] = ask_params(backend, 2)
    backend.tell(Trial(number=0, params=a, state=TrialState.PRUNED, intermediate={0: 0.9, 4: 0.25, 2: 0.5}))
    backend.tell(Trial(number=1, params=b, state=TrialState.PRUNED, intermediate={0: math.nan}))
    results = [d["result"] for d in backend.trials.trials]
    assert [r["status"] for r in results] == ["ok", "fail"]
    assert results[0]["loss"] == loss and results[0]["unitune_state"] == "pruned"
    assert results[1]["loss"] is None
    ask_params(backend, 1, start=2)  # TPE goes on with the pruned trial in its history


def test_nan_and_inf_objectives_fail_and_the_study_goes_on():
    def objective(params):
        k = params["k"]
        return math.nan if k == 0 else (math.inf if k == 1 else params["x"])

    study = unitune.optimize(objective, {"x": Float(0.0, 1.0), "k": Categorical([0, 1, 2])},
                             backend="hyperopt", n_trials=40, seed=3, show_progress=False)
    states = [t.state for t in study.trials]
    assert len(states) == 40
    assert TrialState.FAILED in states and TrialState.COMPLETE in states
    statuses = study.backend.trials.statuses()
    assert statuses.count("fail") == states.count(TrialState.FAILED)
    losses = [d["result"]["loss"] for d in study.backend.trials.trials]
    assert all(loss is None or math.isfinite(loss) for loss in losses)


def test_maximize_negates_the_loss():
    backend = make_backend("hyperopt", {"x": Float(0.0, 1.0)}, seed=0, directions=("maximize",))
    [params] = ask_params(backend, 1)
    backend.tell(Trial.complete(0, params, 0.25))
    assert backend.trials.losses() == [-0.25]


def test_multi_objective_is_refused_before_the_study_starts():
    with pytest.raises(CapabilityError, match="single objective"):
        make_backend("hyperopt", {"x": Float(0.0, 1.0)}, directions=("minimize", "maximize"))
    with pytest.raises(CapabilityError, match="single objective"):
        unitune.optimize(lambda p: (p["x"], p["x"]), {"x": Float(0.0, 1.0)}, backend="hyperopt.random",
                         n_trials=2, direction=["minimize", "minimize"], show_progress=False)


# Conversion report and strict mode.
def test_conversion_report_names_every_parameter_and_strict_mode_accepts():
    space = STANDARD_SPACES["mixed"]
    report = {c.param: c for c in conversion_report("hyperopt", space)}
    assert list(report) == list(space.names)
    assert all(c.fidelity is Fidelity.EXACT for c in report.values())
    assert "hp.loguniform" in report["lr"].detail
    assert "hp.qloguniform" in report["units"].detail
    assert "hp.quniform" in report["depth"].detail
    assert "hp.choice" in report["kind"].detail
    assert "constant" in report["const"].detail
    off_grid = conversion_report("hyperopt", {"v": Int(-7, 8, step=3)})[0]
    assert "step index" in off_grid.detail
    study = unitune.optimize(_bowl, space, backend="hyperopt", n_trials=5, seed=0, strict=True,
                             show_progress=False)
    assert len(study.trials) == 5


# Options: passed through to Hyperopt, unknown or bad ones rejected.
def test_unknown_and_bad_options_are_rejected():
    space = {"x": Float(0.0, 1.0)}
    with pytest.raises(BackendError, match=r"unknown option\(s\) \['n_trees'\]"):
        make_backend("hyperopt", space, options={"n_trees": 3})
    with pytest.raises(BackendError, match=r"'hyperopt.random' got unknown option\(s\) \['gamma'\]"):
        make_backend("hyperopt.random", space, options={"gamma": 0.5})
    with pytest.raises(BackendError, match=r"option 'gamma' must be a number in \(0, 1\], got 2"):
        make_backend("hyperopt", space, options={"gamma": 2})
    with pytest.raises(BackendError, match="option 'n_startup_jobs' must be an integer >= 0"):
        make_backend("hyperopt", space, options={"n_startup_jobs": 2.5})
    with pytest.raises(BackendError, match="option 'shrink_coef' must be a number > 0"):
        make_backend("hyperopt.anneal", space, options={"shrink_coef": -1})
    with pytest.raises(BackendError, match="has no algorithm 'bohb'"):
        make_backend("hyperopt.bohb", space)
    backend = make_backend("hyperopt.anneal", space, options={"shrink_coef": 0.3, "avg_best_idx": 1.5})
    assert backend.options == {"shrink_coef": 0.3, "avg_best_idx": 1.5}


def test_misuse_raises_backend_errors():
    backend = make_backend("hyperopt", {"x": Float(0.0, 1.0)}, seed=0)
    assert backend.ask([]) == []
    with pytest.raises(BackendError, match="finished trial"):
        backend.tell(Trial(number=0, params={"x": 0.5}, state=TrialState.RUNNING))
    with pytest.raises(BackendError, match="never proposed trial 0"):
        backend.tell(Trial.complete(0, {"x": 0.5}, 1.0))
    with pytest.raises(SpaceError, match=r"parameter 'x': 2.0 \(float\) is not a value of Float"):
        backend.replay([Trial.complete(0, {"x": 2.0}, 1.0)])


@pytest.mark.skipif(HAS_ATPE_DEPS, reason="lightgbm is installed")
def test_atpe_without_lightgbm_says_what_to_install():
    with pytest.raises(BackendNotInstalledError, match=r'pip install "unitune-hyperopt\[atpe\]"'):
        make_backend("hyperopt.atpe", {"x": Float(0.0, 1.0)})


@needs_atpe
@pytest.mark.slow
def test_atpe_end_to_end_and_reproducible():
    space = {"x": Float(-5.0, 5.0), "k": Categorical(["a", "b"])}
    runs = [unitune.optimize(lambda p: (p["x"] - 1) ** 2, space, backend="hyperopt.atpe",
                             n_trials=25, seed=1, show_progress=False) for _ in range(2)]
    assert [t.params for t in runs[0].trials] == [t.params for t in runs[1].trials]
    assert runs[0].best_value < 0.5


# End to end through the one-call API.
@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_optimize_end_to_end(algorithm):
    space = STANDARD_SPACES["conditional"]

    def objective(params):
        check_params(space, params, "objective")
        return (params["x"] - 0.7) ** 2 + (0.0 if params["model"] == "none" else 0.1)

    study = unitune.optimize(objective, space, backend=_name(algorithm), n_trials=40, seed=0,
                             batch_size=2, show_progress=False)
    assert len(study.trials) == 40
    assert study.best_value < 0.05
    assert study.best_params["model"] == "none"


def test_seeded_streams_are_reproducible_and_distinct():
    space = Space({"x": Float(0.0, 1.0)})
    first = [ask_params(make_backend("hyperopt", space, seed=9), 1)[0] for _ in range(2)]
    assert first[0] == first[1]
    unseeded = {ask_params(make_backend("hyperopt", space), 1)[0]["x"] for _ in range(3)}
    assert len(unseeded) == 3
    assert np.isfinite(list(unseeded)).all()
    assert Direction.MINIMIZE in make_backend("hyperopt", space).directions


# Algorithms declared once: the options and defaults are Hyperopt's own.
@pytest.mark.parametrize("algorithm", ["tpe", "random", "anneal", "atpe"])
def test_declared_options_are_hyperopts_own(algorithm):
    import importlib
    import inspect

    from unitune_hyperopt.algorithms import ALGORITHMS as RECORDS
    from unitune_hyperopt.algorithms import SUGGEST_MODULES

    module = importlib.import_module(SUGGEST_MODULES[algorithm])
    target = module.AnnealingAlgo.__init__ if algorithm == "anneal" else module.suggest
    skip = {"self", "new_ids", "domain", "trials", "seed", "args", "kwargs"}
    native = {n: p.default for n, p in inspect.signature(target).parameters.items() if n not in skip}
    assert dict(RECORDS[algorithm].options) == native
    assert "__init__" not in vars(HyperoptBackend)


def test_interrupted_trial_is_forgotten():
    backend = make_backend("hyperopt", {"x": Float(0.0, 1.0)}, seed=0)
    [a, b, c] = ask_params(backend, 3)
    backend.tell(Trial(number=1, params=b, state=TrialState.INTERRUPTED))
    backend.tell(Trial.complete(0, a, 0.5))
    backend.tell(Trial.failed(2, c, "boom"))
    docs = backend.trials.trials
    assert [d["result"]["status"] for d in docs] == ["ok", "fail"]  # trial 1's document is gone
    assert [d["tid"] for d in docs] == [0, 2]
    assert len(backend.pending) == 0
    [d] = ask_params(backend, 1, 3)
    backend.tell(Trial.complete(3, d, 0.25))
    assert backend.trials.losses() == [0.5, None, 0.25]
