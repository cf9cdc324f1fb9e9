"""unitune-hyperopt against native Hyperopt: same proposals as fmin, replay, restarts."""

from __future__ import annotations

import functools
import math

import numpy as np
import pytest
from hyperopt import Trials, anneal, fmin, hp, rand, tpe
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from protocol_helpers import ask_params
from space_strategies import flat_spaces
from unitune_hyperopt.codec import HyperoptCodec

import unitune
from unitune import Categorical, Float, Int, Space
from unitune.backend import params_key
from unitune.kit import FixedConfiguration
from unitune.registry import make_backend
from unitune.testing import STANDARD_SPACES
from unitune.trial import Trial

SUGGEST = {"tpe": tpe.suggest, "random": rand.suggest, "anneal": anneal.suggest}

FLAT = Space({
    "x": Float(-5.0, 5.0),
    "lr": Float(1e-5, 1e-1, log=True),
    "units": Int(1, 64, log=True),
    "depth": Int(2, 20, step=2),
    "n": Int(0, 9),
    "kind": Categorical(["a", "b", "c"]),
    "const": "fixed",
})
# What a Hyperopt user writes for the same space (constants are not searched).
NATIVE_FLAT = {
    "x": hp.uniform("x", -5.0, 5.0),
    "lr": hp.loguniform("lr", math.log(1e-5), math.log(1e-1)),
    "units": hp.qloguniform("units", math.log(0.5), math.log(64.5), 1),
    "depth": hp.quniform("depth", 1.0, 21.0, 2),
    "n": hp.quniform("n", -0.5, 9.5, 1),
    "kind": hp.choice("kind", ["a", "b", "c"]),
}


def _loss(p) -> float:
    return ((p["x"] - 1) ** 2 + abs(math.log10(p["lr"]) + 3) + abs(p["units"] - 8) / 8
            + p["depth"] / 20 + abs(p["n"] - 4) + (p["kind"] != "b"))


def _native(space, algo, n, seed, loss=_loss) -> tuple[list[dict], Trials]:
    seen, trials = [], Trials()

    def objective(point):
        seen.append(dict(point))
        return loss(point)

    fmin(objective, space, algo=algo, max_evals=n, trials=trials, rstate=np.random.default_rng(seed),
         show_progressbar=False, verbose=False)
    return seen, trials


def _as_unitune(point: dict) -> dict:
    ints = {"units", "depth", "n"}
    return {**{k: int(v) if k in ints else v for k, v in point.items()}, "const": "fixed"}


def _vals(trials) -> list[dict]:
    return [doc["misc"]["vals"] for doc in trials.trials]


# Fidelity: with seed s the adapter proposes exactly what fmin(rstate=default_rng(s)) proposes.
@pytest.mark.parametrize("algorithm", ["tpe", "random", "anneal"])
@pytest.mark.parametrize("seed", [0, 12345])
def test_same_proposals_as_native_fmin(algorithm, seed):
    native, native_trials = _native(NATIVE_FLAT, SUGGEST[algorithm], 40, seed)
    ours = []

    def objective(params):
        ours.append(dict(params))
        return _loss(params)

    study = unitune.optimize(objective, FLAT, backend=f"hyperopt.{algorithm}", n_trials=40,
                             seed=seed, show_progress=False)
    assert ours == [_as_unitune(p) for p in native]
    assert _vals(study.backend.trials) == _vals(native_trials)


def test_same_proposals_with_options_and_maximize():
    options = {"n_startup_jobs": 5, "gamma": 0.4, "n_EI_candidates": 12}
    native, _ = _native(NATIVE_FLAT, functools.partial(tpe.suggest, **options), 30, 7)
    ours = []

    def objective(params):
        ours.append(dict(params))
        return -_loss(params)  # maximizing -loss is minimizing loss

    unitune.optimize(objective, FLAT, backend="hyperopt", n_trials=30, seed=7, direction="maximize",
                     backend_options=options, show_progress=False)
    assert ours == [_as_unitune(p) for p in native]


def test_same_proposals_on_a_conditional_space():
    native_space = {
        "x": hp.uniform("x", 0.0, 1.0),
        "model": hp.choice("model", [
            {"alpha": hp.loguniform("alpha", math.log(1e-4), math.log(10.0))},
            {"depth": hp.quniform("depth", 0.5, 8.5, 1),
             "split": hp.choice("split", [{}, {"n_tries": hp.quniform("n_tries", 0.5, 5.5, 1)}])},
            {},
        ]),
    }
    losses = iter([((i * 7919) % 13) / 13 for i in range(200)])
    _, native_trials = _native(native_space, tpe.suggest, 35, 3, loss=lambda _p: next(losses))
    losses = iter([((i * 7919) % 13) / 13 for i in range(200)])
    study = unitune.optimize(lambda _p: next(losses), STANDARD_SPACES["conditional"], backend="hyperopt",
                             n_trials=35, seed=3, show_progress=False)
    assert _vals(study.backend.trials) == _vals(native_trials)


