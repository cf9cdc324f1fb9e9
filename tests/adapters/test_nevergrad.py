"""The Nevergrad adapter: discovery, fidelity to native Nevergrad, batch ask, replay, conditional
emulation, failures, recast optimizers, CMA's shared configuration. (The conformance suite runs on
every algorithm from tests/adapters/test_conformance.py.)"""

from __future__ import annotations

import math
import subprocess
import sys
import textwrap
import threading
import warnings
from concurrent.futures import ThreadPoolExecutor

import nevergrad as ng
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from protocol_helpers import ask_params
from space_strategies import spaces

import unitune
from unitune.backend import Fidelity
from unitune.errors import BackendError, ConversionError, SearchExhausted
from unitune.kit import derive_seed
from unitune.registry import list_backends, load_backend_class, make_backend
from unitune.space import Categorical, Constant, Float, Int, Space
from unitune.testing import STANDARD_SPACES, check_params
from unitune.trial import Trial, TrialState

ALGORITHMS = ["ngopt", "cma", "de", "pso", "oneplusone", "random", "halton"]
NATIVE = {"ngopt": "NGOpt", "cma": "CMA", "de": "TwoPointsDE", "pso": "PSO", "oneplusone": "OnePlusOne",
          "random": "RandomSearch", "halton": "ScrHaltonSearch"}

FLAT = Space({
    "x": Float(-5.0, 5.0),
    "lr": Float(1e-5, 1e-1, log=True),
    "units": Int(1, 64, log=True),
    "depth": Int(2, 20, step=2),
    "n": Int(0, 9),
    "kind": Categorical(["a", "b", "c"]),
    "const": Constant("fixed"),
})


def native_flat() -> ng.p.Dict:
    """What a Nevergrad user writes for FLAT (the constant is not searched)."""
    return ng.p.Dict(
        x=ng.p.Scalar(lower=-5.0, upper=5.0),
        lr=ng.p.Log(lower=1e-5, upper=1e-1),
        units=ng.p.Log(lower=1, upper=64).set_integer_casting(),
        depth=ng.p.Scalar(lower=0, upper=9).set_integer_casting(),  # 2 + 2 * k
        n=ng.p.Scalar(lower=0, upper=9).set_integer_casting(),
        kind=ng.p.Choice(["a", "b", "c"]),
    )


def as_unitune(value: dict) -> dict:
    """Nevergrad's value as unitune params. ng.p.Log can land an ulp outside its bounds
    (0.10000000000000002 for upper=0.1): the adapter clips such values onto the bound."""
    lr = min(max(value["lr"], 1e-5), 1e-1)
    return {**value, "lr": lr, "depth": 2 + 2 * value["depth"], "const": "fixed"}


def loss(p) -> float:
    return ((p["x"] - 1) ** 2 + abs(math.log10(p["lr"]) + 3) + abs(p["units"] - 8) / 8
            + p["depth"] / 20 + abs(p["n"] - 4) + (p["kind"] != "b"))


def build(algorithm: str, space=FLAT, seed=0, directions=("minimize",), **options):
    return make_backend(f"nevergrad.{algorithm}", space, seed=seed, directions=directions, options=options)


def _told_losses(backend) -> list[float]:
    """Every loss Nevergrad's tell receives from now on, in order."""
    told: list[float] = []
    backend.optimizer.register_callback("tell", lambda _opt, _cand, value: told.append(value))
    return told


# Discovery first.
def test_discovery():
    info = {b.name: b for b in list_backends()}["nevergrad"]
    assert info.installed, info
    assert list(info.algorithms) == ALGORITHMS
    from unitune_nevergrad import NevergradBackend

    assert load_backend_class("nevergrad") is NevergradBackend
    assert NevergradBackend.default_algorithm() == "ngopt"
    assert not info.capabilities["cma"].conditional
    assert info.capabilities["cma"].batch and info.capabilities["cma"].replay
    assert dict(info.options["ngopt"]) == {"budget": 100, "num_workers": 1}
    assert dict(info.options["halton"]) == {"num_workers": 1}
    assert NevergradBackend.versions()["nevergrad"] == ng.__version__
    code = ("import sys, unitune_nevergrad; from unitune.registry import list_backends; list_backends(); "
            "print('nevergrad' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False"], out


