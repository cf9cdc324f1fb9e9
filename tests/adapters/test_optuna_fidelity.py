"""unitune-optuna: properties over random spaces, fidelity to native Optuna, replay and reseeding."""

from __future__ import annotations

import importlib.util
import math

import optuna
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from protocol_helpers import ask_params
from space_strategies import flat_spaces, spaces
from unitune_optuna import OptunaBackend
from unitune_optuna.codec import has_ambiguous_choices

import unitune
from unitune import Categorical, Constant, Float, Int, Space
from unitune.backend import params_key
from unitune.errors import SearchExhausted
from unitune.kit import FixedConfiguration
from unitune.testing import check_params
from unitune.trial import Trial

# The native QMCSampler built here warns that it is experimental; the adapter silences that itself.
pytestmark = pytest.mark.filterwarnings("ignore::optuna.exceptions.ExperimentalWarning")

HAS_TORCH = importlib.util.find_spec("torch") is not None
# GP needs torch (CI installs the CPU build); it fits a Gaussian process per trial, so it is slow.
GP_MARKS = [pytest.mark.slow, pytest.mark.skipif(not HAS_TORCH, reason="optuna.gp needs torch")]
ALGORITHMS = ["tpe", "random", "cmaes", "qmc", "nsga2", pytest.param("gp", marks=GP_MARKS)]
#: The property tests draw fewer spaces for the GP (a fit per trial; about a minute here for 6).
FAST_ALGORITHMS = ALGORITHMS[:-1]
# Small settings so that the model-based part of each sampler runs within a dozen trials.
OPTIONS = {"tpe": {"n_startup_trials": 4}, "nsga2": {"population_size": 4}, "gp": {"n_startup_trials": 4}}
SAMPLERS = {
    "tpe": optuna.samplers.TPESampler,
    "random": optuna.samplers.RandomSampler,
    "cmaes": optuna.samplers.CmaEsSampler,
    "qmc": optuna.samplers.QMCSampler,
    "nsga2": optuna.samplers.NSGAIISampler,
    "gp": optuna.samplers.GPSampler,
}


def score(params) -> float:
    """A deterministic objective over any space."""
    total = 0.0
    for name, value in sorted(params.items()):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            total += (len(repr(value)) + len(name)) % 3
        else:
            total += math.log1p(abs(float(value) - 1.0))
    return total


# Every proposal is in the space, of the declared type, on the step grid.
def check_proposals_in_space(algorithm, space, seed, batch):
    backend = OptunaBackend(space, seed=seed, algorithm=algorithm, **OPTIONS.get(algorithm, {}))
    number = 0
    if FixedConfiguration.applies(space):  # nothing to search: proposed once, then exhausted
        assert ask_params(backend, batch) == [space.sample(seed=seed)]
        with pytest.raises(SearchExhausted, match="single configuration"):
            ask_params(backend, 1, 1)
        return
    for _ in range(4):
        proposals = ask_params(backend, batch, number)
        assert len(proposals) == batch
        for params in proposals:
            check_params(space, params, f"optuna.{algorithm}")
        for params in proposals:
            backend.tell(Trial.complete(number, params, score(params)))
            number += 1
    foreign = space.sample(seed=seed)
    backend.replay([Trial.complete(number, foreign, score(foreign))])
    for params in ask_params(backend, 2, number + 1):
        check_params(space, params, f"optuna.{algorithm} after a foreign trial")


@pytest.mark.parametrize("algorithm", FAST_ALGORITHMS)
@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(space=spaces(), seed=st.integers(0, 2**16), batch=st.sampled_from([1, 3]))
def test_proposals_in_space(algorithm, space, seed, batch):
    check_proposals_in_space(algorithm, space, seed, batch)


@pytest.mark.slow
@pytest.mark.skipif(not HAS_TORCH, reason="optuna.gp needs torch")
@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(space=spaces(), seed=st.integers(0, 2**16), batch=st.sampled_from([1, 3]))
def test_gp_proposals_in_space(space, seed, batch):
    check_proposals_in_space("gp", space, seed, batch)


# Fidelity: on a flat space, the adapter proposes exactly what Optuna proposes natively.
def native_proposals(algorithm: str, space: Space, seed: int, n: int) -> list[dict]:
    sampler = SAMPLERS[algorithm](seed=seed, **OPTIONS.get(algorithm, {}))
    study = optuna.create_study(sampler=sampler)
    proposals = []

    def objective(trial):
        params = {}
        for name, dim in space.items():
            if isinstance(dim, Float):
                params[name] = trial.suggest_float(name, dim.low, dim.high, log=dim.log, step=dim.step)
            elif isinstance(dim, Int):
                params[name] = trial.suggest_int(name, dim.low, dim.high, step=dim.step, log=dim.log)
            elif isinstance(dim, Categorical):
                params[name] = trial.suggest_categorical(name, list(dim.choices))
            else:
                params[name] = dim.value
        proposals.append(params)
        return score(params)

    study.optimize(objective, n_trials=n)
    return proposals


def unitune_proposals(algorithm: str, space: Space, seed: int, n: int) -> list[dict]:
    study = unitune.optimize(score, space, backend=f"optuna.{algorithm}", seed=seed, n_trials=n,
                             backend_options=OPTIONS.get(algorithm))
    return [dict(t.params) for t in study.trials]


FIDELITY_SPACE = Space({
    "x": Float(-5.0, 5.0),
    "lr": Float(1e-5, 1e-1, log=True),
    "frac": Float(0.0, 1.0, step=0.125),
    "units": Int(1, 64, log=True),
    "depth": Int(2, 20, step=2),
    "kind": Categorical(["a", "b", "c"]),
    "const": Constant("fixed"),
})


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_fidelity_mixed_space(algorithm):
    ours = unitune_proposals(algorithm, FIDELITY_SPACE, 42, 25)
    assert ours == native_proposals(algorithm, FIDELITY_SPACE, 42, 25)
    assert len({params_key(p) for p in ours}) > 15