@pytest.mark.parametrize("algorithm", ["tpe", "anneal"])
@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(space=flat_spaces(), seed=st.integers(0, 2**31 - 2))
def test_property_same_driving_loop_as_fmin(algorithm, space, seed):
    """On random flat spaces, the adapter drives Hyperopt exactly like fmin does."""
    translation = HyperoptCodec(space)
    assume(not FixedConfiguration.applies(space))
    algo = SUGGEST[algorithm]
    if algorithm == "tpe":
        algo = functools.partial(tpe.suggest, n_startup_jobs=3)
    losses = [((i * 31) % 7) / 7 for i in range(10)]
    it = iter(losses)
    _, native_trials = _native(translation.native_space(), algo, 10, seed, loss=lambda _p: next(it))
    backend = make_backend(f"hyperopt.{algorithm}", space, seed=seed,
                           options={"n_startup_jobs": 3} if algorithm == "tpe" else {})
    for number, loss in enumerate(losses):
        [params] = ask_params(backend, 1, number)
        backend.tell(Trial.complete(number, params, loss))
    assert _vals(backend.trials) == _vals(native_trials)


# Replay: history from elsewhere conditions the backend.
def _quadratic(params) -> float:
    return (params["x"] - 0.3) ** 2 + (params["y"] + 0.2) ** 2


@pytest.mark.parametrize("algorithm", ["tpe", "anneal"])
def test_warm_backend_uses_history_and_never_reproposes_it(algorithm):
    space = Space({"x": Float(-2.0, 2.0), "y": Float(-2.0, 2.0)})
    history = [space.sample(seed=100 + i) for i in range(40)]
    seen = {params_key(p) for p in history}

    def run(backend, start):
        values = []
        for number in range(start, start + 15):
            [params] = ask_params(backend, 1, number)
            assert params_key(params) not in seen
            values.append(_quadratic(params))
            backend.tell(Trial.complete(number, params, values[-1]))
        return values

    warm = make_backend(f"hyperopt.{algorithm}", space, seed=0)
    warm.replay([Trial.complete(number, params, _quadratic(params)) for number, params in enumerate(history)])
    assert warm.trials.losses() == [_quadratic(p) for p in history]
    warm_values = run(warm, len(history))
    cold_values = run(make_backend(f"hyperopt.{algorithm}", space, seed=0), 0)
    assert warm_values != cold_values
    assert np.median(warm_values) < np.median(cold_values)
    assert min(warm_values) < min(_quadratic(p) for p in history)


def test_foreign_trials_are_encoded_as_hyperopt_documents():
    backend = make_backend("hyperopt", STANDARD_SPACES["conditional"], seed=0)
    params = {"x": 0.5, "model": "tree", "depth": 3, "split": "random", "n_tries": 2}
    backend.replay([Trial.complete(0, params, 1.5)])
    backend.replay([Trial.failed(1, {"x": 0.1, "model": "none"})])
    first, second = backend.trials.trials
    assert first["misc"]["vals"] == {"x": [0.5], "model": [1], "alpha": [], "depth": [3.0],
                                     "split": [1], "n_tries": [2.0]}
    assert first["misc"]["idxs"]["depth"] == [first["tid"]]
    assert first["misc"]["idxs"]["alpha"] == []
    assert first["result"] == {"status": "ok", "loss": 1.5}
    assert second["result"]["status"] == "fail"
    assert second["misc"]["vals"]["model"] == [2]


# Restarts: Hyperopt re-proposes its first points when reseeded; the adapter does not.
def test_native_hyperopt_repeats_after_a_restart():
    space = {"x": hp.uniform("x", 0.0, 1.0)}
    trials = Trials()
    for max_evals in (5, 6):  # a second fmin call on the same trials, reseeded the same way
        fmin(lambda p: p["x"], space, algo=rand.suggest, max_evals=max_evals, trials=trials,
             rstate=np.random.default_rng(0), show_progressbar=False, verbose=False)
    vals = _vals(trials)
    assert vals[5] == vals[0]  # the trap the adapter avoids


@pytest.mark.parametrize("algorithm", ["tpe", "random", "anneal"])
def test_restart_does_not_repeat_but_fresh_run_reproduces(algorithm):
    space = Space({"x": Float(0.0, 1.0), "k": Categorical(["a", "b"])})
    name = f"hyperopt.{algorithm}"

    def objective(params):
        return params["x"] + (params["k"] == "a")

    first = unitune.optimize(objective, space, backend=name, n_trials=5, seed=0, show_progress=False)
    resumed = unitune.Study(space, backend=name, seed=0)
    resumed.add_trials(first.trials)
    resumed.optimize(objective, 5, show_progress=False)
    earlier = {params_key(t.params) for t in first.trials}
    assert not any(params_key(t.params) in earlier for t in resumed.trials[5:])
    fresh = unitune.optimize(objective, space, backend=name, n_trials=5, seed=0, show_progress=False)
    assert [t.params for t in fresh.trials] == [t.params for t in first.trials]


def test_resume_continues_the_uninterrupted_run():
    space = Space({"x": Float(-1.0, 1.0), "n": Int(0, 20), "k": Categorical(["a", "b", "c"])})

    def objective(params):
        return params["x"] ** 2 + abs(params["n"] - 7) / 10 + (params["k"] != "c")

    options = {"n_startup_jobs": 3}
    whole = unitune.optimize(objective, space, backend="hyperopt", n_trials=10, seed=5,
                             backend_options=options, show_progress=False)
    resumed = unitune.Study(space, backend="hyperopt", seed=5, backend_options=options)
    resumed.add_trials(whole.trials[:5])
    resumed.optimize(objective, 5, show_progress=False)
    assert [t.params for t in resumed.trials] == [t.params for t in whole.trials]
