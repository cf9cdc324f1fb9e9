"""Tests of the unitune-optuna adapter against the real Optuna library."""

from __future__ import annotations

import logging
import math
import sys
import warnings

import optuna
import pytest
from protocol_helpers import ask_params
from unitune_optuna import OptunaBackend

import unitune
from unitune import Categorical, Constant, Float, Int, Space
from unitune.backend import Fidelity
from unitune.errors import (
    BackendError,
    BackendNotInstalledError,
    CapabilityError,
    ConversionError,
)
from unitune.registry import conversion_report, list_backends, load_backend_class, make_backend
from unitune.testing import STANDARD_SPACES, check_params
from unitune.trial import Direction, Trial, TrialState

ALGORITHMS = ["tpe", "random", "cmaes", "qmc", "nsga2"]  # "gp" needs torch, see test_gp_*
HAS_TORCH = __import__("importlib").util.find_spec("torch") is not None


def _sphere(params):
    return sum((v - 0.3) ** 2 for k, v in params.items() if isinstance(v, float))


# Discovery first.
def test_discovery_installed_found_and_listed():
    info = {b.name: b for b in list_backends()}["optuna"]
    assert info.installed
    assert list(info.algorithms) == ["tpe", "random", "cmaes", "qmc", "nsga2", "gp"]
    assert info.capabilities["nsga2"].multi_objective
    assert not info.capabilities["cmaes"].multi_objective
    assert load_backend_class("optuna") is OptunaBackend
    backend = make_backend("optuna.cmaes", {"x": Float(0.0, 1.0)}, seed=0)
    assert isinstance(backend, OptunaBackend)
    assert backend.algorithm == "cmaes"
    assert backend.full_name == "optuna.cmaes"
    assert make_backend("optuna", {"x": Float(0.0, 1.0)}).algorithm == "tpe"


# Options.
def test_unknown_option_rejected_naming_accepted_ones():
    with pytest.raises(BackendError, match=r"unknown option\(s\) \['n_startup'\].*n_startup_trials"):
        OptunaBackend({"x": Float(0.0, 1.0)}, n_startup=3)


def test_options_reach_the_sampler():
    backend = OptunaBackend({"x": Float(0.0, 1.0)}, seed=1, n_startup_trials=3, multivariate=False)
    sampler = backend.optuna_study.sampler
    assert isinstance(sampler, optuna.samplers.TPESampler)
    assert sampler._n_startup_trials == 3
    assert sampler._multivariate is False
    nsga = OptunaBackend({"x": Float(0.0, 1.0)}, algorithm="nsga2", population_size=8)
    assert nsga.optuna_study.sampler._population_size == 8


def test_invalid_option_value_translated():
    with pytest.raises(BackendError, match=r"'optuna.qmc' failed to build its sampler with the options.*qmc_type") as info:
        OptunaBackend({"x": Float(0.0, 1.0)}, algorithm="qmc", qmc_type="latin")
    assert isinstance(info.value.__cause__, ValueError)


def test_unknown_algorithm_rejected():
    with pytest.raises(BackendError, match=r"no algorithm 'bohb'"):
        make_backend("optuna.bohb", {"x": Float(0.0, 1.0)})


@pytest.mark.skipif(HAS_TORCH, reason="torch is installed here")
def test_gp_without_torch_says_what_to_install():
    with pytest.raises(BackendNotInstalledError, match=r"pip install 'unitune-optuna\[gp\]'"):
        make_backend("optuna.gp", {"x": Float(0.0, 1.0)}, seed=0)


# Logging and warnings.
def test_logging_quieted_and_no_experimental_warning():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        backend = OptunaBackend({"x": Float(0.0, 1.0)}, algorithm="qmc", seed=0)
        ask_params(backend, 3)
    assert optuna.logging.get_verbosity() >= logging.WARNING
    assert not [w for w in caught if issubclass(w.category, optuna.exceptions.ExperimentalWarning)]


# Values and the space.
def test_ambiguous_choices_keep_their_identity():
    space = Space({"c": Categorical([1, True, 1.0, 0, False, None])})
    backend = OptunaBackend(space, seed=0, n_startup_trials=3)
    seen = []
    for number in range(30):
        [params] = ask_params(backend, 1, number)
        check_params(space, params, "ambiguous")
        seen.append(params["c"])
        backend.tell(Trial.complete(number, params, 0.0 if params["c"] is True else 1.0))
    assert {repr(v) for v in seen} == {"1", "True", "1.0", "0", "False", "None"}
    # TPE learns that True (not 1, not 1.0) is best.
    assert [repr(v) for v in seen[-10:]].count("True") >= 5
    backend.replay([Trial.complete(99, {"c": 1.0}, 0.5)])
    assert backend.optuna_study.trials[-1].params == {"c": 2}  # by position


