"""Parallel speedup and the idle cost of ``deterministic=True``, measured side by side in one run.

1. Speedup on an objective that sleeps 0.2 s (random search, so the driver's own work is tiny):
   - 1 worker: ``executor="processes", batch_size=1`` (a 1-process pool unitune owns);
   - 2 process workers: ``executor="processes", batch_size=2``;
   - a 2-worker Dask LocalCluster on 127.0.0.1 (processes, one thread each,
     ``client.get_executor(pure=False)``, batch 2).
   Target: >= 1.9x for 2 workers on 2 cores. Beside it, the Dask floor measured in the same run:
   bare ``client.submit(time.sleep, 0.2)`` tasks without unitune, kept k in flight with
   ``distributed.as_completed`` (k = 2, and k = what unitune keeps in flight on Dask), and the
   ratio unitune-on-Dask / floor; and unitune on Dask with exactly 2 trials in flight (nothing
   queued behind the running ones, as unitune did before it queued one per worker thread).
   Every executor runs a short warm-up first (process start-up, imports in the Dask workers),
   so that only steady running is compared; an owned process pool is still started inside
   each timed call, as users pay it.
2. Idle cost of ``deterministic=True``: trials last 0.05 to 0.35 s (set by the parameters, so
   the same in both modes); the free-running loop refills a worker as soon as it is free, the
   deterministic one waits for the slowest trial of each batch. Prints wall time and the share
   of worker time spent idle (1 - busy / (workers x wall)).

Usage: ``uv run python benchmarks/scripts/parallel_speedup.py [--trials 40] [--repeat 2]``.
"""

from __future__ import annotations

import argparse
import time

import unitune
from unitune import Float, Study

SPACE = {"x": Float(0.0, 1.0)}


def sleepy(params):
    time.sleep(0.2)
    return params["x"]


def uneven(params):
    time.sleep(0.05 + 0.3 * params["x"])
    return params["x"]


def wall(objective, n_trials: int, batch_size: int, executor, deterministic: bool = False) -> float:
    study = Study(SPACE, "random", seed=0)
    start = time.perf_counter()
    study.optimize(objective, n_trials=n_trials, batch_size=batch_size, executor=executor,
                   deterministic=deterministic)
    elapsed = time.perf_counter() - start
    done = [t for t in study.trials if t.state is unitune.TrialState.COMPLETE]
    if len(done) != n_trials:
        raise RuntimeError(f"only {len(done)} of {n_trials} trials completed")
    return elapsed


def bare(client, n_tasks: int, in_flight: int) -> float:
    """Dask alone: ``n_tasks`` sleeps of 0.2 s, ``in_flight`` at a time, each result fetched."""
    import distributed

    start = time.perf_counter()
    pending = distributed.as_completed([client.submit(time.sleep, 0.2, pure=False)
                                        for _ in range(min(in_flight, n_tasks))])
    submitted = min(in_flight, n_tasks)
    for future in pending:
        future.result()
        if submitted < n_tasks:
            pending.add(client.submit(time.sleep, 0.2, pure=False))
            submitted += 1
    return time.perf_counter() - start


def busy_time(n_trials: int) -> float:
    study = Study(SPACE, "random", seed=0)  # the same configurations as every run above
    handles = study.ask_batch(n_trials)
    return sum(0.05 + 0.3 * h.params["x"] for h in handles)


def best(repeat: int, run) -> float:
    return min(run() for _ in range(repeat))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=40)
    parser.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args()
    n, r = args.trials, args.repeat

    import distributed

    from unitune.execution import DaskRunner, runners

    queued = runners._QUEUED_PER_THREAD

    print(f"speedup: {n} trials of a 0.2 s objective, best of {r}")
    wall(sleepy, 2, 1, "processes")  # warm-up: imports, first pool
    one = best(r, lambda: wall(sleepy, n, 1, "processes"))
    two = best(r, lambda: wall(sleepy, n, 2, "processes"))
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                                  dashboard_address=None) as cluster, distributed.Client(cluster) as client:
        executor = client.get_executor(pure=False)
        kept = DaskRunner(executor).slots(2)  # trials unitune keeps in flight for batch_size=2
        wall(sleepy, 4, 2, executor)  # warm-up: the workers import unitune and the objective
        bare(client, 4, 2)
        dask_two = best(r, lambda: wall(sleepy, n, 2, executor))
        runners._QUEUED_PER_THREAD = 0  # as before: exactly batch_size trials in flight
        try:
            dask_exact = best(r, lambda: wall(sleepy, n, 2, executor))
        finally:
            runners._QUEUED_PER_THREAD = queued
        floor_two = best(r, lambda: bare(client, n, 2))
        floor_kept = best(r, lambda: bare(client, n, kept))
    sleeps = n * 0.2

    def row(label: str, seconds: float, note: str = "") -> None:
        print(f"  {label:<44} {seconds:6.2f} s  speedup {one / seconds:5.2f}x  {note}")

    print(f"  {'1 process worker':<44} {one:6.2f} s  (the sleeps alone: {sleeps:.2f} s)")
    row("2 process workers", two)
    row(f"2 Dask workers ({kept} trials kept in flight)", dask_two)
    row("2 Dask workers, 2 in flight (nothing queued)", dask_exact)
    row("Dask floor: bare tasks, 2 in flight", floor_two, f"unitune / floor {dask_two / floor_two:5.2f}x")
    row(f"Dask floor: bare tasks, {kept} in flight", floor_kept,
        f"unitune / floor {dask_two / floor_kept:5.2f}x")
    print(f"  (bare Dask, 2 in flight: a worker waits {(2 * floor_two / n - 0.2) * 1000:.0f} ms between "
          "one task's end and its next task's start)")

    busy = busy_time(n)
    print(f"\ndeterministic=True idle cost: {n} trials of 0.05-0.35 s ({busy:.2f} s of work), best of {r}")
    for workers in (2, 4):
        free = best(r, lambda w=workers: wall(uneven, n, w, "processes"))
        fixed = best(r, lambda w=workers: wall(uneven, n, w, "processes", deterministic=True))
        print(f"  {workers} workers  free-running {free:6.2f} s (idle {1 - busy / (workers * free):5.1%})"
              f"   deterministic {fixed:6.2f} s (idle {1 - busy / (workers * fixed):5.1%})"
              f"   cost {fixed / free:5.2f}x wall time")


if __name__ == "__main__":
    main()
