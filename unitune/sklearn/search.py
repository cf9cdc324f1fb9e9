"""``SearchCV``: scikit-learn's search estimator, driven by any unitune backend.

It is a :class:`sklearn.model_selection._search.BaseSearchCV` (the class ``GridSearchCV`` and
``RandomizedSearchCV`` are built on), so fitting, cross-validation, scoring, ``cv_results_``,
``refit``, ``error_score`` and the delegated ``predict``/``score``/... are scikit-learn's own code.
SearchCV only decides which candidates to evaluate: a unitune :class:`~unitune.Study` asks its
backend for them, batch by batch, and is told each candidate's mean cross-validated score.
"""

from __future__ import annotations

import itertools
import math
import numbers
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Executor
from contextlib import nullcontext
from typing import Any

import numpy as np
from joblib import effective_n_jobs, parallel_config
from sklearn.base import is_classifier
from sklearn.model_selection import check_cv
from sklearn.model_selection._search import BaseSearchCV
from sklearn.utils import resample
from sklearn.utils._param_validation import HasMethods, Interval

from unitune.errors import SearchExhausted, UnituneError
from unitune.objective import Result
from unitune.sklearn._joblib import ExecutorBackend, executor_workers
from unitune.sklearn.params import ParamSpace, as_seed, to_param_space
from unitune.storage import StudyExistsError
from unitune.study import Study
from unitune.trial import Trial, TrialState

__all__ = ["SearchCV"]

#: Backends that do not learn from results: the whole budget is evaluated in one batch,
#: exactly as GridSearchCV and RandomizedSearchCV do.
_NON_ADAPTIVE = ("grid", "random")
_RANDOMIZED_DEFAULT_TRIALS = 10
_CHUNK = 1024