def test_constants_are_not_suggested():
    space = Space({"x": Float(0.0, 1.0), "k": Constant({"a": [1, 2]})})
    backend = OptunaBackend(space, seed=0)
    [params] = ask_params(backend, 1)
    assert params["k"] == {"a": [1, 2]}
    assert list(backend.optuna_study.trials[0].distributions) == ["x"]
    backend.tell(Trial.complete(0, params, 1.0))
    backend.replay([Trial.complete(1, {"x": 0.5, "k": {"a": [1, 2]}}, 2.0)])
    assert list(backend.optuna_study.trials[1].params) == ["x"]


def test_conditional_define_by_run_only_active_params():
    space = STANDARD_SPACES["conditional"]
    backend = OptunaBackend(space, seed=2)
    for number in range(20):
        [params] = ask_params(backend, 1, number)
        check_params(space, params, "conditional")
        native = backend.optuna_study.trials[-1]
        assert set(native.distributions) == set(params)
        backend.tell(Trial.complete(number, params, float(number)))


# Conversion report and strict mode.
def _fidelities(algorithm, space):
    return {c.param: c.fidelity for c in conversion_report(f"optuna.{algorithm}", space)}


def test_conversion_report_tpe_and_random_exact_everywhere():
    for algorithm in ("tpe", "random"):
        for space in STANDARD_SPACES.values():
            assert set(_fidelities(algorithm, space).values()) == {Fidelity.EXACT}


def test_conversion_report_cmaes_categorical_and_conditional_approximated():
    report = {c.param: c for c in conversion_report("optuna.cmaes", STANDARD_SPACES["mixed"])}
    assert report["kind"].fidelity is Fidelity.APPROXIMATED
    assert "RandomSampler" in report["kind"].detail
    assert report["x"].fidelity is Fidelity.EXACT
    assert report["const"].fidelity is Fidelity.EXACT
    cond = _fidelities("cmaes", STANDARD_SPACES["conditional"])
    assert cond["x"] is Fidelity.EXACT
    assert cond["alpha"] is Fidelity.APPROXIMATED


@pytest.mark.parametrize("algorithm", ["qmc", "nsga2", "gp"])
def test_conversion_report_conditional_params_approximated(algorithm):
    cls = OptunaBackend
    spec_space = STANDARD_SPACES["conditional"]
    if algorithm == "gp" and not HAS_TORCH:
        from unitune_optuna.algorithms import ALGORITHMS as SPECS
        from unitune_optuna.codec import conversion_report as report_of

        report = {c.param: c.fidelity for c in report_of(spec_space, SPECS["gp"])}
    else:
        report = {c.param: c.fidelity for c in cls(spec_space, algorithm=algorithm).conversion_report()}
    assert report["x"] is Fidelity.EXACT
    assert report["model"] is Fidelity.EXACT
    assert {report[p] for p in ("alpha", "depth", "split", "n_tries")} == {Fidelity.APPROXIMATED}
    assert set(_flat_report(algorithm).values()) == {Fidelity.EXACT}


def _flat_report(algorithm):
    from unitune_optuna.algorithms import ALGORITHMS as SPECS
    from unitune_optuna.codec import conversion_report as report_of

    return {c.param: c.fidelity for c in report_of(STANDARD_SPACES["mixed"], SPECS[algorithm])}


def test_strict_mode_refuses_lossy_and_accepts_exact():
    with pytest.raises(ConversionError, match=r"strict mode: backend 'optuna.cmaes'.*kind: approximated"):
        unitune.optimize(_sphere, STANDARD_SPACES["mixed"], backend="optuna.cmaes", n_trials=2, strict=True)
    with pytest.raises(ConversionError, match=r"'optuna.qmc'.*alpha: approximated"):
        unitune.Study(STANDARD_SPACES["conditional"], "optuna.qmc", strict=True)
    study = unitune.optimize(_sphere, STANDARD_SPACES["conditional"], backend="optuna", n_trials=5,
                             seed=0, strict=True)
    assert len(study.trials) == 5