def check_fidelity_on_a_flat_space(algorithm, space, seed):
    # Optuna itself confuses choices equal under == (1, 1.0, True): the adapter does not, so
    # the two legitimately differ there (see test_ambiguous_choices_keep_their_identity).
    assume(not any(isinstance(d, Categorical) and has_ambiguous_choices(d) for d in space.values()))
    # A space with nothing to search is proposed once by every backend (unitune's rule).
    assume(not FixedConfiguration.applies(space))
    assert unitune_proposals(algorithm, space, seed, 10) == native_proposals(algorithm, space, seed, 10)


@pytest.mark.parametrize("algorithm", FAST_ALGORITHMS)
@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(space=flat_spaces(), seed=st.integers(0, 2**16))
def test_fidelity_random_flat_spaces(algorithm, space, seed):
    check_fidelity_on_a_flat_space(algorithm, space, seed)


@pytest.mark.slow
@pytest.mark.skipif(not HAS_TORCH, reason="optuna.gp needs torch")
@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(space=flat_spaces(), seed=st.integers(0, 2**16))
def test_gp_fidelity_random_flat_spaces(space, seed):
    check_fidelity_on_a_flat_space("gp", space, seed)


# Replay: history from elsewhere conditions the sampler.
def _bowl(params) -> float:
    return (params["x"] - 0.8) ** 2 + (params["y"] - 0.2) ** 2


BOWL = Space({"x": Float(0.0, 1.0), "y": Float(0.0, 1.0)})


def test_replay_warm_tpe_differs_from_cold_and_exploits_history():
    history = [BOWL.sample(seed=1000 + i) for i in range(60)]
    warm = OptunaBackend(BOWL, seed=0)
    warm.replay([Trial.complete(number, params, _bowl(params)) for number, params in enumerate(history)])
    cold = OptunaBackend(BOWL, seed=0)
    warm_props, cold_props = ask_params(warm, 10, 60), ask_params(cold, 10)
    assert warm_props != cold_props
    told = {params_key(p) for p in history}
    assert not told & {params_key(p) for p in warm_props}
    mean = lambda props: sum(_bowl(p) for p in props) / len(props)  # noqa: E731
    assert mean(warm_props) < 0.5 * mean(cold_props)
    assert len(warm.optuna_study.trials) == 70
    assert all(t.state.name == "COMPLETE" for t in warm.optuna_study.trials[:60])


def test_replay_then_ask_tell_keeps_conditioning():
    study = unitune.Study(BOWL, "optuna", seed=3)
    study.add_trials(Trial.complete(i, p, _bowl(p)) for i, p in
                     enumerate(BOWL.sample(seed=50 + i) for i in range(30)))
    study.optimize(_bowl, n_trials=20)
    assert study.best_value < 0.01
    assert len(study.backend.optuna_study.trials) == 50


# Reseeding after a restart.
@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_restart_with_same_seed_does_not_repeat_proposals(algorithm):
    options = OPTIONS.get(algorithm, {})
    first = unitune.optimize(score, FIDELITY_SPACE, backend=f"optuna.{algorithm}", seed=7, n_trials=8,
                             backend_options=options)
    restarted = unitune.Study(FIDELITY_SPACE, f"optuna.{algorithm}", seed=7, backend_options=options)
    restarted.add_trials(first.trials)
    restarted.optimize(score, n_trials=8)
    before = {params_key(t.params) for t in first.trials}
    after = {params_key(t.params) for t in restarted.trials[8:]}
    assert not before & after
    # ... while the restarted run stays reproducible.
    again = unitune.Study(FIDELITY_SPACE, f"optuna.{algorithm}", seed=7, backend_options=options)
    again.add_trials(first.trials)
    again.optimize(score, n_trials=8)
    assert [t.params for t in again.trials] == [t.params for t in restarted.trials]


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_different_seeds_give_different_proposals(algorithm):
    options = {"scramble": True} if algorithm == "qmc" else OPTIONS.get(algorithm, {})
    a = OptunaBackend(BOWL, seed=1, algorithm=algorithm, **options)
    b = OptunaBackend(BOWL, seed=2, algorithm=algorithm, **options)
    assert ask_params(a, 3) != ask_params(b, 3)


# Fidelity on a conditional space: the native objective walks the same branches define-by-run.
def _native_walk(trial, space: Space, params: dict) -> None:
    for name, dim in space.items():
        if isinstance(dim, Constant):
            params[name] = dim.value
            continue
        if isinstance(dim, Float):
            params[name] = trial.suggest_float(name, dim.low, dim.high, log=dim.log, step=dim.step)
        elif isinstance(dim, Int):
            params[name] = trial.suggest_int(name, dim.low, dim.high, step=dim.step, log=dim.log)
        else:
            params[name] = trial.suggest_categorical(name, list(dim.choices))
            branch = dim.branch(params[name])
            if branch is not None:
                _native_walk(trial, branch, params)


@pytest.mark.slow
@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_fidelity_conditional_space(algorithm):
    from unitune.testing import STANDARD_SPACES

    space = STANDARD_SPACES["conditional"]
    sampler = SAMPLERS[algorithm](seed=5, **OPTIONS.get(algorithm, {}))
    native = optuna.create_study(sampler=sampler)
    proposals = []

    def objective(trial):
        params = {}
        _native_walk(trial, space, params)
        proposals.append(params)
        return score(params)

    native.optimize(objective, n_trials=60)
    assert unitune_proposals(algorithm, space, 5, 60) == proposals
