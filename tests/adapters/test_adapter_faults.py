"""Issue #7 in the adapters: huge values, Ctrl-C inside a library's tell, sys.exit inline.

Each test drives a real Study on a real library and checks trial states, the library's own
state and that the next optimize on the same study works.
"""

from __future__ import annotations

import math
import os
import signal
import sys

import pytest

import unitune
from unitune import Float
from unitune.kit import MODEL_LIMIT, model_value
from unitune.trial import TrialState

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")

SPACE = {"x": Float(-5.0, 5.0)}
QUICK = {
    "skopt.gp": {"n_initial_points": 3, "acq_optimizer": "sampling", "acq_optimizer_kwargs": {"n_points": 300}},
    "optuna": {"n_startup_trials": 3},
    "hyperopt": {"n_startup_jobs": 3},
}
HUGE = [1e200, -1e300, 1.7976931348623157e308]


def _square(params):
    return params["x"] ** 2


def _native_told(study) -> list[float]:
    """The values the library itself holds for finished trials, in trial order."""
    backend = study.backend
    if backend.name == "skopt":
        return list(backend.optimizer.yi)
    if backend.name == "optuna":
        return [t.value for t in backend.optuna_study.trials if t.state.name == "COMPLETE"]
    return [loss for loss in backend.trials.losses() if loss is not None]


def _native_open(study) -> int:
    """How many trials the library itself still holds as running or pending."""
    backend = study.backend
    if backend.name == "optuna":
        return sum(t.state.name == "RUNNING" for t in backend.optuna_study.trials)
    if backend.name == "hyperopt":
        from hyperopt import JOB_STATE_NEW

        return sum(d["state"] == JOB_STATE_NEW for d in backend.trials.trials)
    return len(backend.pending)


# (1) One huge finite value used to break skopt.gp for good (|v| >= 1.4e154).
def test_model_value_is_monotone_and_safe():
    values = [-1.7976931348623157e308, -1e300, -1e154, -1e101, -MODEL_LIMIT, -1.0, 0.0, 2.5,
              MODEL_LIMIT, 1e101, 1e154, 1e200, 1.7976931348623157e308]
    safe = [model_value(v) for v in values]
    assert safe == sorted(safe) and len(set(safe)) == len(safe)
    assert all(abs(v) < 1e103 for v in safe)
    assert model_value(2.5) == 2.5 and model_value(-MODEL_LIMIT) == -MODEL_LIMIT
    assert math.isfinite(model_value(1.7976931348623157e308) ** 2)


@pytest.mark.parametrize("huge", HUGE, ids=repr)
@pytest.mark.parametrize("backend", list(QUICK))
def test_huge_value_leaves_the_backend_usable(backend, huge):
    study = unitune.Study(SPACE, backend, seed=0, backend_options=QUICK[backend])
    study.optimize(lambda p, t: huge if t.number == 0 else _square(p), n_trials=6, show_progress=False)
    study.optimize(_square, n_trials=2, show_progress=False)
    assert [t.state for t in study.trials] == [TrialState.COMPLETE] * 8
    assert study.trials[0].value == huge  # the study keeps the user's value
    told = _native_told(study)
    assert len(told) == 8
    sign = -1.0 if huge < 0 else 1.0
    assert told[0] == pytest.approx(model_value(huge))  # the library got the squashed value
    assert sign * told[0] > 1e100


# (2) Ctrl-C in the middle of the library's own tell.
def _interrupt_inside_native_tell(monkeypatch, backend: str, at_call: int) -> list[int]:
    """Patch the library function the adapter's tell calls: it sends a real SIGINT to this
    process on its ``at_call``-th call, then calls through. Returns the call counter."""
    calls = [0]

    def wrap(original):
        def patched(*args, **kwargs):
            calls[0] += 1
            if calls[0] == at_call:
                os.kill(os.getpid(), signal.SIGINT)
            return original(*args, **kwargs)
        return patched

    if backend.startswith("skopt"):
        import skopt

        monkeypatch.setattr(skopt.Optimizer, "tell", wrap(skopt.Optimizer.tell))
    elif backend.startswith("optuna"):
        import optuna.study._tell as optuna_tell

        monkeypatch.setattr(optuna_tell, "_tell_with_warning", wrap(optuna_tell._tell_with_warning))
    else:
        import hyperopt.utils

        original = hyperopt.utils.coarse_utcnow
        monkeypatch.setattr(hyperopt.utils, "coarse_utcnow", wrap(original))
    return calls