class SearchCV(BaseSearchCV):
    """Cross-validated hyperparameter search on any unitune backend.

    A drop-in for ``GridSearchCV`` / ``RandomizedSearchCV``: change the class name and keep
    ``param_grid=`` or ``param_distributions=`` (and ``n_iter=``); or pass a unitune space
    (conditional branches included) and pick a backend by name.

    >>> from sklearn.datasets import load_iris
    >>> from sklearn.linear_model import LogisticRegression
    >>> from unitune.sklearn import SearchCV
    >>> X, y = load_iris(return_X_y=True)
    >>> search = SearchCV(LogisticRegression(max_iter=500), {"C": [0.1, 1.0, 10.0]}, cv=3)
    >>> search.fit(X, y).best_params_["C"] in (0.1, 1.0, 10.0)
    True

    Args:
        estimator: the estimator (or pipeline) to tune.
        space: a unitune :class:`~unitune.Space` or dict of dimensions, a ``param_grid`` (dict
            or list of dicts of value lists), or ``param_distributions`` (scipy.stats
            distributions); a dict may mix the three spellings.
        param_grid, param_distributions: aliases of ``space`` (give exactly one of the three).
        backend: any unitune backend name, class or instance. Default: ``"grid"`` for a grid of
            value lists, ``"random"`` with scipy distributions, ``"optuna"`` (TPE) for a
            unitune space.
        n_trials: candidates to evaluate. Default: the whole grid for a backend that runs out
            by itself (``"grid"``), otherwise 10 (``RandomizedSearchCV``'s default).
        n_iter: alias of ``n_trials``, as in ``RandomizedSearchCV``.
        timeout: stop asking for candidates after this many seconds (running ones finish).
        scoring, refit, cv, verbose, pre_dispatch, error_score, return_train_score: as in
            ``GridSearchCV``.
        metric: the scorer the backend optimizes; default ``refit`` when it names a scorer,
            else the only scorer.
        n_jobs: parallel fits through joblib, as in ``GridSearchCV``.
        executor: any ``concurrent.futures.Executor`` (threads, processes, Dask
            ``client.get_executor(pure=False)``) to run the fits on instead of joblib's workers.
            Fits in flight: the executor's ``max_workers`` when it has one, else ``n_jobs``
            (default 2).
        batch_size: candidates asked from the backend at once. Default: the whole budget for
            ``"grid"`` and ``"random"``, else the number of parallel workers.
        random_state: seed of the backend.
        backend_options: options of the backend (see ``unitune backends``).
        callbacks: ``callback(study, trial)`` called after each candidate is recorded (for
            example :class:`unitune.integrations.mlflow.MLflowCallback`).
        pruner: a unitune pruner (``"median"``, ``"asha"``, a :class:`unitune.pruners.Pruner`):
            each batch is then evaluated in rungs of growing training-set size, as in
            ``HalvingRandomSearchCV``, and the pruner stops hopeless candidates between rungs.
        pruning_fractions: the rungs, as fractions of each training fold (the last must be 1.0);
            a candidate reports its mean test score at step ``fraction / fractions[0]``, rounded
            (one more than the previous rung's step when the rounding would repeat it).
        strict: refuse backends that can only approximate part of the space.
        storage, study_name: keep the study's trials in a SQLite file (a path or ``sqlite:///``
            URL) under that name, as :class:`~unitune.Study` does; each ``fit`` needs a new name.

    Attributes (after ``fit``), besides scikit-learn's ``cv_results_``, ``best_*``,
    ``refit_time_``, ``n_splits_``, ``scorer_``, ``multimetric_``:
        study_: the unitune :class:`~unitune.Study` (its trials carry the mean scores as
            metrics and the per-fold test scores as intermediate values).
        trials_: ``study_.trials``, kept through pickling (``study_`` is not).
    """

    _parameter_constraints: dict = {
        **BaseSearchCV._parameter_constraints,
        "estimator": [HasMethods(["fit"])],
        "space": "no_validation",
        "param_grid": "no_validation",
        "param_distributions": "no_validation",
        "backend": "no_validation",
        "n_trials": [Interval(numbers.Integral, 1, None, closed="left"), None],
        "n_iter": [Interval(numbers.Integral, 1, None, closed="left"), None],
        "timeout": [Interval(numbers.Real, 0, None, closed="neither"), None],
        "metric": [str, None],
        "executor": [Executor, None],
        "batch_size": [Interval(numbers.Integral, 1, None, closed="left"), None],
        "random_state": ["random_state"],
        "backend_options": [dict, None],
        "callbacks": [list, tuple, None],
        "pruner": "no_validation",
        "pruning_fractions": [tuple, list],
        "strict": ["boolean"],
        "storage": "no_validation",
        "study_name": [str, None],
    }

    def __init__(
        self,
        estimator: Any,
        space: Any = None,
        *,
        param_grid: Any = None,
        param_distributions: Any = None,
        backend: Any = None,
        n_trials: int | None = None,
        n_iter: int | None = None,
        timeout: float | None = None,
        scoring: Any = None,
        metric: str | None = None,
        n_jobs: int | None = None,
        executor: Executor | None = None,
        batch_size: int | None = None,
        refit: bool | str | Callable = True,
        cv: Any = None,
        verbose: int = 0,
        pre_dispatch: int | str = "2*n_jobs",
        random_state: Any = None,
        error_score: Any = np.nan,
        return_train_score: bool = False,
        backend_options: Mapping[str, Any] | None = None,
        callbacks: Sequence[Callable[[Study, Trial], None]] | None = None,
        pruner: Any = None,
        pruning_fractions: Sequence[float] = (1 / 9, 1 / 3, 1.0),
        strict: bool = False,
        storage: Any = None,
        study_name: str | None = None,
    ):
        super().__init__(
            estimator=estimator, scoring=scoring, n_jobs=n_jobs, refit=refit, cv=cv,
            verbose=verbose, pre_dispatch=pre_dispatch, error_score=error_score,
            return_train_score=return_train_score,
        )
        self.space = space
        self.param_grid = param_grid
        self.param_distributions = param_distributions
        self.backend = backend
        self.n_trials = n_trials
        self.n_iter = n_iter
        self.timeout = timeout
        self.metric = metric
        self.executor = executor
        self.batch_size = batch_size
        self.random_state = random_state
        self.backend_options = backend_options
        self.callbacks = callbacks
        self.pruner = pruner
        self.pruning_fractions = pruning_fractions
        self.strict = strict
        self.storage = storage
        self.study_name = study_name

    # Set-up, checked at fit time (scikit-learn's convention: __init__ only stores).
    def _param_space(self) -> ParamSpace:
        given = [(n, v) for n, v in (("space", self.space), ("param_grid", self.param_grid),
                                     ("param_distributions", self.param_distributions)) if v is not None]
        if len(given) != 1:
            raise UnituneError(
                "SearchCV needs exactly one of space, param_grid or param_distributions; got "
                f"{[n for n, _ in given] or 'none'}"
            )
        return to_param_space(given[0][1])

    def _backend_name(self, params: ParamSpace) -> Any:
        if self.backend is not None:
            return self.backend
        if self.param_grid is not None or (self.space is not None and params.kind == "grid"):
            return "grid"
        if self.param_distributions is not None or params.kind == "distributions":
            return "random"
        return "optuna"

    def _metric_name(self) -> str:
        if self.metric is not None:
            return self.metric
        if callable(self.scoring) and isinstance(self.refit, str):  # a callable returning a dict
            return self.refit
        if callable(self.scoring) or self.scoring is None or isinstance(self.scoring, str):
            return "score"
        if isinstance(self.refit, str):
            return self.refit
        names = list(self.scoring)
        if len(names) == 1:
            return names[0]
        raise UnituneError(
            f"with several scorers {names!r} and refit={self.refit!r}, name the scorer the backend "
            "optimizes with metric='...'"
        )

    def _budget(self, study: Study) -> int | None:
        if self.n_trials is not None and self.n_iter is not None:
            raise UnituneError(
                f"give n_trials or its alias n_iter, not both (got n_trials={self.n_trials}, "
                f"n_iter={self.n_iter})"
            )
        budget = self.n_trials if self.n_trials is not None else self.n_iter
        if budget is None and not study.backend.exhaustible:
            if self.timeout is not None:
                return None
            budget = _RANDOMIZED_DEFAULT_TRIALS
        return budget

    def _workers(self) -> int:
        if self.executor is not None:
            # joblib runs one worker's tasks inline, so at least 2 keeps the fits on the executor.
            default = effective_n_jobs(self.n_jobs) if self.n_jobs is not None else 2
            return max(2, executor_workers(self.executor, default=default))
        return max(1, effective_n_jobs(self.n_jobs))

    def fit(self, X: Any, y: Any = None, **params: Any) -> SearchCV:
        """Run the search, then refit the best candidate on all data (as ``GridSearchCV.fit``).

        ``groups`` and other fit parameters are routed exactly as scikit-learn does.
        """
        if self.pruner is not None:
            _check_fractions(self.pruning_fractions)
        self._fit_inputs = (X, y, params)
        backend = (nullcontext() if self.executor is None
                   else parallel_config(backend=ExecutorBackend(self.executor, self._workers())))
        try:
            with backend:
                return super().fit(X, y, **params)
        finally:
            del self._fit_inputs

    def _run_search(self, evaluate_candidates: Callable, callback_ctx: Any = None) -> None:
        param_space = self._param_space()
        metric = self._metric_name()
        try:
            study = Study(param_space.space, self._backend_name(param_space), direction="maximize",
                          metric=f"mean_test_{metric}", seed=as_seed(self.random_state),
                          backend_options=self.backend_options, strict=self.strict,
                          storage=self.storage, study_name=self.study_name, pruner=self.pruner)
        except StudyExistsError:  # its advice (resume=True) is not a SearchCV parameter
            raise StudyExistsError(
                f"study_name={self.study_name!r} is already taken in {self.storage!r} (by an earlier "
                "fit?): each fit of a SearchCV writes a new study; set_params(study_name=...) to a "
                "new name, or use another storage file"
            ) from None
        self.study_ = study
        try:
            self._search(study, evaluate_candidates, param_space, metric)
        finally:
            self.trials_ = study.trials
            study.close()  # gives a file's lease back; trials stay readable
        if not any(t.state is TrialState.COMPLETE for t in study.trials) and study.trials:
            reasons = {t.failure for t in study.trials}
            raise ValueError(
                f"All {len(study.trials)} candidates failed to fit or score; reasons: {sorted(reasons)!r}"
            )

    def _search(self, study: Study, evaluate_candidates: Callable, param_space: ParamSpace,
                metric: str) -> None:
        cv = self._constant_splits()
        budget = self._budget(study)
        adaptive = study.backend.name not in _NON_ADAPTIVE or self.timeout is not None
        batch = self.batch_size or (self._workers() if adaptive else None)
        deadline = None if self.timeout is None else time.monotonic() + self.timeout
        asked = 0
        while budget is None or asked < budget:
            if deadline is not None and time.monotonic() >= deadline:
                break
            room = budget - asked if budget is not None else None
            want = batch if room is None else (room if batch is None else min(batch, room))
            handles = _ask(study, want)
            if not handles:
                break
            asked += len(handles)
            if study.pruner is None:
                self._evaluate(study, handles, evaluate_candidates, cv, metric, param_space)
            else:
                self._evaluate_rungs(study, handles, evaluate_candidates, cv, metric, param_space)

    def _constant_splits(self) -> Any:
        """The CV splits, drawn once so that every batch sees the same folds."""
        X, y, params = self._fit_inputs
        routed = self._get_routed_params_for_fit(params)
        # scikit-learn's own checked splitter (documented for _run_search): self.cv may be a
        # generator of splits that its fit has already consumed into it
        splitter = getattr(self, "_checked_cv_orig", None)
        if splitter is None:
            splitter = check_cv(self.cv, y, classifier=is_classifier(self.estimator))
        return check_cv(list(splitter.split(X, y, **routed.splitter.split)))

    def _evaluate(self, study: Study, handles: list, evaluate_candidates: Callable, cv: Any,
                  metric: str, param_space: ParamSpace) -> None:
        results = self._run_batch(study, handles, evaluate_candidates, cv, metric, param_space)
        if results is None:
            return
        first = len(results["params"]) - len(handles)
        for i, handle in enumerate(handles):
            for split in range(self.n_splits_):
                score = float(results[f"split{split}_test_{metric}"][first + i])
                if math.isfinite(score):
                    handle.report(score, split)
        self._notify(study, [self._tell(study, h, results, first + i, metric)
                             for i, h in enumerate(handles)])  # after the whole batch is recorded

    def _evaluate_rungs(self, study: Study, handles: list, evaluate_candidates: Callable, cv: Any,
                        metric: str, param_space: ParamSpace) -> None:
        """Successive rungs on growing subsamples of every training fold; the study's pruner
        stops candidates between rungs (reported step: the rung's size in units of the first)."""
        fractions = _check_fractions(self.pruning_fractions)
        finished = []
        alive = list(handles)
        for rung, fraction in enumerate(fractions):
            sub_cv, n_resources = self._subsampled(cv, fraction, rung)
            more = {"iter": [rung] * len(alive), "n_resources": [n_resources] * len(alive)}
            results = self._run_batch(study, alive, evaluate_candidates, sub_cv, metric, param_space, more)
            if results is None:
                return
            first = len(results["params"]) - len(alive)
            key = f"mean_test_{metric}"
            step = _rung_step(fractions, rung)
            survivors = []
            for i, handle in enumerate(alive):
                score = float(results[key][first + i])
                if math.isfinite(score):
                    handle.report(score, step)
                if rung == len(fractions) - 1 or not math.isfinite(score):
                    finished.append(self._tell(study, handle, results, first + i, metric))
                elif handle.should_prune():
                    finished.append(study.tell(handle, state="pruned",
                                               failure=f"pruned after rung {rung} ({n_resources} samples)"))
                else:
                    survivors.append(handle)
            alive = survivors
            if not alive:
                break
        self._notify(study, finished)

    def _subsampled(self, cv: Any, fraction: float, rung: int) -> tuple[Any, int]:
        """``cv`` with each training fold cut to ``fraction`` of its size (stratified for a
        classifier when possible); the full folds for the last rung."""
        splits = list(cv.split())
        if fraction >= 1.0:
            return cv, int(np.mean([len(train) for train, _ in splits]))
        _, y, _ = self._fit_inputs
        seed = as_seed(self.random_state) or 0
        cut = []
        for train, test in splits:
            n = max(1, round(fraction * len(train)))
            stratify = None if y is None or not is_classifier(self.estimator) else np.asarray(y)[train]
            try:
                part = resample(train, n_samples=n, replace=False, stratify=stratify, random_state=seed)
            except ValueError:  # too few samples to stratify
                part = resample(train, n_samples=n, replace=False, random_state=seed)
            cut.append((np.sort(part), test))
        return check_cv(cut), int(np.mean([len(train) for train, _ in cut]))

    def _run_batch(self, study: Study, handles: list, evaluate_candidates: Callable, cv: Any,
                   metric: str, param_space: ParamSpace, more: dict | None = None) -> dict | None:
        """scikit-learn's evaluation of one batch; None when every fit failed (then recorded)."""
        candidates = [param_space.decode(h.params) for h in handles]
        try:
            results = evaluate_candidates(candidates, cv=cv, more_results=more)
        except ValueError as exc:
            if "fits failed" not in str(exc) or self.error_score == "raise":
                _end_on_error(study, handles, exc)
                raise
            # Every fit of this batch failed: scikit-learn raised instead of recording NaN.
            self._notify(study, [study.tell(h, state="failed", failure=str(exc)) for h in handles])
            return None
        except Exception as exc:
            _end_on_error(study, handles, exc)
            raise
        except BaseException as exc:  # KeyboardInterrupt, SystemExit: nothing was learnt
            _end_all(study, handles, TrialState.INTERRUPTED, f"interrupted ({type(exc).__name__})")
            raise
        if f"mean_test_{metric}" not in results:
            scorers = sorted(k[10:] for k in results if k.startswith("mean_test_"))
            _end_all(study, handles, TrialState.INTERRUPTED, f"no scorer named {metric!r}")
            raise UnituneError(f"metric {metric!r} is not among the scorers {scorers!r}")
        return results

    def _tell(self, study: Study, handle: Any, results: dict, row: int, metric: str) -> Trial:
        key = f"mean_test_{metric}"
        metrics = {k: float(v[row]) for k, v in results.items()
                   if k.startswith(("mean_", "std_")) and math.isfinite(float(v[row]))}
        if key in metrics:
            return study.tell(handle, Result(metrics=metrics))
        reason = (f"candidate scored {results[key][row]!r} (error_score={self.error_score!r}): "
                  "a fit or a score failed; see scikit-learn's FitFailedWarning")
        return study.tell(handle, state="failed", failure=reason)

    def _select_best_index(self, refit: Any, refit_metric: str, results: dict) -> int:
        """As scikit-learn's, but with rungs only candidates evaluated on the full folds count."""
        if "n_resources" not in results or callable(refit):
            return BaseSearchCV._select_best_index(refit, refit_metric, results)
        full = np.asarray(results["n_resources"]) == np.max(results["n_resources"])
        means = np.where(full, np.nan_to_num(results[f"mean_test_{refit_metric}"], nan=-np.inf), -np.inf)
        if not np.isfinite(means).any():
            return int(np.flatnonzero(full)[0])
        return int(np.argmax(means))

    def _notify(self, study: Study, trials: list[Trial]) -> None:
        for trial in trials:
            for callback in self.callbacks or ():
                callback(study, trial)

    def __getstate__(self) -> dict[str, Any]:
        state = dict(super().__getstate__())  # a copy: Python may hand out __dict__ itself
        # scikit-learn hands the search itself to every parallel fit: keep that light. The live
        # study (backends may hold unpicklable optimizer state), the fit data and the executor
        # (locks, processes) stay behind; trials_ keeps the results.
        state.pop("study_", None)
        state.pop("_fit_inputs", None)
        if state.get("executor") is not None:
            state["executor"] = None
        return state


