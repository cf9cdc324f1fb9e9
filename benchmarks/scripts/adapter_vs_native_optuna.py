"""unitune-optuna against native Optuna: same objective, sampler and seed; wall-time ratio.

Run with ``uv run python benchmarks/scripts/adapter_vs_native_optuna.py [--repeats N]``.

For each algorithm it times, interleaved in one process, Optuna's own loop
(``study.optimize`` with an objective making the suggest calls) and ``unitune.optimize``
end to end (the Study's bookkeeping included), on a cheap 5-dimensional objective, and
prints the median native seconds, median unitune seconds and the median of the per-repeat
ratios unitune/native (target: at most 1.05). It also checks both sides proposed the same
parameters, which is the point of the comparison.
"""

from __future__ import annotations

import argparse
import gc
import statistics
import time
import warnings

import optuna

import unitune
from unitune import Float, Space

DIMS = 5
SPACE = Space({f"x{i}": Float(-5.0, 5.0) for i in range(DIMS)})
NAMES = list(SPACE)
# (algorithm, sampler class, trials)
CASES = [("tpe", optuna.samplers.TPESampler, 200), ("random", optuna.samplers.RandomSampler, 200)]


def objective(params: dict[str, float]) -> float:
    """A cheap 5-dimensional Rosenbrock function."""
    x = [params[name] for name in NAMES]
    return sum(100.0 * (x[i + 1] - x[i] ** 2) ** 2 + (1.0 - x[i]) ** 2 for i in range(DIMS - 1))


def run_native(sampler_cls: type, seed: int, n_trials: int) -> tuple[float, list[dict]]:
    """Optuna's equivalent loop: define-by-run objective driven by ``study.optimize``."""
    start = time.perf_counter()
    study = optuna.create_study(sampler=sampler_cls(seed=seed))

    def native_objective(trial: optuna.Trial) -> float:
        return objective({name: trial.suggest_float(name, -5.0, 5.0) for name in NAMES})

    study.optimize(native_objective, n_trials=n_trials)
    elapsed = time.perf_counter() - start
    return elapsed, [t.params for t in study.trials]


def run_unitune(algorithm: str, seed: int, n_trials: int) -> tuple[float, list[dict]]:
    """``unitune.optimize`` end to end with the same sampler and seed."""
    start = time.perf_counter()
    study = unitune.optimize(objective, SPACE, backend=f"optuna.{algorithm}", seed=seed,
                             n_trials=n_trials, show_progress=False)
    elapsed = time.perf_counter() - start
    return elapsed, [dict(t.params) for t in study.trials]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7, help="timed repeats per algorithm")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    optuna.logging.set_verbosity(optuna.logging.WARNING)  # both sides equally quiet
    warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)

    print(f"{'algorithm':<10}{'trials':>7}{'native s':>11}{'unitune s':>11}{'ratio':>8}  same proposals")
    for algorithm, sampler_cls, n_trials in CASES:
        run_native(sampler_cls, args.seed, 20)  # warm-up: imports and caches
        run_unitune(algorithm, args.seed, 20)
        natives, unitunes, ratios, same = [], [], [], True
        for repeat in range(args.repeats):
            seed = args.seed + repeat
            gc.collect()
            if repeat % 2:  # alternate which side goes first
                u, u_params = run_unitune(algorithm, seed, n_trials)
                n, n_params = run_native(sampler_cls, seed, n_trials)
            else:
                n, n_params = run_native(sampler_cls, seed, n_trials)
                u, u_params = run_unitune(algorithm, seed, n_trials)
            natives.append(n)
            unitunes.append(u)
            ratios.append(u / n)
            same = same and u_params == n_params
        print(f"{algorithm:<10}{n_trials:>7}{statistics.median(natives):>11.3f}"
              f"{statistics.median(unitunes):>11.3f}{statistics.median(ratios):>8.3f}  "
              f"{'yes' if same else 'NO'}")


if __name__ == "__main__":
    main()
