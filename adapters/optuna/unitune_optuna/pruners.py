"""Optuna's own pruners as unitune pruners: ``pruner="optuna.median"``, ``"optuna.hyperband"``, ...

:class:`OptunaPruner` asks a real Optuna pruner. For each decision it rebuilds, in memory, the
Optuna study the pruner would see natively: every trial of the unitune history with its
intermediate values and state, numbered as in unitune (gaps filled with FAIL placeholders, which
Optuna's pruners ignore), then calls ``pruner.prune(study, trial)``. Successive halving's rung
bookkeeping (the ``completed_rung_<k>`` system attributes Optuna writes while pruning) is
rebuilt from the reports: a trial's value at rung ``k`` is its value at the first step at or
after the rung's resource, which is what Optuna records when ``should_prune()`` is asked after
every report. The decision therefore works with any unitune backend and on any executor, and
with the optuna backend it matches native Optuna run with the same sampler and seed.

>>> from unitune_optuna.pruners import OptunaPruner
>>> OptunaPruner("median", n_startup_trials=2)
OptunaPruner('median', n_startup_trials=2)
"""

from __future__ import annotations

import math
import threading
from collections.abc import Mapping
from types import SimpleNamespace
from typing import Any

from unitune.pruners import History, Pruner, PrunerError
from unitune.trial import Direction, TrialState

__all__ = ["OPTUNA_PRUNERS", "OptunaPruner"]

#: Name -> Optuna pruner class name.
OPTUNA_PRUNERS: Mapping[str, str] = {
    "median": "MedianPruner",
    "percentile": "PercentilePruner",
    "successive_halving": "SuccessiveHalvingPruner",
    "hyperband": "HyperbandPruner",
    "threshold": "ThresholdPruner",
    "patient": "PatientPruner",
    "wilcoxon": "WilcoxonPruner",
    "nop": "NopPruner",
}

#: One decision at a time in a process: a HyperbandPruner sizes its brackets once, at its first
#: decision, and Optuna's verbosity (quieted for each decision) is global; trials on threads ask
#: at once (unguarded, three threads built the brackets three times over and most trials failed).
_DECIDING = threading.Lock()

_STATES = {
    TrialState.COMPLETE: "COMPLETE",
    TrialState.PRUNED: "PRUNED",
    TrialState.FAILED: "FAIL",
    TrialState.INTERRUPTED: "FAIL",
    TrialState.RUNNING: "RUNNING",
}


