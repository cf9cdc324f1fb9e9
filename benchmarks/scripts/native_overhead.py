"""Per-trial overhead of unitune's native random search, against its physical floor and Optuna.

Runs, interleaved in one process on a 10-dimensional mixed space with a trivial objective:
- floor: a bare numpy loop drawing the same numbers (one generator call per dimension);
- unitune: ``unitune.optimize(..., backend="random")`` end to end (ask, evaluate, tell, record);
- optuna: Optuna's RandomSampler through ``study.optimize`` with the same dimensions.
Prints microseconds per trial and the ratios. Usage: ``uv run python benchmarks/scripts/native_overhead.py``.
"""

from __future__ import annotations

import argparse
import math
import statistics
import time

import numpy as np

import unitune
from unitune import Categorical, Float, Int

SPACE = {
    "x1": Float(-5.0, 5.0),
    "x2": Float(-5.0, 5.0),
    "lr": Float(1e-5, 1e-1, log=True),
    "frac": Float(0.0, 1.0, step=0.05),
    "n1": Int(1, 100),
    "n2": Int(1, 1000, log=True),
    "n3": Int(0, 100, step=5),
    "c1": Categorical(["a", "b", "c", "d"]),
    "c2": Categorical([True, False]),
    "c3": Categorical([16, 32, 64, 128]),
}


def objective(params):
    return params["x1"]


def floor_loop(n: int) -> float:
    """The same draws unitune makes, with no bookkeeping at all."""
    rng = np.random.default_rng(0)
    log_lr = (math.log(1e-5), math.log(1e-1))
    log_n2 = (math.log(0.5), math.log(1000.5))
    choices1, choices2, choices3 = ["a", "b", "c", "d"], [True, False], [16, 32, 64, 128]
    start = time.perf_counter()
    for _ in range(n):
        params = {
            "x1": rng.uniform(-5.0, 5.0),
            "x2": rng.uniform(-5.0, 5.0),
            "lr": math.exp(rng.uniform(*log_lr)),
            "frac": int(rng.integers(0, 21)) * 0.05,
            "n1": 1 + int(rng.integers(0, 100)),
            "n2": round(math.exp(rng.uniform(*log_n2))),
            "n3": 5 * int(rng.integers(0, 21)),
            "c1": choices1[int(rng.integers(0, 4))],
            "c2": choices2[int(rng.integers(0, 2))],
            "c3": choices3[int(rng.integers(0, 4))],
        }
        objective(params)
    return time.perf_counter() - start


def unitune_loop(n: int) -> float:
    start = time.perf_counter()
    unitune.optimize(objective, SPACE, backend="random", n_trials=n, seed=0, show_progress=False)
    return time.perf_counter() - start


def optuna_loop(n: int) -> float:
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)

    def native(trial):
        params = {
            "x1": trial.suggest_float("x1", -5.0, 5.0),
            "x2": trial.suggest_float("x2", -5.0, 5.0),
            "lr": trial.suggest_float("lr", 1e-5, 1e-1, log=True),
            "frac": trial.suggest_float("frac", 0.0, 1.0, step=0.05),
            "n1": trial.suggest_int("n1", 1, 100),
            "n2": trial.suggest_int("n2", 1, 1000, log=True),
            "n3": trial.suggest_int("n3", 0, 100, step=5),
            "c1": trial.suggest_categorical("c1", ["a", "b", "c", "d"]),
            "c2": trial.suggest_categorical("c2", [True, False]),
            "c3": trial.suggest_categorical("c3", [16, 32, 64, 128]),
        }
        return objective(params)

    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    start = time.perf_counter()
    study.optimize(native, n_trials=n)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=5000)
    parser.add_argument("--optuna-trials", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    floor, ours, theirs = [], [], []
    try:
        import optuna  # noqa: F401

        have_optuna = True
    except ImportError:
        have_optuna = False
    for _ in range(args.repeats):
        floor.append(floor_loop(args.trials) / args.trials)
        ours.append(unitune_loop(args.trials) / args.trials)
        if have_optuna:
            theirs.append(optuna_loop(args.optuna_trials) / args.optuna_trials)
    f, u = statistics.median(floor), statistics.median(ours)
    print(f"10-dim mixed space, median of {args.repeats} interleaved repeats")
    print(f"  numpy floor        {f * 1e6:9.1f} us/trial")
    print(f"  unitune random     {u * 1e6:9.1f} us/trial   ratio to floor: {u / f:.2f}x (target <= 5x)")
    if have_optuna:
        o = statistics.median(theirs)
        print(f"  optuna RandomSampler {o * 1e6:7.1f} us/trial   unitune/optuna: {u / o:.3f}")
    else:
        print("  optuna not installed: skipped the Optuna comparison")


if __name__ == "__main__":
    main()
