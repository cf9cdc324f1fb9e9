"""Log each unitune trial as an MLflow run: parameters, values, metrics, intermediate values, state.

Needs MLflow's tracking client (``pip install 'unitune[mlflow]'``, which installs
``mlflow-skinny``; the full ``mlflow`` works too).

>>> from unitune.integrations.mlflow import MLflowCallback
>>> callback = MLflowCallback("file:///tmp/mlruns", experiment_name="demo")
>>> # unitune.optimize(objective, space, "optuna", n_trials=50, callbacks=[callback])
>>> # SearchCV(..., callbacks=[callback]) logs one run per candidate the same way.

It talks to the tracking server through an explicit ``MlflowClient``, so it never changes
MLflow's global active run or tracking URI, and works from any thread.
"""

from __future__ import annotations

import json
import os
import posixpath
import re
import time
from collections.abc import Container, Mapping
from typing import TYPE_CHECKING, Any

from unitune.trial import Trial, TrialState

if TYPE_CHECKING:
    from unitune.study import Study

__all__ = ["MLflowCallback"]

#: MLflow run status for each unitune state (unknown states, e.g. interrupted, end KILLED).
_STATUS = {TrialState.COMPLETE: "FINISHED", TrialState.FAILED: "FAILED", TrialState.PRUNED: "KILLED"}
_MAX_TAG = 5000
_MAX_PARAM = 6000
#: Characters MLflow refuses in a param, metric or tag name (a colon too, on Windows).
_REFUSED_HERE = re.compile(r"[^\w\-. /]" if os.name == "nt" else r"[^\w\-. :/]")
_MAX_KEY = 240  # MLflow takes names up to 250 characters; room left for a "_<n>" suffix


def _mlflow() -> Any:
    try:
        import mlflow
        from mlflow.tracking import MlflowClient
    except ImportError as exc:
        raise ImportError("the MLflow callback needs MLflow: pip install 'unitune[mlflow]'") from exc
    return mlflow, MlflowClient


class MLflowCallback:
    """``callback(study, trial)``: one MLflow run per finished trial.

    Args:
        tracking_uri: where runs go (``"file:///..."``, ``"sqlite:///mlflow.db"``, an
            ``http(s)://`` server); None uses MLflow's own default (``MLFLOW_TRACKING_URI``).
        experiment_name: the experiment to log into (created when missing).
        run_name: a format string for each run's name, with ``{number}`` and ``{backend}``.
        tags: extra tags put on every run.

    Each run gets the trial's parameters (``params``), its objective values as metrics (named
    after the study's metrics, or ``value`` / ``value_<i>``), every other metric the objective
    returned, intermediate values as the step history of ``intermediate_value``, the tags
    ``unitune.state``, ``unitune.trial_number``, ``unitune.backend`` and ``unitune.failure``, and
    each user attribute as a tag ``user_attr.<key>`` (strings as they are, anything else as JSON).
    Run status: FINISHED (complete), FAILED (failed), KILLED (pruned or interrupted). A name
    MLflow refuses (``loss%``, ``a[0]``) is logged with each refused character as ``_``
    (``loss_``, ``a_0_``), so the study goes on.
    """

    def __init__(
        self,
        tracking_uri: str | None = None,
        experiment_name: str = "unitune",
        *,
        run_name: str = "trial-{number}",
        tags: Mapping[str, str] | None = None,
    ):
        self.tracking_uri = tracking_uri
        self.experiment_name = experiment_name
        self.run_name = run_name
        self.tags = dict(tags or {})
        self._client: Any = None
        self._experiment_id: str | None = None

    def _setup(self) -> tuple[Any, str]:
        if self._client is None:
            _, client_class = _mlflow()
            self._client = client_class(tracking_uri=self.tracking_uri)
            found = self._client.get_experiment_by_name(self.experiment_name)
            self._experiment_id = (found.experiment_id if found is not None
                                   else self._client.create_experiment(self.experiment_name))
        return self._client, self._experiment_id

    def __call__(self, study: Study, trial: Trial) -> None:
        client, experiment_id = self._setup()  # first: a missing MLflow gets the install hint
        from mlflow.entities import Metric, Param

        backend = study.backend.full_name
        start = _ms(trial.started_at)
        end = _ms(trial.finished_at)
        tags = {**self.tags, "unitune.state": trial.state.value,
                "unitune.trial_number": str(trial.number), "unitune.backend": backend}
        if trial.failure:
            tags["unitune.failure"] = trial.failure[:_MAX_TAG]
        tags = _keyed(tags)
        tags.update(_keyed({f"user_attr.{key}": _attr_text(key, value)[:_MAX_TAG]
                            for key, value in trial.user_attrs.items()}, tags))
        run = client.create_run(experiment_id, start_time=start, tags=tags,
                                run_name=self.run_name.format(number=trial.number, backend=backend))
        metrics: dict[str, float] = dict(trial.metrics)
        if trial.values is not None:
            metrics.update(zip(_value_names(study, len(trial.values)), trial.values))
        logged = [Metric(key, float(value), end, 0) for key, value in _keyed(metrics).items()]
        logged += [Metric("intermediate_value", float(value), end, int(step))
                   for step, value in sorted(trial.intermediate.items())]
        params = [Param(name, _param_text(value)) for name, value in _keyed(trial.params).items()]
        client.log_batch(run.info.run_id, metrics=logged, params=params)
        client.set_terminated(run.info.run_id, status=_STATUS.get(trial.state, "KILLED"), end_time=end)


def _keyed(entries: Mapping[str, Any], taken: Container[str] = ()) -> dict[str, Any]:
    """``entries`` under names MLflow accepts (see :func:`_mlflow_name`), each one distinct."""
    out: dict[str, Any] = {}
    for name, value in entries.items():
        key = base = _mlflow_name(str(name))
        suffix = 1
        while key in out or key in taken:
            suffix += 1
            key = f"{base}_{suffix}"
        out[key] = value
    return out


def _mlflow_name(name: str) -> str:
    """``name`` with each character MLflow refuses as ``_``; slashes too where the name would
    read as another path (``a/../b``)."""
    key = (_REFUSED_HERE.sub("_", name) or "_")[:_MAX_KEY]
    norm = posixpath.normpath(key)
    if norm != key or norm == "." or norm.startswith(("..", "/")):
        key = key.replace("/", "_").replace("..", "__")
    return key


def _value_names(study: Study, n: int) -> list[str]:
    if study.metric is not None and len(study.metric) == n:
        return list(study.metric)
    return ["value"] if n == 1 else [f"value_{i}" for i in range(n)]


def _attr_text(key: str, value: Any) -> str:
    """A user attribute as tag text: a string as it is, anything else as JSON, or a note of why
    it cannot be written (a cycle, an int too long for JSON) rather than an error that would
    stop the study."""
    if isinstance(value, str):
        return value
    from unitune.storage.codec import storable_attr

    return json.dumps(storable_attr(key, value))


def _param_text(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, default=repr)
    return text[:_MAX_PARAM]


def _ms(stamp: float | None) -> int:
    return int((time.time() if stamp is None else stamp) * 1000)