# Conformance: tests/adapters/test_conformance.py runs the suite on every algorithm (discovered).


@pytest.mark.slow
@pytest.mark.parametrize("algorithm", ["ngopt", "cma", "de"])
@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(space=spaces())
def test_proposals_in_space(algorithm, space):
    backend = build(algorithm, space, seed=1)
    number = 0
    for n in (1, 1, 3, 1):
        try:
            batch = ask_params(backend, n, number)
        except SearchExhausted:
            assert backend.exhaustible
            return
        for params in batch:
            check_params(space, params, f"{algorithm} trial {number}")
            backend.tell(Trial.complete(number, params, float(sum(len(repr(v)) for v in params.values()))))
            number += 1


# Fidelity: the same proposals, bit for bit, as a native ask/tell loop with the same seed.
def _native(algorithm, seed, n, *, batch=1, history=(), budget=None, num_workers=1):
    param = native_flat()
    param.random_state = np.random.RandomState(seed)
    opt = ng.optimizers.registry[NATIVE[algorithm]](parametrization=param, budget=budget,
                                                     num_workers=num_workers)
    for value, told in history:
        opt.tell(param.spawn_child(new_value=value), told)
    out: list[dict] = []
    while len(out) < n:
        candidates = [opt.ask() for _ in range(batch)]
        points = [as_unitune(c.value) for c in candidates]
        for candidate, point in zip(candidates, points):
            opt.tell(candidate, loss(point))
        out.extend(points)
    return out


def _adapter(backend, n, *, batch=1, start=0):
    out: list[dict] = []
    number = start
    while len(out) < n:
        proposals = backend.ask(list(range(number, number + batch)))
        for proposal in proposals:
            backend.tell(Trial.complete(proposal.number, proposal.params, loss(proposal.params)))
        out.extend(p.params for p in proposals)
        number += batch
    return out


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_fidelity_same_seed(algorithm):
    budget = 100 if algorithm == "ngopt" else None
    native = _native(algorithm, 7, 24, budget=budget)
    ours = _adapter(build(algorithm, seed=7), 24)
    assert ours == native
    assert len({repr(p) for p in ours}) > 1


@pytest.mark.parametrize("algorithm", ["ngopt", "cma", "de", "pso"])
def test_fidelity_batch_ask(algorithm):
    budget = 100 if algorithm == "ngopt" else None
    native = _native(algorithm, 3, 24, batch=4, budget=budget, num_workers=4)
    ours = _adapter(build(algorithm, seed=3, num_workers=4), 24, batch=4)
    assert ours == native


