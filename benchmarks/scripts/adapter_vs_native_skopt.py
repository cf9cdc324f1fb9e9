"""Wall time of unitune + unitune-skopt against scikit-optimize's own ask/tell loop.

Both sides run the same cheap 5-dimensional objective with the same algorithm and seed, and must
propose the same points (checked). Runs are interleaved (the side that goes first alternates) and the
median ratio over the repeats is reported. BLAS is limited to one thread on both sides so that the
GP's linear algebra does not thrash on a small shared machine.

    uv run python benchmarks/scripts/adapter_vs_native_skopt.py            # all algorithms
    uv run python benchmarks/scripts/adapter_vs_native_skopt.py --algorithms gp --repeats 5

"gbrt" and "random" cannot run natively on scikit-learn >= 1.6 (skopt's own "GBRT" and "dummy"
fail in ``Optimizer.__init__``): their native side is a plain ``skopt.Optimizer`` loop over the
repaired estimator that the adapter builds (``unitune_skopt.algorithms.build_optimizer``).
"""

from __future__ import annotations

import argparse
import math
import statistics
import time
import warnings
from typing import Any

from threadpoolctl import threadpool_limits

import unitune
from unitune import Categorical, Float, Int, Space

SPACE = Space({
    "x": Float(-5.0, 5.0),
    "y": Float(-5.0, 5.0),
    "lr": Float(1e-4, 1.0, log=True),
    "n": Int(1, 50),
    "kind": Categorical(["a", "b", "c"]),
})
NAMES = list(SPACE)
ESTIMATORS = {"gp": "GP", "rf": "RF", "et": "ET"}
TRIALS = {"gp": 60, "rf": 60, "et": 60, "gbrt": 60, "random": 60}


def objective(p: dict[str, Any]) -> float:
    """A cheap 5-D function: a shifted bowl plus log-scale, integer and categorical terms."""
    return ((p["x"] - 1.0) ** 2 + (p["y"] + 2.0) ** 2 + (math.log10(p["lr"]) + 2.0) ** 2
            + abs(p["n"] - 17) / 10 + {"a": 1.0, "b": 0.0, "c": 0.5}[p["kind"]])


def native_dimensions() -> list[Any]:
    from skopt.space import Categorical as SkCategorical
    from skopt.space import Integer, Real

    return [Real(-5.0, 5.0), Real(-5.0, 5.0), Real(1e-4, 1.0, prior="log-uniform"),
            Integer(1, 50), SkCategorical(["a", "b", "c"])]


def run_native(algorithm: str, n_trials: int, seed: int) -> tuple[float, list[dict[str, Any]]]:
    """scikit-optimize's own loop: ask, decode to a dict, evaluate, tell."""
    from skopt import Optimizer
    from unitune_skopt.algorithms import build_optimizer

    start = time.perf_counter()
    if algorithm in ESTIMATORS:
        opt = Optimizer(native_dimensions(), base_estimator=ESTIMATORS[algorithm], random_state=seed)
    else:
        opt = build_optimizer(algorithm, native_dimensions(), seed, {})
    proposals = []
    for _ in range(n_trials):
        x = opt.ask()
        params = {"x": float(x[0]), "y": float(x[1]), "lr": float(x[2]), "n": int(x[3]),
                  "kind": str(x[4])}
        opt.tell(x, objective(params))
        proposals.append(params)
    return time.perf_counter() - start, proposals


def run_unitune(algorithm: str, n_trials: int, seed: int) -> tuple[float, list[dict[str, Any]]]:
    """unitune.optimize end to end (study bookkeeping included)."""
    start = time.perf_counter()
    study = unitune.optimize(objective, SPACE, backend=f"skopt.{algorithm}", n_trials=n_trials,
                             seed=seed, show_progress=False)
    elapsed = time.perf_counter() - start
    return elapsed, [dict(t.params) for t in study.trials]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--algorithms", nargs="+", default=list(TRIALS), choices=list(TRIALS))
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--trials", type=int, default=None, help="override the trial counts")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    run_unitune("random", 2, args.seed)  # warm-up: imports and entry points on both sides
    print(f"{'algorithm':<10}{'trials':>7}{'native s':>11}{'unitune s':>11}{'ratio':>8}  same points")
    with threadpool_limits(limits=1):
        for algorithm in args.algorithms:
            n = args.trials or TRIALS[algorithm]
            native_times, unitune_times, ratios, same = [], [], [], True
            for repeat in range(args.repeats):
                seed = args.seed + repeat
                if repeat % 2:  # alternate which side goes first
                    t_unitune, p_unitune = run_unitune(algorithm, n, seed)
                    t_native, p_native = run_native(algorithm, n, seed)
                else:
                    t_native, p_native = run_native(algorithm, n, seed)
                    t_unitune, p_unitune = run_unitune(algorithm, n, seed)
                native_times.append(t_native)
                unitune_times.append(t_unitune)
                ratios.append(t_unitune / t_native)
                same = same and p_native == p_unitune
            print(f"{algorithm:<10}{n:>7}{statistics.median(native_times):>11.3f}"
                  f"{statistics.median(unitune_times):>11.3f}{statistics.median(ratios):>8.3f}  {same}",
                  flush=True)


if __name__ == "__main__":
    main()
