"""Every adapter against its native library, side by side, found through the entry points.

For each backend family registered under ``unitune.backends`` whose package has a ``native``
module (``unitune_<lib>/native.py``: ``run(algorithm, space, objective, n_trials, seed)`` and
``CASES``, the same in every adapter), each listed algorithm runs the same cheap 5-dimensional
Rosenbrock objective through ``unitune.optimize`` and through the library's own loop, with the
same seed, in interleaved rounds (one native run and one unitune run per round, the side that
goes first alternating, each round on its own seed), and checks that both sides proposed the
same points. BLAS is limited to one thread on both sides.

Reading the figures. On a shared machine a run is slowed by whatever else runs at that moment,
by 10 % or more, and unevenly: with wall-clock seconds and the median of 5 per-round ratios (what
this script printed before), the figures moved by 0.1 between two quiet runs, and could disagree
with the ratio of their own median seconds (optuna.tpe once gave 1.095 with medians of 1.153 s
native and 1.076 s unitune). Two changes make them steadier. Time is the process's CPU time
(``time.process_time``, every thread of the process; ``--clock wall`` for wall-clock seconds), so
the time a run spends waiting for a core while other jobs run is not counted; caches and the
shared cores still add some. And interference only ever adds time, so the figure this script
bases its verdict on is the ratio of the two minimums (``min ratio``, the usual choice for an
overhead), over at least ``--min-rounds`` interleaved rounds. It also
prints the ratio of the medians, the median of the paired per-round ratios with their
interquartile range (how noisy the rounds were), and unitune's overhead per trial in
microseconds, ``(unitune s - native s) / trials`` from the minimums: the honest figure when the
library's own cost dominates (a ratio near 1 hides a fixed cost; a cost of some microseconds
is no overhead worth chasing at milliseconds a trial). ``load`` is the 1-minute load average
before and after each algorithm's rounds: quote it with the figures. Even CPU-time minimums
scatter by several per cent on a loaded machine (6 rounds at load 5: hyperopt.tpe gave a min
ratio of 1.051 with a median paired ratio of 0.957), so the script first prints the one figure
that load barely moves: unitune's own cost per trial (study loop and kit around a backend that
does nothing, the objective's time subtracted), about 30 us. An adapter adds its codec and
bookkeeping to it (a few microseconds; the library's own calls are the same on both sides, as a
cProfile call count shows), so ``1 + that / native cost per trial`` bounds the true ratio.

The heap is frozen (``gc.freeze()``) after each algorithm's warm-up. This process imports every
adapter's library (about 244,000 objects tracked by the collector); a full collection scans them
all, about 0.15 s. In 200 trials of nevergrad.cma the unitune side kept just enough more objects
(trial records) to cross the collector's full-collection threshold once and the native side did
not: 0.22 s of collection against 0.07 s, which alone made CMA look 7 to 15 % slower through
unitune (ratios of 1.14 to 1.26 in every run, quiet or loaded). With the import-time heap frozen
both sides spend the same ~0.09 s collecting. A threshold artefact of this script's process, not
a per-trial cost of unitune's.

Goal: ``min ratio`` <= 1.02 wherever the native cost per trial (``ms/trial``, from the native
minimum) is above 1 ms; ``goal`` says ``ok``, ``MISSED`` or ``-`` (native under 1 ms a trial).
Rounds continue until ``--rounds`` are done; an algorithm whose rounds take long (skopt's
models) stops after ``--min-rounds`` once ``--max-seconds`` have passed. The exit status is 1 when
any algorithm proposed different points on the two sides.

    uv run --no-sync python benchmarks/scripts/adapter_overhead.py [--rounds 10] [--only nevergrad]
"""

from __future__ import annotations

import argparse
import gc
import importlib
import logging
import os
import statistics
import sys
import time
import warnings
from typing import Any

import unitune
from unitune import Float, Space
from unitune.registry import list_backends, load_backend_class

DIMS = 5
SPACE = Space({f"x{i}": Float(-5.0, 5.0) for i in range(DIMS)})
NAMES = list(SPACE)
GOAL = 1.02