def _ask(study: Study, n: int | None) -> list:
    """Up to ``n`` new trial handles (every remaining one when ``n`` is None: a finite grid)."""
    handles: list = []
    while n is None or len(handles) < n:
        try:
            handles += study.ask_batch(_CHUNK if n is None else n - len(handles))
        except SearchExhausted:
            break
    return handles


def _rung_step(fractions: Sequence[float], rung: int) -> int:
    """The step rung ``rung`` reports at: ``fraction / fractions[0]`` rounded, kept above the
    previous rung's step (a step is reported once: fractions 0.6, 0.8 would both round to 1)."""
    step = 0
    for fraction in fractions[: rung + 1]:
        step = max(step + 1, round(fraction / fractions[0]))
    return step


def _check_fractions(fractions: Any) -> list[float]:
    values = list(fractions) if isinstance(fractions, (list, tuple)) else None
    if (not values or any(isinstance(f, bool) or not isinstance(f, numbers.Real) for f in values)
            or not all(0 < a < b for a, b in itertools.pairwise(values)) or values[0] <= 0
            or values[-1] != 1.0):
        raise UnituneError(
            "pruning_fractions must be increasing fractions of the training folds in (0, 1], "
            f"ending with 1.0, such as (1/9, 1/3, 1.0); got {fractions!r}"
        )
    return [float(f) for f in values]


def _end_on_error(study: Study, handles: list, exc: Exception) -> None:
    """A batch whose evaluation raised: a lone candidate FAILED; in a batch, which candidate
    raised is unknown, so all are INTERRUPTED (they teach the backend nothing)."""
    reason = f"{type(exc).__name__}: {exc}"
    if len(handles) == 1:
        _end_all(study, handles, TrialState.FAILED, reason)
    else:
        _end_all(study, handles, TrialState.INTERRUPTED, f"the batch stopped on an error: {reason}")


def _end_all(study: Study, handles: list, state: TrialState, reason: str) -> None:
    for handle in handles:
        study.tell(handle, state=state, failure=reason)
