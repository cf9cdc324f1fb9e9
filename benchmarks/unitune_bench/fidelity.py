"""Multi-fidelity problems (real learning curves) and cost scoring on the resource axis.

Each problem trains epoch by epoch. Its objective takes the parameters and, optionally, a trial
handle: with a handle it reports the validation value at ``step = epoch`` (1 .. ``max_epochs``)
and stops with :class:`unitune.TrialPruned` when ``trial.should_prune()`` says so; without one it
trains to the end. The resource a trial spent is the last epoch it reported.

- ``mf-sgd-digits``: ``SGDClassifier.partial_fit``, one pass over the training rows per epoch,
  on scikit-learn's digits (1797 rows, fixed 2/3 - 1/3 stratified split); validation error.
- ``mf-mlp-digits``: ``MLPClassifier.partial_fit`` (adam), same data; validation error.
- ``mf-branin``: a cheap synthetic curve with a fidelity parameter ``t``: Branin at the end,
  plus a bias that shrinks as ``t`` grows at a configuration-dependent rate, so curves cross.

Scoring by resource: :func:`anytime_by_resource` (best value against cumulative resource, the
curve plotted by :func:`plot_best_vs_resource`) and :func:`resource_to_reach`.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Iterable, Sequence
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np

import unitune
from unitune import Categorical, Float, Int, Trial, TrialState
from unitune_bench.problem import Problem
from unitune_bench.synthetic import BRANIN_MIN, branin

__all__ = [
    "MAX_EPOCHS",
    "EpochObjective",
    "anytime_by_resource",
    "best_by_resource",
    "fidelity_problem_factories",
    "first_reach",
    "make_fidelity_problem",
    "plot_best_vs_resource",
    "resource_of",
    "resource_to_reach",
    "total_resource",
]

#: The full resource of every built-in multi-fidelity problem (epochs).
MAX_EPOCHS = 27


@cache
def _digits() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split
    from sklearn.preprocessing import StandardScaler

    x, y = load_digits(return_X_y=True)
    x_train, x_val, y_train, y_val = train_test_split(x, y, test_size=1 / 3, stratify=y, random_state=0)
    scaler = StandardScaler().fit(x_train)
    return scaler.transform(x_train), scaler.transform(x_val), y_train, y_val


class EpochObjective:
    """``objective(params, trial=None)``: train ``max_epochs`` epochs, report each, obey pruning.

    ``start(params)`` returns a function ``epoch -> value``; the epochs run in order.
    """

    def __init__(self, start: Callable[[dict[str, Any]], Callable[[int], float]], max_epochs: int):
        self.start = start
        self.max_epochs = max_epochs

    def __call__(self, params: dict[str, Any], trial: Any = None) -> float:
        step = self.start(dict(params))
        value = math.nan
        for epoch in range(1, self.max_epochs + 1):
            value = step(epoch)
            if trial is not None:
                trial.report(value, epoch)
                if epoch < self.max_epochs and trial.should_prune():
                    raise unitune.TrialPruned(f"pruned at epoch {epoch}")
        return value


def _sgd(params: dict[str, Any]) -> Callable[[int], float]:
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import SGDClassifier

    x_train, x_val, y_train, y_val = _digits()
    model = SGDClassifier(random_state=0, **params)
    classes = np.unique(y_train)

    def epoch(_: int) -> float:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            model.partial_fit(x_train, y_train, classes=classes)
        return float(1.0 - model.score(x_val, y_val))

    return epoch


def _mlp(params: dict[str, Any]) -> Callable[[int], float]:
    from sklearn.neural_network import MLPClassifier

    x_train, x_val, y_train, y_val = _digits()
    model = MLPClassifier(random_state=0, solver="adam", **params)
    classes = np.unique(y_train)

    def epoch(_: int) -> float:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model.partial_fit(x_train, y_train, classes=classes)
        return float(1.0 - model.score(x_val, y_val))

    return epoch


def _branin_curve(params: dict[str, Any]) -> Callable[[int], float]:
    x1, x2 = params["x1"], params["x2"]
    final = branin(x1, x2)
    amplitude = 30.0 * (1.0 + 0.8 * math.sin(x1) * math.cos(x2))  # in [6, 54]: curves cross
    rate = 0.5 + 0.4 * math.cos(x1 + x2)

    def epoch(t: int) -> float:
        return final + amplitude * ((MAX_EPOCHS / t) ** rate - 1.0) / (MAX_EPOCHS**rate - 1.0)

    return epoch


_SPACES: dict[str, dict[str, Any]] = {
    "sgd": {"alpha": Float(1e-6, 1e-1, log=True), "eta0": Float(1e-4, 1.0, log=True),
            "learning_rate": Categorical(["constant", "invscaling", "adaptive"]),
            "loss": Categorical(["hinge", "log_loss", "modified_huber"]),
            "penalty": Categorical(["l2", "l1", "elasticnet"])},
    "mlp": {"hidden_layer_sizes": Int(8, 64, log=True), "alpha": Float(1e-6, 1e-1, log=True),
            "learning_rate_init": Float(1e-5, 1e-1, log=True), "batch_size": Int(32, 256, log=True)},
    "branin": {"x1": Float(-5.0, 10.0), "x2": Float(0.0, 15.0)},
}
_STARTS = {"sgd": _sgd, "mlp": _mlp, "branin": _branin_curve}
_NAMES = {"sgd": "mf-sgd-digits", "mlp": "mf-mlp-digits", "branin": "mf-branin"}
_DESCRIPTIONS = {
    "sgd": "SGDClassifier.partial_fit on digits, validation error after each of 27 epochs",
    "mlp": "MLPClassifier.partial_fit (adam) on digits, validation error after each of 27 epochs",
    "branin": "Branin reached at t = 27 through configuration-dependent learning curves",
}


def make_fidelity_problem(kind: str) -> Problem:
    """The multi-fidelity problem ``kind`` (``"sgd"``, ``"mlp"`` or ``"branin"``).

    ``problem.objective(params, trial=None)`` trains epoch by epoch (see the module docstring);
    ``problem.meta["max_resource"]`` is the number of epochs.
    """
    if kind not in _STARTS:
        raise unitune.UnituneError(
            f"unknown multi-fidelity problem {kind!r}; choose one of {sorted(_STARTS)}")
    # Not tagged "synthetic" or "ml": the existing suites select those tags and stay as they are.
    tags = ("fidelity", kind)
    return Problem(_NAMES[kind], _SPACES[kind], EpochObjective(_STARTS[kind], MAX_EPOCHS),
                   optimum=BRANIN_MIN if kind == "branin" else None, tags=tags,
                   description=_DESCRIPTIONS[kind],
                   meta={"max_resource": MAX_EPOCHS, "resource": "epochs",
                         # imported once by the harness before it forks its runs
                         "preload": () if kind == "branin" else ("sklearn.linear_model",
                                                                 "sklearn.neural_network")})


def fidelity_problem_factories() -> dict[str, Callable[[], Problem]]:
    """Factories of the multi-fidelity problems, by name."""
    return {_NAMES[kind]: (lambda k=kind: make_fidelity_problem(k)) for kind in _STARTS}


# Cost scoring on the resource axis.
def resource_of(trial: Trial) -> int:
    """Resource a trial spent: its last reported step (0 if it reported nothing)."""
    return max(trial.intermediate) if trial.intermediate else 0


def total_resource(trials: Iterable[Trial]) -> int:
    """Resource summed over trials."""
    return sum(resource_of(t) for t in trials)


def best_by_resource(spent: Iterable[tuple[float, float | None]]) -> tuple[np.ndarray, np.ndarray]:
    """``(cumulative resource, best loss so far)`` over ``(resource, loss)`` pairs, one per
    finished trial in finishing order; ``loss`` is None for a trial without a value (pruned,
    failed), which spends resource but sets no best. Before the first loss the best is ``inf``.

    >>> xs, ys = best_by_resource([(1, None), (27, 0.5), (3, None)])
    >>> xs.tolist(), ys.tolist()
    ([1.0, 28.0, 31.0], [inf, 0.5, 0.5])
    """
    total, best = 0.0, math.inf
    xs, ys = [], []
    for resource, loss in spent:
        total += resource
        if loss is not None:
            best = min(best, loss)
        xs.append(total)
        ys.append(best)
    return np.asarray(xs, dtype=float), np.asarray(ys, dtype=float)


def first_reach(xs: np.ndarray, ys: np.ndarray, level: float) -> float:
    """The first ``x`` at which the best-so-far curve ``ys`` gets to ``level`` (``inf`` if never)."""
    hit = np.nonzero(np.asarray(ys) <= level)[0]
    return float(np.asarray(xs)[hit[0]]) if hit.size else math.inf


def anytime_by_resource(trials: Sequence[Trial], sign: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    """``(cumulative resource, best loss so far)`` after each finished trial, in finishing order.

    ``sign`` turns values into losses (+1 minimize, -1 maximize). Only COMPLETE trials set the
    best; before the first one the best is ``inf``.
    """
    ordered = sorted(trials, key=lambda t: (t.finished_at or 0.0, t.number))
    return best_by_resource(
        (resource_of(t), sign * t.values[0] if t.state is TrialState.COMPLETE else None) for t in ordered)


def resource_to_reach(trials: Sequence[Trial], level: float, sign: float = 1.0) -> float:
    """Cumulative resource at which the best loss first gets to ``level`` (``inf`` if never)."""
    return first_reach(*anytime_by_resource(trials, sign), level)


def plot_best_vs_resource(curves: dict[str, list[tuple[np.ndarray, np.ndarray]]], path: str | Path,
                          title: str = "") -> Path:
    """Plot best loss against cumulative resource: per label, the median over its runs (each
    run's step curve read on a common resource grid, drawn while every run has data) and the
    runs themselves, faint."""
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7.0, 4.4))
    cmap = plt.get_cmap("tab10")
    top = max((xs[-1] for runs in curves.values() for xs, _ in runs if xs.size), default=1.0)
    grid = np.linspace(0.0, top, 400)
    lows = []
    for i, (label, runs) in enumerate(curves.items()):
        color = cmap(i % 10)
        on_grid = []
        for xs, ys in runs:
            finite = np.isfinite(ys)
            ax.step(xs[finite], ys[finite], where="post", color=color, alpha=0.15, linewidth=0.8)
            at = np.searchsorted(xs, grid, side="right") - 1
            line = np.where(at >= 0, ys[np.clip(at, 0, None)], np.inf)
            line[grid > xs[-1]] = np.nan  # a run that used less resource stops there
            on_grid.append(line)
            lows.extend(ys[finite])
        # The median where every run has data (up to the run that spent the least resource).
        median = np.median(np.asarray(on_grid), axis=0)
        shown = np.isfinite(median)
        ax.plot(grid[shown], median[shown], color=color, linewidth=1.8, label=label,
                linestyle="-" if i % 3 == 0 else ("--" if i % 3 == 1 else ":"))
    if lows and min(lows) > 0:
        ax.set_yscale("log")
    ax.set_xlabel("cumulative resource (epochs)")
    ax.set_ylabel("best loss so far (median over seeds)")
    ax.set_title(title)
    ax.legend(fontsize=7, ncol=3)
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path
