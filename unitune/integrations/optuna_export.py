"""Export a unitune study, whatever its backend, into Optuna's storage through Optuna's own API.

Then ``optuna-dashboard`` and ``optuna.visualization`` work on Hyperopt, scikit-optimize,
Nevergrad, grid and random studies too. Needs optuna (``pip install 'unitune[optuna-export]'``),
not the Optuna adapter: an export is a storage format, not an optimizer.

>>> from unitune import Float, optimize
>>> from unitune.integrations.optuna_export import export_to_optuna
>>> study = optimize(lambda p: p["x"] ** 2, {"x": Float(-1.0, 1.0)}, backend="random",
...                  n_trials=5, seed=0)
>>> optuna_study = export_to_optuna(study, "sqlite:///:memory:")  # doctest: +SKIP
>>> len(optuna_study.trials)  # doctest: +SKIP
5

``storage`` is an RDB URL (``"sqlite:///study.db"``, ``"postgresql://..."``), a path to an Optuna
journal file (any other string or path), or an ``optuna.storages.BaseStorage``.
Each unitune trial becomes one Optuna trial with its number, state, values, parameters (with
the Optuna distribution of each active dimension; inactive branch parameters are absent, as
in an Optuna define-by-run study), intermediate values, start and end times, user attributes,
and the unitune metrics under the user attribute ``"unitune_metrics"``.
"""

from __future__ import annotations

import datetime
import os
import warnings
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from unitune.errors import UnituneError
from unitune.space import Categorical, Constant, Dimension, Float, Int, Space
from unitune.trial import Direction, Trial, TrialState

if TYPE_CHECKING:
    from unitune.study import Study

__all__ = ["OptunaExportCallback", "export_to_optuna", "optuna_storage"]

_STATES = {
    TrialState.COMPLETE: "COMPLETE",
    TrialState.FAILED: "FAIL",
    TrialState.PRUNED: "PRUNED",
}


def _optuna() -> Any:
    try:
        import optuna
    except ImportError as exc:
        raise ImportError(
            "exporting to Optuna needs optuna: pip install 'unitune[optuna-export]'"
        ) from exc
    return optuna


def optuna_storage(storage: Any) -> Any:
    """An Optuna storage from an RDB URL, a journal file path, or a storage instance."""
    optuna = _optuna()
    if isinstance(storage, optuna.storages.BaseStorage):
        return storage
    if isinstance(storage, (str, os.PathLike)):
        text = os.fspath(storage)
        if "://" in text:
            return optuna.storages.RDBStorage(text)
        from optuna.storages.journal import JournalFileBackend, JournalStorage

        return JournalStorage(JournalFileBackend(text))
    raise UnituneError(
        "storage must be an RDB URL such as 'sqlite:///study.db', a path to an Optuna journal "
        f"file, or an optuna.storages.BaseStorage; got {storage!r}"
    )