# Failure policy.
def test_failed_and_pruned_trials_reach_optuna_and_study_goes_on():
    calls = []

    def objective(params, trial):
        calls.append(params)
        n = len(calls)
        if n % 4 == 1:
            raise RuntimeError("boom")
        if n % 4 == 2:
            return math.nan
        if n % 4 == 3:
            return math.inf
        trial.report(0.5, step=1)
        return _sphere(params)

    study = unitune.Study({"x": Float(0.0, 1.0), "y": Float(0.0, 1.0)}, "optuna", seed=0)
    study.optimize(objective, n_trials=12)
    native = study.backend.optuna_study.trials
    assert [t.state for t in native] == [
        optuna.trial.TrialState.FAIL if i % 4 != 3 else optuna.trial.TrialState.COMPLETE
        for i in range(12)
    ]
    complete = [t for t in native if t.state is optuna.trial.TrialState.COMPLETE]
    assert complete[0].intermediate_values == {1: 0.5}
    handle = study.ask()
    record = study.tell(handle, state="pruned")
    assert record.state is TrialState.PRUNED
    assert study.backend.optuna_study.trials[-1].state is optuna.trial.TrialState.PRUNED


def test_running_trial_rejected():
    backend = OptunaBackend({"x": Float(0.0, 1.0)}, seed=0)
    [params] = ask_params(backend, 1)
    with pytest.raises(BackendError, match=r"tell needs a finished trial"):
        backend.tell(Trial(number=0, params=params, state=TrialState.RUNNING))


def test_foreign_trial_outside_space_translated():
    backend = OptunaBackend({"x": Float(0.0, 1.0)}, seed=0)
    with pytest.raises(BackendError, match=r"'optuna' failed to replay trial 3"):
        backend.replay([Trial.complete(3, {"x": 2.0}, 1.0)])
    with pytest.raises(BackendError, match=r"parameter 'z' is not in the space"):
        backend.replay([Trial.complete(4, {"z": 0.5}, 1.0)])


# Batch ask.
def test_batch_ask_keeps_optuna_trials_pending_until_told():
    space = Space({"x": Float(0.0, 1.0), "k": Categorical(["a", "b"])})
    backend = OptunaBackend(space, seed=0, n_startup_trials=2)
    for number in range(3):
        backend.replay([Trial.complete(number, space.sample(seed=number), float(number))])
    batch = ask_params(backend, 4, 10)
    assert len({unitune.backend.params_key(p) for p in batch}) == 4
    states = [t.state for t in backend.optuna_study.trials]
    assert states.count(optuna.trial.TrialState.RUNNING) == 4
    for number, params in reversed(list(enumerate(batch, start=10))):
        backend.tell(Trial.complete(number, params, params["x"]))
    by_params = {t.params["x"]: t.value for t in backend.optuna_study.trials[3:]}
    assert by_params == {p["x"]: p["x"] for p in batch}


def test_duplicate_proposals_in_a_batch_are_matched_one_by_one():
    space = Space({"k": Categorical(["a"]), "j": Categorical([1, 2])})
    backend = OptunaBackend(space, seed=0, algorithm="random")
    batch = ask_params(backend, 6)
    for number, params in enumerate(batch):
        backend.tell(Trial.complete(number, params, float(number)))
    native = backend.optuna_study.trials
    assert len(native) == 6
    assert all(t.state is optuna.trial.TrialState.COMPLETE for t in native)


# Directions and multi-objective.
def test_directions_map_without_negation():
    study = unitune.optimize(_sphere, {"x": Float(0.0, 1.0)}, backend="optuna", n_trials=15,
                             seed=0, direction="maximize")
    native = study.backend.optuna_study
    assert native.direction is optuna.study.StudyDirection.MAXIMIZE
    assert native.best_value == study.best_value
    assert native.best_params == study.best_params


@pytest.mark.parametrize("algorithm", ["tpe", "random", "qmc", "nsga2"])
def test_multi_objective(algorithm):
    options = {"population_size": 6} if algorithm == "nsga2" else {}
    study = unitune.optimize(
        lambda p: {"a": p["x"], "b": (p["x"] - 1.0) ** 2},
        {"x": Float(0.0, 2.0)}, backend=f"optuna.{algorithm}", n_trials=16, seed=0,
        direction=["minimize", "minimize"], metric=["a", "b"], backend_options=options,
    )
    native = study.backend.optuna_study
    assert [d.name for d in native.directions] == ["MINIMIZE", "MINIMIZE"]
    assert len(native.best_trials) == len(study.best_trials)