@pytest.mark.parametrize("algorithm", ["cma", "de", "oneplusone"])
def test_fidelity_replay_uses_spawn_child_and_a_derived_seed(algorithm):
    history = [Trial.complete(i, p, loss(p)) for i, p in enumerate(FLAT.sample(seed=40 + i) for i in range(5))]
    backend = build(algorithm, seed=5)
    backend.replay(history)
    ours = _adapter(backend, 12, start=5)
    # What a Nevergrad user tells for the same points (the codec's Choice takes positions).
    points = [{**t.params, "depth": (t.params["depth"] - 2) // 2} for t in history]
    points = [{k: v for k, v in p.items() if k != "const"} for p in points]
    native = _native(algorithm, derive_seed(5, 5), 12, history=[(p, t.values[0]) for p, t in zip(points, history)])
    assert ours == native
    # A restart does not re-propose the first points of a fresh run.
    assert ours[:3] != _adapter(build(algorithm, seed=5), 3)


def test_batch_ask_told_in_any_order_pairs_each_candidate_with_its_trial():
    backend = build("de", seed=2, num_workers=4)
    told = _told_losses(backend)
    proposals = backend.ask([10, 11, 12, 13])
    assert [p.number for p in proposals] == [10, 11, 12, 13]
    candidates = {n: backend.pending.get(n)[0] for n in (10, 11, 12, 13)}
    for proposal in reversed(proposals):
        backend.tell(Trial.complete(proposal.number, proposal.params, float(proposal.number)))
    assert told == [13.0, 12.0, 11.0, 10.0]
    assert [candidates[n].loss for n in (10, 11, 12, 13)] == [10.0, 11.0, 12.0, 13.0]


# Failures, maximization, huge values.
def test_failures_told_with_the_worst_loss_seen_held_until_one_completes():
    backend = build("cma", seed=0)
    told = _told_losses(backend)
    params = ask_params(backend, 6)
    backend.tell(Trial.failed(0, params[0], "boom"))
    backend.tell(Trial(number=1, params=params[1], state=TrialState.PRUNED))
    assert told == []  # nothing finite to stand for a failure yet
    backend.tell(Trial.complete(2, params[2], 5.0))
    assert told == [5.0, 5.0, 5.0]
    backend.tell(Trial.complete(3, params[3], 7.0))
    backend.tell(Trial.failed(4, params[4], "boom"))
    assert told[3:] == [7.0, 7.0]
    backend.tell(Trial(number=5, params=params[5], state=TrialState.INTERRUPTED))
    assert len(told) == 5  # forgotten, not told
    with pytest.raises(BackendError, match="never proposed trial 5"):
        backend.tell(Trial.complete(5, params[5], 1.0))


def test_maximize_negates_and_huge_values_never_reach_nevergrad_unbounded():
    backend = build("oneplusone", seed=0, directions=("maximize",))
    told = _told_losses(backend)
    params = ask_params(backend, 3)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # Nevergrad warns when it clips a loss itself
        backend.tell(Trial.complete(0, params[0], 2.0))
        backend.tell(Trial.complete(1, params[1], 1e300))
        backend.tell(Trial.complete(2, params[2], -1.7e308))
        ask_params(backend, 2, 3)
    assert told[0] == -2.0
    assert told[1:] == [-1e20, 1e20]


def test_tell_needs_a_finished_trial():
    backend = build("random")
    [params] = ask_params(backend, 1)
    with pytest.raises(BackendError, match="finished trial"):
        backend.tell(Trial(number=0, params=params, state=TrialState.RUNNING))


def test_options_are_validated():
    with pytest.raises(BackendError, match="'budget' must be a positive integer or None, got 0"):
        build("cma", budget=0)
    with pytest.raises(BackendError, match="'num_workers' must be a positive integer, got None"):
        build("cma", num_workers=None)
    with pytest.raises(BackendError, match="unknown option"):
        build("halton", budget=10)
    # NGOpt cannot ask without a budget: refused when built, not with a bare AssertionError at the first ask.
    with pytest.raises(BackendError, match="'budget' must be a positive integer, got None"):
        build("ngopt", budget=None)
    backend = build("pso", budget=40, num_workers=3)
    assert (backend.optimizer.budget, backend.optimizer.num_workers) == (40, 3)


# Spaces: conditional emulation, constants only, strict mode.
def test_conditional_space_is_emulated_and_reported():
    space = STANDARD_SPACES["conditional"]
    report = {c.param: c for c in unitune.conversion_report("nevergrad", space)}
    assert report["x"].fidelity is Fidelity.EXACT
    assert report["model"].fidelity is Fidelity.EMULATED
    assert report["alpha"].fidelity is Fidelity.EMULATED
    assert "Nevergrad has no conditional spaces" in report["n_tries"].detail
    with pytest.raises(ConversionError, match="alpha: emulated"):
        make_backend("nevergrad", space, strict=True)
    backend = build("de", space, seed=4)
    seen = set()
    for number, params in enumerate(ask_params(backend, 30)):
        check_params(space, params, f"trial {number}")
        seen.add(params["model"])
        if params["model"] != "linear":
            assert "alpha" not in params
        backend.tell(Trial.complete(number, params, params["x"]))
    assert seen == {"linear", "tree", "none"}
    # A foreign trial with inactive parameters is told with fillers for them.
    foreign = {"x": 0.5, "model": "none"}
    backend.replay([Trial.complete(99, foreign, 0.1)])
    assert backend.optimizer.num_tell_not_asked == 1


def test_constants_only_space_is_proposed_once():
    space = Space({"a": Constant(1), "b": Categorical(["only"])})
    backend = build("cma", space)
    assert backend.exhaustible and backend.optimizer is None
    [proposal] = backend.ask([0, 1])
    assert proposal.params == {"a": 1, "b": "only"}
    backend.tell(Trial.complete(0, proposal.params, 1.0))
    with pytest.raises(SearchExhausted, match="single configuration"):
        backend.ask([1])


def test_exact_flat_space_passes_strict_mode():
    report = unitune.conversion_report("nevergrad", FLAT)
    assert all(not c.lossy for c in report), report
    assert "set_integer_casting" in {c.param: c for c in report}["n"].detail


# Recast optimizers (Cobyla, ...): a batch never deadlocks, the interpreter exits.
SMALL = Space({"x": Float(0.0, 1.0), "y": Float(-1.0, 1.0)})


@pytest.mark.timeout(300)
def test_sequential_optimizer_serves_a_batch_without_deadlock():
    backend = build("ngopt", SMALL, seed=1)
    first = ask_params(backend, 1)
    assert "Cobyla" in repr(backend.optimizer.optim)
    backend.tell(Trial.complete(0, first[0], 1.0))
    with pytest.warns(UserWarning, match="Cobyla proposes one trial at a time"):
        batch = ask_params(backend, 4, 1)
    for number, params in enumerate(batch, start=1):
        check_params(SMALL, params, f"trial {number}")
    for number, params in reversed(list(enumerate(batch, start=1))):
        backend.tell(Trial.complete(number, params, params["x"]))
    assert len(ask_params(backend, 1, 5)) == 1
    thread = backend.optimizer.optim._messaging_thread._thread
    assert thread.is_alive()
    backend.close()
    thread.join(timeout=120)
    assert not thread.is_alive()


@pytest.mark.timeout(300)
@pytest.mark.parametrize("out", ["a trial running", "a failure held"])
def test_a_sequential_optimizer_asked_one_at_a_time_with_its_point_out_gets_a_random_one(out):
    """The common ask (one trial, nothing out) goes straight to Nevergrad's ask() for a
    sequential optimizer too; with its one point still out (running, or failed and held back
    until some trial completes) the next trial must get a random point, never block."""
    backend = build("ngopt", SMALL, seed=1)
    [first] = backend.ask([0])
    assert "Cobyla" in repr(backend.optimizer.optim) and backend.pending._by_number[0][1] is True
    if out == "a failure held":
        backend.tell(Trial.failed(0, first.params))  # nothing completed yet: held, not told
        assert backend._stand_in.held and not backend.pending._by_number
        number = 1
    else:
        backend.tell(Trial.complete(0, first.params, 1.0))
        [second] = backend.ask([1])  # nothing out: Nevergrad's own point, no warning
        check_params(SMALL, second.params, "trial 1")
        assert backend.pending._by_number[1][1] is True
        number = 2
    with pytest.warns(UserWarning, match="Cobyla proposes one trial at a time"):
        [stand_in] = backend.ask([number])
    check_params(SMALL, stand_in.params, f"trial {number}")
    assert backend.pending._by_number[number][1] is False  # a random point, not Nevergrad's
    backend.close()


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_a_script_holding_a_study_with_a_recast_optimizer_exits(tmp_path):
    script = tmp_path / "study.py"
    script.write_text(textwrap.dedent("""
        import unitune
        space = {"x": unitune.Float(0.0, 1.0), "y": unitune.Float(-1.0, 1.0)}
        study = unitune.optimize(lambda p: (p["x"] - 0.3) ** 2 + p["y"] ** 2, space,
                                 backend="nevergrad", n_trials=8, seed=1)
        assert "Cobyla" in repr(study.backend.optimizer.optim)
        print(len(study.trials), study.trials[-1].state.value)
    """))
    out = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=540)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["8", "complete"]


# End to end through the study.
def test_a_resumed_oneplusone_does_not_spend_a_trial_on_its_fixed_start():
    def bowl(p):
        return (p["x"] - 0.5) ** 2 + p["y"] ** 2

    def drive(backend, n, start=0):
        out = []
        for number in range(start, start + n):
            [params] = ask_params(backend, 1, number)
            backend.tell(Trial.complete(number, params, bowl(params)))
            out.append(params)
        return out

    first = drive(build("oneplusone", SMALL, seed=3), 4)
    assert first[0] == {"x": 0.5, "y": 0.0}  # OnePlusOne starts at the centre whatever the seed
    history = [Trial.complete(i, p, bowl(p)) for i, p in enumerate(first)]
    resumed = build("oneplusone", SMALL, seed=3)
    resumed.replay(history)
    again = drive(resumed, 3, start=4)
    assert all(p not in first for p in again)
    # 4 replayed, the centre told again with its known loss instead of a trial, 3 trials.
    assert resumed.optimizer.num_tell == 4 + 1 + 3


def test_study_end_to_end_minimizes():
    def objective(p):
        return (p["x"] - 0.3) ** 2 + (p["n"] - 4) ** 2 / 10 + (p["kind"] != "b")

    space = {"x": Float(0.0, 1.0), "n": Int(0, 9), "kind": Categorical(["a", "b", "c"])}
    study = unitune.optimize(objective, space, backend="nevergrad.de", n_trials=40, seed=0)
    assert [t.state for t in study.trials] == [TrialState.COMPLETE] * 40
    values = [t.values[0] for t in study.trials]
    assert study.best_value == min(values)
    assert study.best_value < values[0]


def test_cma_on_one_dimension_does_not_change_later_cma_runs():
    one = build("cma", Space({"x": Float(0.0, 1.0)}), seed=0)
    params = ask_params(one, 3)
    for number, p in enumerate(params):
        one.tell(Trial.complete(number, p, p["x"]))
    assert one.optimizer.optim._config.fcmaes  # Nevergrad's own switch, on the backend's copy
    assert not ng.optimizers.registry["OldCMA"].fcmaes
    later = build("cma", seed=7)
    assert _adapter(later, 6) == _native("cma", 7, 6)
    assert not later.optimizer.optim._config.fcmaes


@pytest.mark.timeout(300)
@pytest.mark.parametrize("stop", ["ctrl-c", "study timeout"])
def test_a_recast_optimizer_goes_on_after_its_point_was_interrupted(stop):
    # Cobyla waits for the answer to its one point out: an INTERRUPTED trial used to leave it
    # waiting, and the next optimize's first ask blocked forever.
    study = unitune.Study(SMALL, "nevergrad.ngopt", seed=1)
    study.optimize(lambda p: (p["x"] - 0.3) ** 2, n_trials=2)
    assert "Cobyla" in repr(study.backend.optimizer.optim)
    if stop == "ctrl-c":
        def interrupted(params):
            raise KeyboardInterrupt
        study.optimize(interrupted, n_trials=1)
    else:
        release = threading.Event()

        def hangs(params):
            release.wait(60)
            return 0.0
        with ThreadPoolExecutor(1) as pool:
            study.optimize(hangs, timeout=0.5, executor=pool)
            release.set()
    assert study.trials[-1].state is TrialState.INTERRUPTED
    study.optimize(lambda p: (p["x"] - 0.3) ** 2, n_trials=4)
    later = study.trials[-4:]
    assert [t.state for t in later] == [TrialState.COMPLETE] * 4
    assert [t.value for t in later] == [pytest.approx((t.params["x"] - 0.3) ** 2) for t in later]
    study.backend.close()


def test_a_one_dimensional_cma_leaves_numpys_print_options_alone():
    # Nevergrad's CMA on one dimension uses fcmaes, whose modules switch numpy to legacy printing
    # at import ('0.5' for np.float64(0.5)) in the user's whole process. A fresh process: the
    # suite may have imported fcmaes already.
    code = (
        "import numpy as np, unitune\n"
        "study = unitune.optimize(lambda p: (p['x'] - 0.3) ** 2, {'x': unitune.Float(0.0, 1.0)},\n"
        "                         backend='nevergrad.cma', n_trials=6, seed=0)\n"
        "import sys\n"
        "print('fcmaes.cmaes' in sys.modules, study.trials[-1].state.value, repr(np.float64(0.5)))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300, check=True)
    assert out.stdout.split() == ["True", "complete", "np.float64(0.5)"]


def test_ngopt_on_one_parameter_keeps_running_where_numpy_refuses_its_metamodel():
    # NGOpt picks a MetaModel for one continuous parameter; from about the 13th trial its ask
    # minimized a quadratic model through float(one-element array), which numpy 2.4 refuses
    # (TypeError): every study of the default nevergrad backend on such a space stopped there.
    space = {"x": Float(-1.0, 1.0)}
    study = unitune.optimize(lambda p: (p["x"] - 0.25) ** 2, space, "nevergrad", n_trials=40, seed=0)
    assert [t.state for t in study.trials] == [TrialState.COMPLETE] * 40
    assert all(-1.0 <= t.params["x"] <= 1.0 for t in study.trials)
    assert study.best_value < 1e-3

    param = ng.p.Dict(x=ng.p.Scalar(lower=-1.0, upper=1.0))
    param.random_state = np.random.RandomState(0)
    native = ng.optimizers.NGOpt(parametrization=param, budget=100)
    points: list[float] = []

    def native_run() -> None:
        for _ in range(40):
            candidate = native.ask()
            points.append(float(candidate.value["x"]))
            native.tell(candidate, (points[-1] - 0.25) ** 2)

    if np.lib.NumpyVersion(np.__version__) >= "2.4.0":  # Nevergrad itself: unitune went on from here
        with pytest.raises(TypeError, match="only 0-dimensional arrays"):
            native_run()
    else:
        native_run()
    assert points == [t.params["x"] for t in study.trials[: len(points)]]  # the same until then
    assert len(points) >= 12


@pytest.mark.parametrize("where", ["ask", "tell"])
def test_a_nevergrad_error_becomes_a_backend_error_and_the_trial_stays_recorded(monkeypatch, where):
    """Nevergrad raising inside ask or tell (forced: it does not fail on a sound space) stops the
    study with a BackendError naming the action and keeping the library's error as its cause;
    every trial asked is recorded once, in a finished state."""
    study = unitune.Study(Space({"x": Float(0.0, 1.0), "y": Float(-1.0, 1.0)}), backend="nevergrad.oneplusone",
                          seed=0)
    study.optimize(lambda p: p["x"] + p["y"], n_trials=3)
    optimizer = study.backend.optimizer
    broken = ValueError("broken inside Nevergrad")

    def fail(*args, **kwargs):
        raise broken

    monkeypatch.setattr(optimizer, where, fail)
    action = "ask" if where == "ask" else "tell a trial"
    with pytest.raises(BackendError, match=rf"'nevergrad.oneplusone' failed to {action}: ValueError: broken") as info:
        study.optimize(lambda p: p["x"] + p["y"], n_trials=2)
    assert info.value.__cause__ is broken
    states = [t.state for t in study.trials]
    assert states == [TrialState.COMPLETE] * (3 if where == "ask" else 4)
    assert all(t.values[0] == t.params["x"] + t.params["y"] for t in study.trials)

