"""What ASHA saves: total resource, wall time and final best value, with and without pruning.

On the multi-fidelity problems (``unitune_bench.fidelity``), for random, optuna.tpe and
hyperopt.tpe, each (problem, backend, seed) runs three times in this one process, side by side:
N trials trained to the full resource, N trials under ``ASHA(min_resource=1, reduction_factor=3,
max_resource=27)``, and 3N trials under ASHA. Printed per problem and backend (medians over
seeds): total resource (epochs summed over trials), wall time, final best value, and the
resource each run needed to reach the median final value of random search without pruning. A
plot of best value against cumulative resource is written per problem.

    uv run python benchmarks/scripts/pruning_savings.py                 # the measured run
    uv run python benchmarks/scripts/pruning_savings.py --seeds 1 --trials 8 --problems mf-branin
"""

from __future__ import annotations

import argparse
import logging
import math
import statistics
import time
import warnings
from pathlib import Path

from unitune_bench.fidelity import (
    MAX_EPOCHS,
    anytime_by_resource,
    make_fidelity_problem,
    plot_best_vs_resource,
    resource_to_reach,
    total_resource,
)

import unitune
from unitune.pruners import ASHA

KINDS = {"mf-branin": "branin", "mf-sgd-digits": "sgd", "mf-mlp-digits": "mlp"}
TRIALS = {"mf-branin": 60, "mf-sgd-digits": 30, "mf-mlp-digits": 15}
BACKENDS = ("random", "optuna.tpe", "hyperopt.tpe")


MODES = ("full", "asha", "asha3x")  # every trial to the end; ASHA with the same trials; ASHA with 3x


def run(problem, backend: str, seed: int, n_trials: int, mode: str):
    pruner = None if mode == "full" else ASHA(min_resource=1, reduction_factor=3, max_resource=MAX_EPOCHS)
    trials = n_trials * 3 if mode == "asha3x" else n_trials
    start = time.perf_counter()
    study = unitune.optimize(problem.objective, problem.space, backend, n_trials=trials, seed=seed,
                             direction=problem.direction, pruner=pruner, show_progress=False)
    return study, time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--trials", type=int, default=None, help="trials per run (default: per problem)")
    parser.add_argument("--problems", nargs="*", default=list(KINDS))
    parser.add_argument("--backends", nargs="*", default=list(BACKENDS))
    parser.add_argument("--out", default="bench-results/pruning")
    args = parser.parse_args()
    logging.getLogger("unitune").setLevel(logging.WARNING)
    warnings.simplefilter("ignore")
    print(f"ASHA(min_resource=1, reduction_factor=3, max_resource={MAX_EPOCHS}); medians over "
          f"{args.seeds} seeds; resource = epochs summed over trials.\nColumns: full = N trials to the "
          "end | ASHA = N trials with ASHA | ASHA 3N = 3N trials with ASHA. 'to reach' = resource "
          "until the best matches the median final best of random search without pruning.\n")
    print(f"{'problem':15} {'backend':13} {'N':>3}  {'resource full|ASHA|ASHA 3N':>27} "
          f"{'saved':>6}  {'wall s full|ASHA|3N':>20}  {'best value full|ASHA|ASHA 3N':>31}  "
          f"{'to reach full|ASHA|3N':>22}")
    summary = []
    for name in args.problems:
        problem = make_fidelity_problem(KINDS[name])
        n_trials = args.trials or TRIALS[name]
        for backend in args.backends:  # warm-up: imports and caches out of the timings
            run(problem, backend, 0, 1, "full")
        results = {(b, m): [run(problem, b, seed, n_trials, m) for seed in range(args.seeds)]
                   for b in args.backends for m in MODES}
        sign = problem.sign
        level = statistics.median(sign * s.best_value for s, _ in results[args.backends[0], "full"])
        curves = {}
        for backend in args.backends:
            med = {}
            for mode in MODES:
                runs = results[backend, mode]
                med[mode] = (statistics.median(total_resource(s.trials) for s, _ in runs),
                             statistics.median(w for _, w in runs),
                             statistics.median(s.best_value for s, _ in runs),
                             statistics.median(resource_to_reach(s.trials, level, sign) for s, _ in runs))
                curves[f"{backend} {mode}"] = [anytime_by_resource(s.trials, sign) for s, _ in runs]
            res, wall, best, reach = ([med[m][i] for m in MODES] for i in range(4))
            summary.append((name, backend, res[0] / res[1], best))
            print(f"{name:15} {backend:13} {n_trials:>3}  {_join(res, '.0f'):>27} {res[0] / res[1]:>5.2f}x"
                  f"  {_join(wall, '.1f'):>20}  {_join(best, '.4f'):>31}  {_join(reach, '.0f'):>22}")
        path = plot_best_vs_resource(curves, Path(args.out) / f"{name}_best_vs_resource.png",
                                     title=f"{name}: best loss against resource")
        print(f"{'':15} plot: {path}")
    ratios = [r for _, _, r, _ in summary]
    print(f"\nresource saved by ASHA (same N): median {statistics.median(ratios):.2f}x "
          f"(min {min(ratios):.2f}x, max {max(ratios):.2f}x) over {len(ratios)} problem x backend pairs")


def _join(values, spec: str) -> str:
    return "|".join(_fmt(v, spec) for v in values)


def _fmt(value: float, spec: str) -> str:
    return "never" if math.isinf(value) else format(value, spec)


if __name__ == "__main__":
    main()
