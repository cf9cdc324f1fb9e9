"""What ASHA saves: total resource, wall time and final best value, with and without pruning.

On the multi-fidelity problems (``unitune_bench.fidelity``), for random, optuna.tpe and
hyperopt.tpe, each (problem, backend, seed) runs once per mode in this one process, side by side,
with the same seeds: ``full`` (N trials trained to the full resource), ``asha`` (N trials under
``ASHA(min_resource=1, reduction_factor=3, max_resource=27)``: rungs at 1, 3 and 9 epochs),
``asha-r3`` (N trials under ``ASHA(min_resource=3, ...)``: rungs at 3 and 9) and, on request,
``asha-3n`` (3N trials under the first ASHA). Printed per problem, backend and pruned mode
(medians over seeds): total resource (epochs summed over trials) and how many times less than
``full``, wall time, final best value (for ``full`` with the 95 % bootstrap interval of its
median), the median of the paired differences in final best (pruned minus full, per seed, as a
loss), the one-sided paired Wilcoxon p-value for "pruned ends worse", the seeds on which the
pruned run ended worse / better, the resource each run needed to reach the median final value of
random search without pruning, and the verdict on the target: ``met`` when the resource is at
least 2x less, the pruned median lies within (or below) the interval of the unpruned median, and
the paired test does not show the pruned runs worse (p >= 0.05). Every run's figures are written
to ``OUT/savings.jsonl``; a plot of best value against cumulative resource per problem.

    uv run python benchmarks/scripts/pruning_savings.py                 # the measured run
    uv run python benchmarks/scripts/pruning_savings.py --seeds 2 --trials 8 --problems mf-branin
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import statistics
import time
import warnings
from collections import Counter
from pathlib import Path

import numpy as np
from scipy.stats import wilcoxon
from unitune_bench.fidelity import (
    MAX_EPOCHS,
    anytime_by_resource,
    make_fidelity_problem,
    plot_best_vs_resource,
    resource_to_reach,
    total_resource,
)
from unitune_bench.scoring import bootstrap_ci

import unitune
from unitune.pruners import ASHA

KINDS = {"mf-branin": "branin", "mf-sgd-digits": "sgd", "mf-mlp-digits": "mlp"}
TRIALS = {"mf-branin": 60, "mf-sgd-digits": 30, "mf-mlp-digits": 15}
BACKENDS = ("random", "optuna.tpe", "hyperopt.tpe")
TARGET = 2.0  # times less resource for the same median final score

#: mode -> (ASHA's min_resource, or None for no pruning; trials as a multiple of N)
MODES = {"full": (None, 1), "asha": (1, 1), "asha-r3": (3, 1), "asha-3n": (1, 3)}


def run(problem, backend: str, seed: int, n_trials: int, mode: str):
    """One study of ``mode``; returns it and its wall time."""
    min_resource, multiple = MODES[mode]
    pruner = None if min_resource is None else ASHA(min_resource, 3, 0, MAX_EPOCHS)
    start = time.perf_counter()
    study = unitune.optimize(problem.objective, problem.space, backend, n_trials=n_trials * multiple,
                             seed=seed, direction=problem.direction, pruner=pruner, show_progress=False)
    return study, time.perf_counter() - start


def median_interval(values: list[float]) -> tuple[float, float]:
    """95 % percentile-bootstrap interval of the median."""
    return bootstrap_ci(np.asarray(values), np.median, rng=np.random.default_rng(0))


def worse_p(pruned: list[float], full: list[float]) -> float:
    """One-sided paired Wilcoxon p-value for "pruned ends with a larger loss" (1 if all equal)."""
    diff = np.asarray(pruned) - np.asarray(full)
    return 1.0 if not np.any(diff) else float(wilcoxon(diff, alternative="greater").pvalue)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--trials", type=int, default=None, help="trials per run (default: per problem)")
    parser.add_argument("--problems", nargs="*", default=list(KINDS), choices=list(KINDS))
    parser.add_argument("--backends", nargs="*", default=list(BACKENDS))
    parser.add_argument("--modes", nargs="*", default=["asha", "asha-r3"],
                        choices=[m for m in MODES if m != "full"], help="pruned modes beside 'full'")
    parser.add_argument("--out", default="bench-results/pruning")
    args = parser.parse_args()
    logging.getLogger("unitune").setLevel(logging.WARNING)
    warnings.simplefilter("ignore")
    modes = ["full", *args.modes]
    print(f"max_resource={MAX_EPOCHS}, reduction_factor=3; medians over {args.seeds} seeds; "
          "resource = epochs summed over trials; values are losses.\n'best' = median final best [95 % "
          "interval of the median]; 'diff' = median over seeds of (pruned - full) final best; 'p' = paired "
          "Wilcoxon, one-sided for 'pruned worse'; 'w/b' = seeds worse/better; 'reach' = resource until "
          "the best matches the median final best of random search without pruning.\ntarget = at least "
          f"{TARGET:g}x less resource, median within or below the unpruned median's interval, p >= 0.05.\n")
    print(f"{'problem':14} {'backend':13} {'mode':8} {'N':>3} {'resource':>8} {'saved':>6} {'wall s':>7} "
          f"{'best [95% interval]':>28} {'diff':>8} {'p':>6} {'w/b':>5} {'reach':>6}  target")
    verdicts = []
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    records = (out / "savings.jsonl").open("w")  # closed at the end; flushed per mode
    for name in args.problems:
        problem = make_fidelity_problem(KINDS[name])
        n_trials = args.trials or TRIALS[name]
        for backend in args.backends:  # warm-up: imports and caches out of the timings
            run(problem, backend, 0, 1, "full")
        results = {(b, m): [run(problem, b, seed, n_trials, m) for seed in range(args.seeds)]
                   for b in args.backends for m in modes}
        sign = problem.sign
        level = statistics.median(sign * s.best_value for s, _ in results[args.backends[0], "full"])
        curves = {}
        for backend in args.backends:
            full_best = [sign * s.best_value for s, _ in results[backend, "full"]]
            full_resource = statistics.median(total_resource(s.trials) for s, _ in results[backend, "full"])
            low, high = median_interval(full_best)
            for mode in modes:
                runs = results[backend, mode]
                curves[f"{backend} {mode}"] = [anytime_by_resource(s.trials, sign) for s, _ in runs]
                best = [sign * s.best_value for s, _ in runs]
                spent = [total_resource(s.trials) for s, _ in runs]
                for seed, (study, wall) in enumerate(runs):
                    records.write(json.dumps({
                        "problem": name, "backend": backend, "mode": mode, "seed": seed, "best": best[seed],
                        "trials": len(study.trials), "resource": spent[seed], "wall_s": wall,
                        "states": dict(Counter(t.state.name for t in study.trials))}) + "\n")
                records.flush()
                resource = statistics.median(spent)
                wall = statistics.median(w for _, w in runs)
                reach = statistics.median(resource_to_reach(s.trials, level, sign) for s, _ in runs)
                median = statistics.median(best)
                head = (f"{name:14} {backend:13} {mode:8} {n_trials * MODES[mode][1]:>3} {resource:>8.0f} "
                        f"{full_resource / resource:>5.2f}x {wall:>7.1f}")
                if mode == "full":
                    print(f"{head} {f'{median:.4f} [{low:.4f}, {high:.4f}]':>28} {'':>8} {'':>6} {'':>5} "
                          f"{_fmt(reach):>6}")
                    continue
                diff = statistics.median(b - f for b, f in zip(best, full_best))
                p = worse_p(best, full_best)
                worse = sum(b > f for b, f in zip(best, full_best))
                better = sum(b < f for b, f in zip(best, full_best))
                met = full_resource / resource >= TARGET and median <= high and p >= 0.05
                verdicts.append((name, backend, mode, met))
                print(f"{head} {median:>28.4f} {diff:>+8.4f} {p:>6.3f} {worse:>2}/{better:<2} "
                      f"{_fmt(reach):>6}  {'met' if met else 'MISSED'}", flush=True)
        path = plot_best_vs_resource(curves, out / f"{name}_best_vs_resource.png",
                                     title=f"{name}: best loss against resource")
        print(f"{'':14} plot: {path}", flush=True)
    for mode in args.modes:
        missed = [f"{n} {b}" for n, b, m, ok in verdicts if m == mode and not ok]
        total = sum(m == mode for _, _, m, _ in verdicts)
        print(f"\n{mode}: target met on {total - len(missed)} of {total} problem x backend pairs"
              + (f"; missed: {', '.join(missed)}" if missed else ""))
    records.close()


def _fmt(value: float) -> str:
    return "never" if math.isinf(value) else format(value, ".0f")


if __name__ == "__main__":
    main()
