"""Wall time of ``unitune.sklearn.SearchCV`` (grid backend) against ``GridSearchCV`` on one grid.

Both search the same grid with the same estimator, folds and ``n_jobs=1``; runs alternate in one
process (GridSearchCV, SearchCV, GridSearchCV, ...) so machine load hits both alike, and the
ratio of medians is printed with the ratio of minima. The estimator is cheap on purpose
(logistic regression on iris), so the figure is unitune's overhead at its most visible; a real
model makes it smaller. Target: ratio <= 1.1.

Usage: ``uv run python benchmarks/scripts/searchcv_overhead.py [--repeats 7] [--grid-size 48]``.
"""

from __future__ import annotations

import argparse
import statistics
import time
import warnings

import numpy as np
from sklearn.datasets import load_iris
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV

from unitune.sklearn import SearchCV


def grid_of(size: int) -> dict:
    """A grid of about ``size`` candidates: C x tol x fit_intercept."""
    n_c = max(1, size // 4)
    return {"C": list(np.logspace(-3, 3, n_c)), "tol": [1e-4, 1e-3], "fit_intercept": [True, False]}


def timed(make, X, y) -> tuple[float, dict]:
    search = make()
    start = time.perf_counter()
    search.fit(X, y)
    return time.perf_counter() - start, search.cv_results_


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--grid-size", type=int, default=48)
    args = parser.parse_args()
    X, y = load_iris(return_X_y=True)
    grid = grid_of(args.grid_size)
    estimator = LogisticRegression(max_iter=500)
    makers = {
        "GridSearchCV": lambda: GridSearchCV(estimator, grid, cv=5, n_jobs=1),
        "SearchCV(grid)": lambda: SearchCV(estimator, grid, cv=5, n_jobs=1),
    }
    times: dict[str, list[float]] = {name: [] for name in makers}
    results = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for make in makers.values():  # warm-up: imports, caches
            timed(make, X, y)
        for _ in range(args.repeats):
            for name, make in makers.items():
                seconds, results[name] = timed(make, X, y)
                times[name].append(seconds)
    same = np.array_equal(results["GridSearchCV"]["mean_test_score"],
                          results["SearchCV(grid)"]["mean_test_score"])
    n = len(results["GridSearchCV"]["params"])
    print(f"{n} candidates x 5 folds, n_jobs=1, {args.repeats} alternating repeats; same scores: {same}")
    for name, values in times.items():
        print(f"  {name:<15} median {statistics.median(values):7.3f} s   min {min(values):7.3f} s")
    median_ratio = statistics.median(times["SearchCV(grid)"]) / statistics.median(times["GridSearchCV"])
    min_ratio = min(times["SearchCV(grid)"]) / min(times["GridSearchCV"])
    print(f"ratio SearchCV(grid) / GridSearchCV: median {median_ratio:.3f}, min {min_ratio:.3f} "
          "(target <= 1.1)")


if __name__ == "__main__":
    main()