def test_cmaes_multi_objective_is_a_capability_error():
    with pytest.raises(CapabilityError, match=r"'optuna.cmaes' optimizes a single objective"):
        OptunaBackend({"x": Float(0.0, 1.0)}, algorithm="cmaes",
                      directions=(Direction.MINIMIZE, Direction.MINIMIZE))


# End to end.
def test_end_to_end_mixed_space_every_algorithm_finds_something_good():
    space = Space({
        "x": Float(-3.0, 3.0),
        "lr": Float(1e-4, 1.0, log=True),
        "n": Int(1, 100, log=True),
        "s": Int(0, 20, step=4),
        "opt": Categorical({"sgd": {"m": Float(0.0, 0.9, step=0.1)}, "adam": None}),
        "tag": "v1",
    })

    def objective(p):
        assert space.contains(p)
        return p["x"] ** 2 + abs(math.log10(p["lr"]) + 2) + (0.5 if p["opt"] == "adam" else p["m"])

    for algorithm in ALGORITHMS:
        study = unitune.optimize(objective, space, backend=f"optuna.{algorithm}", n_trials=30, seed=1)
        assert len(study.trials) == 30
        assert study.best_value < 3.0


def test_public_tell_fallback_without_optuna_private_helper(monkeypatch):
    monkeypatch.setitem(sys.modules, "optuna.study._tell", None)  # import now raises ImportError
    study = unitune.optimize(_sphere, {"x": Float(0.0, 1.0)}, backend="optuna", n_trials=6, seed=0)
    native = study.backend.optuna_study.trials
    assert [t.value for t in native] == [t.value for t in study.trials]
    assert all(t.state is optuna.trial.TrialState.COMPLETE for t in native)


# Algorithms declared once: the options and defaults are the samplers' own.
@pytest.mark.parametrize("algorithm", ["tpe", "random", "cmaes", "qmc", "nsga2", "gp"])
def test_declared_options_are_the_samplers_own(algorithm):
    import inspect

    from unitune_optuna.algorithms import ALGORITHMS as RECORDS

    record = RECORDS[algorithm]
    params = inspect.signature(getattr(optuna.samplers, record.sampler).__init__).parameters
    native = {name: p.default for name, p in params.items() if name not in ("self", "seed")}
    quiet = {"warn_independent_sampling": False} if algorithm in ("cmaes", "qmc", "gp") else {}
    assert dict(record.options) == {**native, **quiet}
    assert "__init__" not in vars(OptunaBackend)


# The pruning seam: intermediate values reach the live Optuna trial, once.
def test_report_reaches_the_running_optuna_trial_and_is_not_repeated_at_tell():
    backend = OptunaBackend({"x": Float(0.0, 1.0)}, seed=0)
    [proposal] = backend.ask([0])
    backend.report(0, 1, 0.5)
    backend.report(0, 2, 0.25)
    native = backend.optuna_study.trials[0]
    assert native.state is optuna.trial.TrialState.RUNNING
    assert native.intermediate_values == {1: 0.5, 2: 0.25}
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # Optuna warns when a step is reported twice
        backend.tell(Trial(number=0, params=proposal.params, state=TrialState.COMPLETE, values=(0.1,),
                           intermediate={1: 0.5, 2: 0.25, 3: 0.125}))
    told = backend.optuna_study.trials[0]
    assert told.state is optuna.trial.TrialState.COMPLETE
    assert told.intermediate_values == {1: 0.5, 2: 0.25, 3: 0.125}
    backend.report(0, 4, 0.1)  # no longer running: ignored, not an error
    assert backend.optuna_study.trials[0].intermediate_values == {1: 0.5, 2: 0.25, 3: 0.125}


def test_interrupted_trial_is_never_left_running():
    backend = OptunaBackend({"x": Float(0.0, 1.0)}, seed=0)
    [a, b] = backend.ask([0, 1])
    backend.tell(Trial(number=0, params=a.params, state=TrialState.INTERRUPTED))
    backend.tell(Trial.complete(1, b.params, 0.5))
    assert [t.state for t in backend.optuna_study.trials] == [
        optuna.trial.TrialState.FAIL, optuna.trial.TrialState.COMPLETE]
