"""COCO-style measures for problems with a known optimum: log10 regret, runtimes to targets, the
runtime ECDF and the expected running time (ERT).

Targets are precisions ``Δf`` above the optimum, COCO's 51 standard values ``10^2, 10^1.8, ...,
10^-8``. A run's *runtime* to a target is the number of evaluations after which its best-so-far
loss is within ``Δf`` of the optimum (``inf`` when it never gets there). Formulas:
``docs/benchmarks.md``.

>>> runtimes(np.array([[5.0, 0.5, 0.05]]), 0.0, np.array([1.0, 0.1, 0.01]))[0].tolist()
[2.0, 3.0, inf]
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

__all__ = [
    "REGRET_FLOOR",
    "TARGETS",
    "ecdf",
    "ert",
    "log10_regret",
    "reference_target",
    "runtimes",
]

#: COCO's standard precisions: 10^2 down to 10^-8 in steps of 10^0.2 (51 targets).
TARGETS = 10.0 ** np.round(np.arange(2.0, -8.0 - 1e-9, -0.2), 1)
#: Regrets below COCO's final target 1e-8 count as solved and show as log10 = -8.
REGRET_FLOOR = 1e-8


def log10_regret(curves: np.ndarray, optimum_loss: float) -> np.ndarray:
    """``log10(max(S(t) - f*, 1e-8))`` for best-so-far curves ``S`` (any shape); ``inf`` stays ``inf``."""
    regret = np.maximum(np.asarray(curves, dtype=float) - optimum_loss, REGRET_FLOOR)
    with np.errstate(divide="ignore"):
        return np.log10(regret)


def runtimes(curves: np.ndarray, optimum_loss: float, targets: Sequence[float] | np.ndarray = TARGETS
             ) -> np.ndarray:
    """Evaluations each run needs to reach each target: array ``(runs, targets)``, ``inf`` if never.

    ``curves`` is ``(runs, budget)`` of best-so-far losses; evaluation counts start at 1.
    """
    curves = np.atleast_2d(np.asarray(curves, dtype=float))
    targets = np.asarray(targets, dtype=float)
    hit = (curves[:, :, None] - optimum_loss) <= targets[None, None, :]  # (runs, budget, targets)
    first = np.argmax(hit, axis=1).astype(float) + 1.0
    first[~hit.any(axis=1)] = np.inf
    return first


def ecdf(runtime_sets: Sequence[np.ndarray], budget: int) -> np.ndarray:
    """Fraction of (problem, target, run) triples solved within ``t`` evaluations, ``t = 1..budget``.

    ``runtime_sets`` holds one ``(runs, targets)`` array per problem; every triple weighs the same
    within a problem and every problem weighs the same (COCO's aggregation over functions).
    """
    t = np.arange(1, budget + 1, dtype=float)
    per_problem = [(rt.reshape(-1)[None, :] <= t[:, None]).mean(axis=1) for rt in runtime_sets if rt.size]
    if not per_problem:
        return np.full(budget, np.nan)
    return np.mean(per_problem, axis=0)


def ert(runtime: np.ndarray, evaluations: np.ndarray) -> float:
    """Expected running time to one target: evaluations spent by all runs (a run that never
    reached the target counts all of its evaluations) divided by the number of runs that reached it;
    ``inf`` when none did.

    >>> ert(np.array([3.0, np.inf]), np.array([10, 10]))
    13.0
    """
    runtime = np.asarray(runtime, dtype=float)
    evaluations = np.asarray(evaluations, dtype=float)
    successes = int(np.isfinite(runtime).sum())
    if successes == 0:
        return math.inf
    spent = np.where(np.isfinite(runtime), runtime, evaluations).sum()
    return float(spent / successes)


def reference_target(all_runtimes: np.ndarray) -> float | None:
    """The hardest COCO target reached by at least half of ``all_runtimes``' runs (every backend
    pooled), so that ERT separates backends; None when no target is reached by half the runs.

    ``all_runtimes`` is ``(runs, len(TARGETS))``.
    """
    solved = np.isfinite(all_runtimes).mean(axis=0) >= 0.5
    if not solved.any():
        return None
    return float(TARGETS[np.nonzero(solved)[0][-1]])