def objective(params: dict[str, Any]) -> float:
    """A cheap 5-dimensional Rosenbrock function."""
    x = [params[name] for name in NAMES]
    return sum(100.0 * (x[i + 1] - x[i] ** 2) ** 2 + (1.0 - x[i]) ** 2 for i in range(DIMS - 1))


def native_modules() -> dict[str, Any]:
    """family -> its adapter's ``native`` module, for every installed family that has one."""
    found = {}
    for info in list_backends():
        if not info.installed:
            continue
        package = load_backend_class(info.name).__module__.rsplit(".", 1)[0]
        try:
            found[info.name] = importlib.import_module(f"{package}.native")
        except ModuleNotFoundError:
            continue  # a native backend (random, grid): no library to compare with
    return found


CLOCKS = {"cpu": time.process_time, "wall": time.perf_counter}


def _timed(clock, fn, *args) -> tuple[float, list[dict[str, Any]]]:
    gc.collect()
    start = clock()
    proposals = fn(*args)
    return clock() - start, proposals


def _unitune(name: str, n_trials: int, seed: int) -> list[dict[str, Any]]:
    study = unitune.optimize(
        objective, SPACE, backend=name, seed=seed, n_trials=n_trials, show_progress=False
    )
    return [dict(t.params) for t in study.trials]


def floor_us(n_trials: int = 2000, repeats: int = 7) -> float:
    """unitune's own cost per trial in microseconds (minimum CPU time): the study loop and the
    adapter kit around a backend that proposes a fixed point and learns nothing, on the same
    space and objective (the objective's own time subtracted). What an adapter costs beyond
    this is its codec and bookkeeping, a few microseconds more."""
    from unitune.backend import Algorithm
    from unitune.kit import KitBackend

    point = dict.fromkeys(NAMES, 0.5)

    class Null(KitBackend):
        name = "null"
        algorithms = {"null": Algorithm("proposes one fixed point")}

        def propose(self, numbers):
            return [self.proposal(number, dict(point)) for number in numbers]

        def learn(self, trial, native):
            pass

    def study():
        unitune.optimize(objective, SPACE, backend=Null, seed=0, n_trials=n_trials, show_progress=False)

    def bare():
        for _ in range(n_trials):
            objective(dict(point))

    best = {}
    for fn in (study, bare):
        best[fn] = min(_timed(time.process_time, fn)[0] for _ in range(repeats))
    return 1e6 * (best[study] - best[bare]) / n_trials


def _quartiles(values: list[float]) -> tuple[float, float]:
    if len(values) < 2:
        return values[0], values[0]
    q1, _, q3 = statistics.quantiles(values, n=4, method="inclusive")
    return q1, q3


def measure(
    native: Any, family: str, algorithm: str, n_trials: int, args: argparse.Namespace
) -> dict[str, Any]:
    """Interleaved rounds of one algorithm; the figures this script prints."""
    name = f"{family}.{algorithm}"
    native.run(algorithm, SPACE, objective, 10, args.seed)  # warm-up: imports, caches
    _unitune(name, 10, args.seed)
    gc.collect()
    gc.freeze()  # the import-time heap leaves the collector's reach (see the module docstring)
    load_before = os.getloadavg()[0]
    natives, unitunes, same = [], [], True
    started = time.monotonic()
    for round_ in range(args.rounds):
        if round_ >= args.min_rounds and time.monotonic() - started > args.max_seconds:
            break
        seed = args.seed + round_
        sides = [
            ("native", native.run, (algorithm, SPACE, objective, n_trials, seed)),
            ("unitune", _unitune, (name, n_trials, seed)),
        ]
        if round_ % 2:
            sides.reverse()
        results = {side: _timed(CLOCKS[args.clock], fn, *fn_args) for side, fn, fn_args in sides}
        (n_s, n_points), (u_s, u_points) = results["native"], results["unitune"]
        natives.append(n_s)
        unitunes.append(u_s)
        same = same and n_points == u_points
    ratios = [u / n for u, n in zip(unitunes, natives)]
    n_min, u_min = min(natives), min(unitunes)
    return {
        "name": name,
        "trials": n_trials,
        "rounds": len(natives),
        "native_s": n_min,
        "unitune_s": u_min,
        "ms_per_trial": 1000 * n_min / n_trials,
        "min_ratio": u_min / n_min,
        "median_ratio": statistics.median(unitunes) / statistics.median(natives),
        "paired": statistics.median(ratios),
        "paired_iqr": _quartiles(ratios),
        "overhead_us": 1e6 * (u_min - n_min) / n_trials,
        "same": same,
        "load": (load_before, os.getloadavg()[0]),
    }


