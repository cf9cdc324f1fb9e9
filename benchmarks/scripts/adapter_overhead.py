"""Every adapter against its native library, side by side, found through the entry points.

For each backend family registered under ``unitune.backends`` whose package has a ``native``
module (``unitune_<lib>/native.py``: ``run(algorithm, space, objective, n_trials, seed)`` and
``CASES``, the same in every adapter), each listed algorithm runs the same cheap 5-dimensional
Rosenbrock objective through ``unitune.optimize`` and through the library's own loop, with the
same seed, interleaved (the side that goes first alternates). It prints the median native and
unitune seconds, the native cost per trial, and the median of the per-repeat ratios
unitune/native, and checks that both sides proposed the same points. BLAS is limited to one
thread on both sides. Goal: ratio <= 1.02 where the native cost per trial is above 1 ms.

    uv run python benchmarks/scripts/adapter_overhead.py [--repeats 5] [--only optuna skopt]
"""

from __future__ import annotations

import argparse
import gc
import importlib
import logging
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


def _timed(fn, *args) -> tuple[float, list[dict[str, Any]]]:
    gc.collect()
    start = time.perf_counter()
    proposals = fn(*args)
    return time.perf_counter() - start, proposals


def _unitune(name: str, n_trials: int, seed: int) -> list[dict[str, Any]]:
    study = unitune.optimize(objective, SPACE, backend=name, seed=seed, n_trials=n_trials,
                             show_progress=False)
    return [dict(t.params) for t in study.trials]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5, help="timed repeats per algorithm")
    parser.add_argument("--only", nargs="+", default=None, help="families to run")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    logging.getLogger("hyperopt").setLevel(logging.WARNING)
    try:
        import optuna
    except ImportError:
        pass
    else:
        optuna.logging.set_verbosity(optuna.logging.WARNING)  # both sides equally quiet
    from threadpoolctl import threadpool_limits

    print(f"{'backend':<18}{'trials':>7}{'native s':>10}{'unitune s':>11}{'ms/trial':>10}{'ratio':>8}"
          "  same points", flush=True)
    status = 0
    with threadpool_limits(limits=1):
        for family, native in native_modules().items():
            if args.only and family not in args.only:
                continue
            for algorithm, n_trials in native.CASES.items():
                name = f"{family}.{algorithm}"
                native.run(algorithm, SPACE, objective, 10, args.seed)  # warm-up: imports, caches
                _unitune(name, 10, args.seed)
                natives, unitunes, ratios, same = [], [], [], True
                for repeat in range(args.repeats):
                    seed = args.seed + repeat
                    sides = [("native", native.run, (algorithm, SPACE, objective, n_trials, seed)),
                             ("unitune", _unitune, (name, n_trials, seed))]
                    if repeat % 2:
                        sides.reverse()
                    results = {side: _timed(fn, *fn_args) for side, fn, fn_args in sides}
                    (n_s, n_points), (u_s, u_points) = results["native"], results["unitune"]
                    natives.append(n_s)
                    unitunes.append(u_s)
                    ratios.append(u_s / n_s)
                    same = same and n_points == u_points
                status = status or (not same)
                native_s = statistics.median(natives)
                print(f"{name:<18}{n_trials:>7}{native_s:>10.3f}{statistics.median(unitunes):>11.3f}"
                      f"{1000 * native_s / n_trials:>10.2f}{statistics.median(ratios):>8.3f}  "
                      f"{'yes' if same else 'NO'}", flush=True)
    return status


if __name__ == "__main__":
    sys.exit(main())
