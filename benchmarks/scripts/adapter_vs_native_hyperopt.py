"""unitune-hyperopt against native Hyperopt: same objective, algorithm and seed; wall-time ratio.

Run with ``uv run python benchmarks/scripts/adapter_vs_native_hyperopt.py [--repeats N]``.

For each algorithm it times, interleaved in one process, Hyperopt's own loop
(``fmin(..., rstate=np.random.default_rng(seed))``) and ``unitune.optimize`` end to end (the
Study's bookkeeping included), on a cheap 5-dimensional objective, and prints the median native
seconds, median unitune seconds and the median of the per-repeat ratios unitune/native
(target: at most 1.05), plus the ratio of the fastest repeats and the median ratio of CPU
(process) time, both less sensitive to other load on the machine. It also checks that both
sides proposed the same parameters.
"""

from __future__ import annotations

import argparse
import gc
import logging
import statistics
import time

import numpy as np
from hyperopt import Trials, anneal, fmin, hp, rand, tpe

import unitune
from unitune import Float, Space

DIMS = 5
SPACE = Space({f"x{i}": Float(-5.0, 5.0) for i in range(DIMS)})
NAMES = list(SPACE)
NATIVE_SPACE = {name: hp.uniform(name, -5.0, 5.0) for name in NAMES}
# (algorithm, suggest function, trials)
CASES = [("tpe", tpe.suggest, 200), ("random", rand.suggest, 200), ("anneal", anneal.suggest, 200)]


def objective(params: dict[str, float]) -> float:
    """A cheap 5-dimensional Rosenbrock function."""
    x = [params[name] for name in NAMES]
    return sum(100.0 * (x[i + 1] - x[i] ** 2) ** 2 + (1.0 - x[i]) ** 2 for i in range(DIMS - 1))


def run_native(suggest, seed: int, n_trials: int) -> tuple[float, float, list[dict]]:
    """Hyperopt's own loop: ``fmin`` with a seeded ``rstate``, no progress bar."""
    start, cpu = time.perf_counter(), time.process_time()
    trials = Trials()
    fmin(objective, NATIVE_SPACE, algo=suggest, max_evals=n_trials, trials=trials,
         rstate=np.random.default_rng(seed), show_progressbar=False, verbose=False)
    elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu
    return elapsed, cpu, [{k: v[0] for k, v in doc["misc"]["vals"].items()} for doc in trials.trials]


def run_unitune(algorithm: str, seed: int, n_trials: int) -> tuple[float, float, list[dict]]:
    """``unitune.optimize`` end to end with the same algorithm and seed."""
    start, cpu = time.perf_counter(), time.process_time()
    study = unitune.optimize(objective, SPACE, backend=f"hyperopt.{algorithm}", seed=seed,
                             n_trials=n_trials, show_progress=False)
    elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu
    return elapsed, cpu, [dict(t.params) for t in study.trials]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7, help="timed repeats per algorithm")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--algorithms", nargs="+", default=[c[0] for c in CASES],
                        choices=[c[0] for c in CASES])
    args = parser.parse_args()
    logging.getLogger("hyperopt").setLevel(logging.WARNING)  # both sides equally quiet

    print(f"{'algorithm':<10}{'trials':>7}{'native s':>11}{'unitune s':>11}{'ratio':>8}"
          f"{'best-of':>9}{'cpu ratio':>10}  same proposals")
    for algorithm, suggest, n_trials in CASES:
        if algorithm not in args.algorithms:
            continue
        run_native(suggest, args.seed, 30)  # warm-up: imports and caches
        run_unitune(algorithm, args.seed, 30)
        natives, unitunes, ratios, cpu_ratios, same = [], [], [], [], True
        for repeat in range(args.repeats):
            seed = args.seed + repeat
            gc.collect()
            if repeat % 2:  # alternate which side goes first
                u, u_cpu, u_params = run_unitune(algorithm, seed, n_trials)
                n, n_cpu, n_params = run_native(suggest, seed, n_trials)
            else:
                n, n_cpu, n_params = run_native(suggest, seed, n_trials)
                u, u_cpu, u_params = run_unitune(algorithm, seed, n_trials)
            natives.append(n)
            unitunes.append(u)
            ratios.append(u / n)
            cpu_ratios.append(u_cpu / n_cpu)
            same = same and u_params == n_params
        print(f"{algorithm:<10}{n_trials:>7}{statistics.median(natives):>11.3f}"
              f"{statistics.median(unitunes):>11.3f}{statistics.median(ratios):>8.3f}"
              f"{min(unitunes) / min(natives):>9.3f}{statistics.median(cpu_ratios):>10.3f}  {same}")


if __name__ == "__main__":
    main()