HEADER = (
    f"{'backend':<21}{'trials':>6}{'rounds':>7}{'native s':>9}{'unitune s':>10}{'ms/trial':>9}"
    f"{'min ratio':>10}{'med ratio':>10}{'paired (IQR)':>22}{'us/trial':>9}  goal   same  load"
)


def row(r: dict[str, Any]) -> str:
    """One line of the table (seconds are the minimums over the rounds)."""
    q1, q3 = r["paired_iqr"]
    goal = "-" if r["ms_per_trial"] <= 1.0 else ("ok" if r["min_ratio"] <= GOAL else "MISSED")
    paired = f"{r['paired']:.3f} ({q1:.3f}-{q3:.3f})"
    return (
        f"{r['name']:<21}{r['trials']:>6}{r['rounds']:>7}{r['native_s']:>9.3f}{r['unitune_s']:>10.3f}"
        f"{r['ms_per_trial']:>9.2f}{r['min_ratio']:>10.3f}{r['median_ratio']:>10.3f}{paired:>22}"
        f"{r['overhead_us']:>9.0f}  {goal:<7}{'yes' if r['same'] else 'NO':<6}"
        f"{r['load'][0]:.1f}-{r['load'][1]:.1f}"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=10, help="interleaved rounds per algorithm")
    parser.add_argument(
        "--min-rounds", type=int, default=3, help="rounds always run, even past --max-seconds"
    )
    parser.add_argument(
        "--max-seconds",
        type=float,
        default=120.0,
        help="after --min-rounds, stop an algorithm's rounds once this much time passed",
    )
    parser.add_argument("--only", nargs="+", default=None, help="families (or family.algorithm) to run")
    parser.add_argument("--trials", type=int, default=None, help="trials per run instead of each CASES entry")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--clock",
        choices=sorted(CLOCKS),
        default="cpu",
        help="cpu: the process's CPU time (default); wall: wall-clock time",
    )
    args = parser.parse_args()
    if args.rounds < 1 or args.min_rounds < 1:
        parser.error("--rounds and --min-rounds must be at least 1")
    warnings.simplefilter("ignore")
    logging.getLogger("hyperopt").setLevel(logging.WARNING)
    try:
        import optuna
    except ImportError:
        pass
    else:
        optuna.logging.set_verbosity(optuna.logging.WARNING)  # both sides equally quiet
    from threadpoolctl import threadpool_limits

    print(
        f"python {sys.version.split()[0]}, {os.cpu_count()} cores; {args.clock} seconds, minimums over "
        f"the rounds; goal: min ratio <= {GOAL} where native ms/trial > 1",
        flush=True,
    )
    print(
        f"unitune's own cost per trial (study loop and kit, a backend doing nothing): "
        f"{floor_us():.0f} us (cpu)",
        flush=True,
    )
    print(HEADER, flush=True)
    status = 0
    with threadpool_limits(limits=1):
        for family, native in native_modules().items():
            for algorithm, n_trials in native.CASES.items():
                if args.only and family not in args.only and f"{family}.{algorithm}" not in args.only:
                    continue
                result = measure(native, family, algorithm, args.trials or n_trials, args)
                status = status or (not result["same"])
                print(row(result), flush=True)
    return status


if __name__ == "__main__":
    sys.exit(main())