class OptunaPruner(Pruner):
    """An Optuna pruner by name, with its keyword arguments (``study_name`` names the rebuilt
    study, which Optuna's Hyperband hashes to deal trials into brackets)."""

    def __init__(self, name: str, *, study_name: str = "unitune", **kwargs: Any):
        if name not in OPTUNA_PRUNERS:
            raise PrunerError(
                f"unknown Optuna pruner {name!r}; choose one of {sorted(OPTUNA_PRUNERS)!r}"
            )
        self.name = name
        self.study_name = study_name
        self.kwargs = dict(kwargs)
        self._native = self._build()

    def _build(self) -> Any:
        import optuna

        cls = getattr(optuna.pruners, OPTUNA_PRUNERS[self.name])
        try:
            return cls(**self.kwargs)
        except (TypeError, ValueError) as exc:
            hint = "" if self.kwargs else (
                f"; give its arguments as unitune_optuna.pruners.OptunaPruner({self.name!r}, ...)")
            raise PrunerError(
                f"optuna.pruners.{cls.__name__} refused {self.kwargs!r}: {str(exc).rstrip('.')}{hint}"
            ) from exc

    def __reduce__(self):
        return (_rebuild, (self.name, self.study_name, self.kwargs))

    def __repr__(self) -> str:
        args = "".join(f", {k}={v!r}" for k, v in self.kwargs.items())
        return f"OptunaPruner({self.name!r}{args})"

    def should_prune(self, number: int, history: History) -> bool:
        """Optuna's decision on the study rebuilt from ``history`` (see the module docstring)."""
        import optuna

        with _DECIDING:
            verbosity = optuna.logging.get_verbosity()
            optuna.logging.set_verbosity(optuna.logging.WARNING)  # no "study created" line per decision
            try:
                return self._decide(number, history)
            finally:
                optuna.logging.set_verbosity(verbosity)

    def _decide(self, number: int, history: History) -> bool:
        import optuna

        native = self._native
        if isinstance(native, optuna.pruners.HyperbandPruner) and not native._pruners:
            # Hyperband sizes its brackets from the first study it sees (max_resource="auto").
            native._try_initialization(self._study(number, history, rungs=False))
            if not native._pruners:
                return False
        study = self._study(number, history, rungs=True)
        trial = study.get_trials(deepcopy=False)[number]
        return bool(native.prune(study, trial))

    def _study(self, number: int, history: History, rungs: bool) -> Any:
        import optuna

        study = optuna.create_study(
            storage=optuna.storages.InMemoryStorage(), study_name=self.study_name,
            direction="maximize" if history.direction is Direction.MAXIMIZE else "minimize",
            sampler=optuna.samplers.RandomSampler(seed=0), pruner=self._native,
        )
        last = max(history.trials) if history.trials else number
        for n in range(max(last, number) + 1):
            study.add_trial(self._frozen(n, number, history, rungs))
        return study

    def _frozen(self, n: int, current: int, history: History, rungs: bool) -> Any:
        import optuna

        reports = history.trials.get(n)
        state = getattr(optuna.trial.TrialState,
                        "FAIL" if reports is None else _STATES[reports.state])
        steps = {} if reports is None else dict(reports.steps)
        value = None
        if state == optuna.trial.TrialState.COMPLETE:
            # The final value is not part of a pruner's input; Optuna needs one on a COMPLETE trial,
            # and refuses NaN there (a trial may report NaN and still return a finite value).
            value = _stand_in(steps)
        attrs = {} if reports is None or not rungs else self._rung_attrs(reports, n == current)
        frozen = optuna.trial.create_trial(state=state, value=value, params={}, distributions={},
                                           intermediate_values=steps, system_attrs=attrs)
        if state == optuna.trial.TrialState.RUNNING:
            frozen.datetime_complete = None
        return frozen

    def _rung_attrs(self, reports: Any, current: bool) -> dict[str, float]:
        """``completed_rung_<k>`` as Optuna's successive halving would have written them."""
        pruner = self._halving_pruner(reports.number)
        if pruner is None or not reports.steps:
            return {}
        min_resource = getattr(pruner, "_min_resource", None)
        if min_resource is None:
            return {}
        eta, rate = pruner._reduction_factor, pruner._min_early_stopping_rate
        upto = reports.last_step
        if current:  # the rungs decided before the latest report; the latest is decided now
            upto = max((s for s in reports.steps if s != reports.last_step), default=-1)
        attrs, rung = {}, 0
        while (resource := min_resource * eta ** (rate + rung)) <= upto:
            attrs[f"completed_rung_{rung}"] = reports.value_at(resource)
            rung += 1
        return attrs


    def _halving_pruner(self, number: int) -> Any:
        """The SuccessiveHalvingPruner deciding trial ``number`` (Hyperband: its bracket's)."""
        import optuna

        native = self._native
        if isinstance(native, optuna.pruners.SuccessiveHalvingPruner):
            return native
        if isinstance(native, optuna.pruners.HyperbandPruner) and native._pruners:
            bracket = native._get_bracket_id(SimpleNamespace(study_name=self.study_name),
                                             SimpleNamespace(number=number))
            return native._pruners[bracket]
        return None


def _stand_in(steps: Mapping[int, float]) -> float:
    """A COMPLETE trial's value for the rebuilt study: its last report that is not NaN (0.0
    when there is none)."""
    reported = [step for step, value in steps.items() if not math.isnan(value)]
    return steps[max(reported)] if reported else 0.0


def _rebuild(name: str, study_name: str, kwargs: dict[str, Any]) -> OptunaPruner:
    return OptunaPruner(name, study_name=study_name, **kwargs)
