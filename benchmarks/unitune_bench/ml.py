"""Machine-learning problems in the style of Bayesmark: scikit-learn models crossed with the
datasets that ship inside scikit-learn, scored by 3-fold cross-validation (no downloads).

Names read ``ml-<model>-<dataset>-<metric>``, e.g. ``ml-rf-wine-acc``. Classification datasets
(iris, wine, digits, breast) take ``acc`` (maximized) or ``nll`` (log-loss, minimized);
the regression dataset (diabetes) takes ``mse`` or ``mae`` (minimized). ``digits`` is subsampled
to 600 rows (fixed seed) to keep a trial under a second. Folds are shuffled with a fixed seed, so
every objective is deterministic.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from functools import cache
from typing import Any

import numpy as np

from unitune import Categorical, Constant, Float, Int
from unitune_bench.problem import Problem

__all__ = ["DATASETS", "METRICS", "MODELS", "make_ml_problem", "ml_problem_factories"]

DATASETS: dict[str, str] = {
    "iris": "classification",
    "wine": "classification",
    "digits": "classification",
    "breast": "classification",
    "diabetes": "regression",
}
METRICS: dict[str, tuple[str, str, str]] = {
    # metric: (task, scikit-learn scoring, direction)
    "acc": ("classification", "accuracy", "maximize"),
    "nll": ("classification", "neg_log_loss", "minimize"),
    "mse": ("regression", "neg_mean_squared_error", "minimize"),
    "mae": ("regression", "neg_mean_absolute_error", "minimize"),
}
MODELS = ("dt", "rf", "mlp", "svm", "knn", "ada", "linear")
_DIGITS_ROWS = 600


@cache
def _dataset(name: str) -> tuple[np.ndarray, np.ndarray]:
    from sklearn import datasets

    loaders = {"iris": datasets.load_iris, "wine": datasets.load_wine, "digits": datasets.load_digits,
               "breast": datasets.load_breast_cancer, "diabetes": datasets.load_diabetes}
    x, y = loaders[name](return_X_y=True)
    if name == "digits":
        rows = np.random.default_rng(0).choice(len(y), size=_DIGITS_ROWS, replace=False)
        x, y = x[np.sort(rows)], y[np.sort(rows)]
    return x, y


def _space(model: str, task: str) -> dict[str, Any]:
    if model == "dt":
        return {"max_depth": Int(1, 16), "min_samples_split": Float(0.01, 0.9),
                "min_samples_leaf": Float(0.01, 0.49), "max_features": Float(0.1, 1.0),
                "min_impurity_decrease": Float(0.0, 0.5)}
    if model == "rf":
        return {"n_estimators": Int(5, 50, log=True), "max_depth": Int(1, 16),
                "max_features": Float(0.1, 1.0), "min_samples_leaf": Int(1, 20, log=True),
                "bootstrap": Categorical([True, False])}
    if model == "mlp":
        return {"hidden_layer_sizes": Int(16, 128, log=True), "alpha": Float(1e-5, 1e1, log=True),
                "learning_rate_init": Float(1e-4, 1e-1, log=True),
                "batch_size": Int(16, 128, log=True), "max_iter": Constant(80)}
    if model == "svm":
        return {"C": Float(1e-2, 1e2, log=True),
                "kernel": Categorical({"rbf": {"gamma": Float(1e-4, 1e1, log=True)},
                                       "linear": None,
                                       "poly": {"degree": Int(2, 4), "coef0": Float(0.0, 1.0)}}),
                **({"epsilon": Float(1e-2, 1e2, log=True)} if task == "regression" else {})}
    if model == "knn":
        return {"n_neighbors": Int(1, 30), "weights": Categorical(["uniform", "distance"]),
                "p": Int(1, 2)}
    if model == "ada":
        return {"n_estimators": Int(10, 100, log=True), "learning_rate": Float(1e-3, 2.0, log=True)}
    if task == "regression":  # lasso
        return {"alpha": Float(1e-5, 1e1, log=True), "fit_intercept": Categorical([True, False])}
    return {"C": Float(1e-4, 1e3, log=True), "fit_intercept": Categorical([True, False]),
            "class_weight": Categorical([None, "balanced"])}


def _estimator(model: str, task: str, params: dict[str, Any], proba: bool) -> Any:
    from sklearn import ensemble, linear_model, neighbors, neural_network, svm, tree
    from sklearn.calibration import CalibratedClassifierCV
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    clf = task == "classification"
    p = dict(params)
    if model == "dt":
        cls = tree.DecisionTreeClassifier if clf else tree.DecisionTreeRegressor
        return cls(random_state=0, **p)
    if model == "rf":
        cls = ensemble.RandomForestClassifier if clf else ensemble.RandomForestRegressor
        return cls(random_state=0, n_jobs=1, **p)
    if model == "ada":
        cls = ensemble.AdaBoostClassifier if clf else ensemble.AdaBoostRegressor
        return cls(random_state=0, **p)
    if model == "mlp":
        cls = neural_network.MLPClassifier if clf else neural_network.MLPRegressor
        est = cls(random_state=0, solver="adam", **p)
    elif model == "svm":
        if not clf:
            est = svm.SVR(max_iter=20000, **p)
        elif proba:  # SVC(probability=True) is deprecated in scikit-learn 1.9
            est = CalibratedClassifierCV(svm.SVC(max_iter=20000, **p), ensemble=False, cv=3)
        else:
            est = svm.SVC(max_iter=20000, **p)
    elif model == "knn":
        cls = neighbors.KNeighborsClassifier if clf else neighbors.KNeighborsRegressor
        est = cls(**p)
    elif clf:
        est = linear_model.LogisticRegression(max_iter=500, **p)
    else:
        est = linear_model.Lasso(max_iter=5000, random_state=0, **p)
    return make_pipeline(StandardScaler(), est)


def make_ml_problem(model: str, dataset: str, metric: str) -> Problem:
    """The problem ``ml-<model>-<dataset>-<metric>``."""
    task, scoring, direction = METRICS[metric]
    if DATASETS[dataset] != task:
        raise ValueError(f"metric {metric!r} is for {task}, dataset {dataset!r} is not")
    sign = -1.0 if scoring.startswith("neg_") else 1.0

    def objective(params: dict[str, Any]) -> float:
        from sklearn.exceptions import ConvergenceWarning
        from sklearn.model_selection import KFold, StratifiedKFold, cross_val_score

        x, y = _dataset(dataset)
        folds = (StratifiedKFold if task == "classification" else KFold)(3, shuffle=True, random_state=0)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            warnings.simplefilter("ignore", UserWarning)
            estimator = _estimator(model, task, params, metric == "nll")
            scores = cross_val_score(estimator, x, y, cv=folds, scoring=scoring, error_score="raise")
        return sign * float(np.mean(scores))

    name = f"ml-{model}-{dataset}-{metric}"
    label = "lasso" if model == "linear" and task == "regression" else model
    return Problem(name, _space(model, task), objective, direction=direction,
                   tags=("ml", model, dataset, metric),
                   description=f"{label} on {dataset}, 3-fold CV {scoring.removeprefix('neg_')}")


def ml_problem_factories() -> dict[str, Callable[[], Problem]]:
    """Factories for every model x dataset x fitting metric."""
    out: dict[str, Callable[[], Problem]] = {}
    for model in MODELS:
        for dataset, task in DATASETS.items():
            for metric, (metric_task, _, _) in METRICS.items():
                if metric_task == task:
                    out[f"ml-{model}-{dataset}-{metric}"] = (
                        lambda m=model, d=dataset, k=metric: make_ml_problem(m, d, k))
    return out