@pytest.mark.timeout(300)
@pytest.mark.parametrize("backend", list(QUICK))
def test_ctrl_c_inside_the_library_tell(monkeypatch, backend):
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
    # Trial 4's tell (past the start-up phase): one native call per trial; Hyperopt's clock is
    # read twice per trial (the document inserted at ask, then the tell).
    calls = _interrupt_inside_native_tell(monkeypatch, backend, at_call=10 if backend == "hyperopt" else 5)
    study = unitune.Study(SPACE, backend, seed=0, backend_options=QUICK[backend])
    study.optimize(_square, n_trials=10, show_progress=False)  # Ctrl-C in trial 4's tell: stops
    assert calls[0] == (10 if backend == "hyperopt" else 5)
    assert [t.number for t in study.trials] == list(range(5))  # trial 4 recorded, nothing after
    assert [t.state for t in study.trials] == [TrialState.COMPLETE] * 5
    assert _native_told(study) == pytest.approx([t.value for t in study.trials])  # tell completed
    assert _native_open(study) == 0
    monkeypatch.undo()
    study.optimize(_square, n_trials=3, show_progress=False)
    assert [t.state for t in study.trials] == [TrialState.COMPLETE] * 8
    assert len(_native_told(study)) == 8


# (4) sys.exit() inline: the trial fails, and the library does not keep it open.
@pytest.mark.parametrize("backend", list(QUICK))
def test_sys_exit_in_the_objective_fails_the_trial_and_nothing_stays_open(backend):
    def objective(params, trial):
        if trial.number in (1, 4):
            sys.exit(2)
        return _square(params)

    study = unitune.Study(SPACE, backend, seed=0, backend_options=QUICK[backend])
    study.optimize(objective, n_trials=6, show_progress=False)
    states = [t.state for t in study.trials]
    assert states == [TrialState.COMPLETE, TrialState.FAILED, TrialState.COMPLETE, TrialState.COMPLETE,
                      TrialState.FAILED, TrialState.COMPLETE]
    assert "SystemExit" in study.trials[1].failure
    assert _native_open(study) == 0
    assert len(study.backend.pending) == 0
    study.optimize(_square, n_trials=2, show_progress=False)
    assert [t.state for t in study.trials[6:]] == [TrialState.COMPLETE] * 2
    assert _native_open(study) == 0


# Float(logit=True): every adapter expresses the logit-uniform prior exactly.
@pytest.mark.parametrize("backend", ["optuna.random", "hyperopt.random", "skopt.random"])
def test_logit_floats_follow_the_logit_uniform_prior(backend):
    from unitune.registry import conversion_report
    from unitune.space.dimensions import logit

    space = {"p": Float(0.001, 0.999, logit=True)}
    [report] = conversion_report(backend, space)
    assert report.fidelity.value == "exact" and "expit(z)" in report.detail
    study = unitune.optimize(lambda p: p["p"], space, backend=backend, n_trials=300, seed=0,
                             show_progress=False)
    z = sorted(logit(t.params["p"]) for t in study.trials)
    assert all(0.001 <= t.params["p"] <= 0.999 for t in study.trials)
    # Uniform on [logit(0.001), logit(0.999)] = [-6.9, 6.9]: the quartiles near -3.45, 0, 3.45
    # (a uniform prior on p itself would put them near -1.1, 0, 1.1).
    quartiles = [z[75], z[150], z[225]]
    assert quartiles[0] < -2.5 and abs(quartiles[1]) < 1.0 and quartiles[2] > 2.5, quartiles


# Ctrl-C inside the library's ask: the proposal is recorded, nothing stays pending.
@pytest.mark.timeout(120)
def test_ctrl_c_inside_the_library_ask(monkeypatch):
    import optuna

    calls = [0]
    original = optuna.Study.ask

    def ask(self, *args, **kwargs):
        calls[0] += 1
        if calls[0] == 3:  # trial 2's ask
            os.kill(os.getpid(), signal.SIGINT)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(optuna.Study, "ask", ask)
    study = unitune.Study(SPACE, "optuna", seed=0)
    study.optimize(_square, n_trials=5, show_progress=False)
    states = [t.state for t in study.trials]
    assert states == [TrialState.COMPLETE, TrialState.COMPLETE, TrialState.INTERRUPTED]
    assert len(study.backend.pending) == 0
    assert [t.state.name for t in study.backend.optuna_study.trials] == ["COMPLETE", "COMPLETE", "FAIL"]
    study.optimize(_square, n_trials=2, show_progress=False)
    assert [t.state for t in study.trials[3:]] == [TrialState.COMPLETE] * 2