class _Codec:
    """unitune parameters -> Optuna parameters and distributions, one space at a time."""

    def __init__(self, space: Space):
        optuna = _optuna()
        dists = optuna.distributions
        self._dists: dict[str, Any] = {}
        self._labels: set[str] = set()
        for name, dim, _ in space.walk():
            dist = _distribution(dists, dim)
            if dist is None:
                continue
            if isinstance(dim, Categorical) and _ambiguous(dim.choices):
                # Optuna compares choices with ==, so 1, 1.0 and True would collide: use labels.
                self._labels.add(name)
                dist = dists.CategoricalDistribution([_label(c) for c in dim.choices])
            self._dists[name] = dist

    def convert(self, params: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
        out, dists = {}, {}
        for name, value in params.items():
            dist = self._dists.get(name)
            if dist is None:  # a structured constant: kept in user attributes instead
                continue
            out[name] = _label(value) if name in self._labels else value
            dists[name] = dist
        return out, dists


def _distribution(dists: Any, dim: Dimension) -> Any:
    if type(dim) is Float:
        return dists.FloatDistribution(dim.low, dim.high, log=dim.log, step=dim.step)
    if type(dim) is Int:
        return dists.IntDistribution(dim.low, dim.high, log=dim.log, step=dim.step)
    if type(dim) is Categorical:
        return dists.CategoricalDistribution(list(dim.choices))
    if type(dim) is Constant and not isinstance(dim.value, (list, dict)):
        return dists.CategoricalDistribution([dim.value])
    return None


def _ambiguous(choices: Sequence[Any]) -> bool:
    return any(a == b for i, a in enumerate(choices) for b in choices[i + 1:])


def _label(value: Any) -> str:
    return f"{type(value).__name__}:{value!r}"


def _frozen_trial(optuna: Any, trial: Trial, codec: _Codec, constants: Mapping[str, Any]) -> Any:
    params, dists = codec.convert(trial.params)
    user_attrs = {k: v for k, v in trial.user_attrs.items()}
    user_attrs["unitune_number"] = trial.number
    if trial.metrics:
        user_attrs["unitune_metrics"] = dict(trial.metrics)
    hidden = {k: v for k, v in trial.params.items() if k in constants}
    if hidden:
        user_attrs["unitune_constants"] = hidden
    system_attrs: dict[str, Any] = {}
    state = _STATES.get(trial.state, "FAIL")
    if trial.state is not TrialState.COMPLETE and trial.failure:
        system_attrs["fail_reason"] = trial.failure
    if trial.state.value not in ("complete", "failed", "pruned"):
        user_attrs["unitune_state"] = trial.state.value  # e.g. interrupted: no Optuna equivalent
    values = None if trial.values is None else list(trial.values)
    return optuna.trial.FrozenTrial(
        number=trial.number, state=optuna.trial.TrialState[state], value=None,
        datetime_start=_when(trial.started_at), datetime_complete=_when(trial.finished_at),
        params=params, distributions=dists, user_attrs=user_attrs, system_attrs=system_attrs,
        intermediate_values={int(k): float(v) for k, v in trial.intermediate.items()},
        trial_id=0, values=values,
    )


def _when(stamp: float | None) -> datetime.datetime | None:
    return None if stamp is None else datetime.datetime.fromtimestamp(stamp)


def _create_study(optuna: Any, storage: Any, name: str, directions: Sequence[Direction],
                  metric: Sequence[str] | None, space: Space, backend: str) -> Any:
    try:
        target = optuna.create_study(storage=optuna_storage(storage), study_name=name,
                                     directions=[d.value for d in directions])
    except optuna.exceptions.DuplicatedStudyError as exc:
        raise UnituneError(
            f"the Optuna storage already holds a study named {name!r}; pass another study_name"
        ) from exc
    if metric is not None:
        with warnings.catch_warnings():  # experimental in Optuna, and stable since 3.2
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            target.set_metric_names(list(metric))
    target.set_user_attr("unitune_space", space.to_dict())
    target.set_user_attr("unitune_backend", backend)
    return target


def export_to_optuna(study: Study, storage: Any, *, study_name: str = "unitune") -> Any:
    """Write every finished trial of ``study`` into a new Optuna study; return that study."""
    optuna = _optuna()
    target = _create_study(optuna, storage, study_name, study.directions, study.metric,
                           study.space, study.backend.full_name)
    _add(optuna, target, study.space, sorted(study.trials, key=lambda t: t.number))
    return target


def _add(optuna: Any, target: Any, space: Space, trials: Iterable[Trial]) -> None:
    codec = _Codec(space)
    constants = {n: d for n, d, _ in space.walk()
                 if type(d) is Constant and isinstance(d.value, (list, dict))}
    frozen = [_frozen_trial(optuna, t, codec, constants) for t in trials if t.state.is_finished]
    target.add_trials(frozen)


class OptunaExportCallback:
    """A study callback that adds each trial to an Optuna study as it finishes (a live view).

    >>> # unitune.optimize(f, space, "hyperopt", n_trials=50,
    >>> #                  callbacks=[OptunaExportCallback("sqlite:///live.db", "my-study")])
    >>> # then: optuna-dashboard sqlite:///live.db
    """

    def __init__(self, storage: Any, study_name: str = "unitune"):
        self.storage = storage
        self.study_name = study_name
        self._target: Any = None
        self._codec: _Codec | None = None

    def __call__(self, study: Study, trial: Trial) -> None:
        optuna = _optuna()
        if self._target is None:
            self._target = _create_study(optuna, self.storage, self.study_name, study.directions,
                                         study.metric, study.space, study.backend.full_name)
        _add(optuna, self._target, study.space, [trial])
