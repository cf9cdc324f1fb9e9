"""Every adapter against its native library, side by side, found through the entry points.

For each backend family registered under ``unitune.backends`` whose package has a ``native``
module (``unitune_<lib>/native.py``: ``run(algorithm, space, objective, n_trials, seed)`` and
``CASES``, the same in every adapter), each listed algorithm runs the same cheap 5-dimensional
Rosenbrock objective through ``unitune.optimize`` and through the library's own loop, with the
same seed, after a warm-up past every model's start-up phase and with the heap frozen
(``gc.freeze()``) after it. BLAS is limited to one thread.

The measures, each with the goal ``ratio <= 1.02`` wherever the native cost per trial is above
1 ms (``goal``: ``ok``, ``MISSED``, or ``-`` under 1 ms):

- Time (default): the two sides run in lockstep (``unitune_bench.lockstep``): two threads that
  take turns at every objective call, so each side's trial runs next to the other's and whatever
  slows the machine slows both; each side's cost is its thread's CPU time. Each round is a
  crossover: native in the new thread and unitune in the main one, then the other way round
  (the main thread alone costs a few per cent more: ``main/thread`` prints unitune/native in each
  orientation); the round's ratio is the geometric mean of the two, in which the thread's share
  cancels. No full garbage collection runs while the two sides run (young ones do; a full one
  between runs): the two threads share the collector, and the one full collection of a run walks
  both sides' heaps yet is paid by whichever side triggers it, 2-3 % of a side (docs/backends.md
  has the measurement). For the same reason the young collections' CPU time is left out of the
  side that set them off (``unitune_bench.lockstep.CollectorClock``); ``gc n/u`` prints how many
  each side set off, median a run. The verdict is on the median of the rounds' ratios, printed with its
  95 % bootstrap interval; also printed: the median seconds of a run, unitune's overhead in
  microseconds per trial and the load average. Checks that both sides proposed the same
  points (exit status 1 if not). First line: unitune's own cost per trial (the study loop and
  the kit around a backend that does nothing), warm and cold (the cold one the median of
  ``--floor-rounds`` lockstep rounds, 8 by default).
- Time in two processes (``--processes``): each side in a process of its own, forked for the
  round (its own heap and garbage collector, running; warm-up and ``gc.freeze()`` in it), costed
  by its process's CPU time, helper threads included (NGOpt's recast optimizers compute in
  one); a round is native first, then unitune first (``second/first``). It counts everything,
  but two processes lay out memory differently: Nevergrad's loop against itself scatters by
  about +-5 % a round here, against +-0.5 % for two threads.
- A/A (``--aa``, with either time measure): the native loop against itself, in the same
  columns: how far the measure alone strays from 1 and how much it scatters, next to the
  verdicts it gives.
- The adapter alone (``--adapter-alone``, with any measure): in unitune's place, the backend
  driven by hand through ``ask([number])`` / ``tell(Trial.complete(...))``, without the study
  (its loop, store, trial records, best trial). Next to a full run it splits unitune's overhead
  into the adapter's share and the study's.
- Instructions (``--instructions``): each algorithm's rounds run in a child process under
  valgrind's callgrind, which dumps its counters at a marker before and after every timed run,
  so each side's count holds exactly its own run. Deterministic: load, other processes, CPU
  frequency and caches do not change it (two rounds agree to 0.07 %). It counts the work each
  side executes, not the time the memory system adds; ``--cache-sim`` also simulates caches
  and prints last-level data misses per trial (an even number of rounds: the run that follows
  the warm-up misses more, so each side runs first as often). About 50x slower than the timed
  runs.

Why time alone cannot settle a 2 % goal on a shared 2-core machine, and what both measures gave:
docs/backends.md#adapter-overhead.

    uv run --no-sync python benchmarks/scripts/adapter_overhead.py [--rounds 10] [--only nevergrad]
    uv run --no-sync python benchmarks/scripts/adapter_overhead.py --aa --only nevergrad
    uv run --no-sync python benchmarks/scripts/adapter_overhead.py --adapter-alone --only nevergrad
    uv run --no-sync python benchmarks/scripts/adapter_overhead.py --instructions --only nevergrad
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import gc
import importlib
import json
import logging
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from unitune_bench.lockstep import crossover, run_lockstep_processes

import unitune
from unitune import Float, Space
from unitune.registry import list_backends, load_backend_class, make_backend
from unitune.trial import Trial

DIMS = 5
SPACE = Space({f"x{i}": Float(-5.0, 5.0) for i in range(DIMS)})
NAMES = list(SPACE)
GOAL = 1.02
#: Warm-up trials per side before anything is measured: past skopt's 10 initial random points, so
#: that every model's code (and its lazy imports) has run once.
WARM_UP = 12


def objective(params: dict[str, Any]) -> float:
    """A cheap 5-dimensional Rosenbrock function."""
    x = [params[name] for name in NAMES]
    return sum(100.0 * (x[i + 1] - x[i] ** 2) ** 2 + (1.0 - x[i]) ** 2 for i in range(DIMS - 1))


def native_modules(only: str | None = None) -> dict[str, Any]:
    """family -> its adapter's ``native`` module, for every installed family that has one (only
    family ``only`` when given, importing no other adapter's library)."""
    found = {}
    for info in list_backends():
        if not info.installed or (only is not None and info.name != only):
            continue
        package = load_backend_class(info.name).__module__.rsplit(".", 1)[0]
        try:
            found[info.name] = importlib.import_module(f"{package}.native")
        except ModuleNotFoundError:
            continue  # a native backend (random, grid): no library to compare with
    return found


def _timed(clock, fn, *args) -> tuple[float, list[dict[str, Any]]]:
    gc.collect()
    start = clock()
    proposals = fn(*args)
    return clock() - start, proposals


def _unitune(name: str, n_trials: int, seed: int, fn=objective) -> list[dict[str, Any]]:
    study = unitune.optimize(fn, SPACE, backend=name, seed=seed, n_trials=n_trials, show_progress=False)
    return [dict(t.params) for t in study.trials]


def _adapter_alone(name: str, n_trials: int, seed: int, fn=objective) -> list[dict[str, Any]]:
    """The backend without the study: each trial asked by number, evaluated, told COMPLETE."""
    backend = make_backend(name, SPACE, seed=seed)
    proposed = []
    try:
        for number in range(n_trials):
            (proposal,) = backend.ask([number])
            value = fn(dict(proposal.params))
            backend.tell(Trial.complete(number, proposal.params, value))
            proposed.append(dict(proposal.params))
    finally:
        backend.close()
    return proposed


def _unitune_run(args: argparse.Namespace) -> Any:
    """What runs in unitune's place: the study (``_unitune``) or, with ``--adapter-alone``, the
    backend alone."""
    return _adapter_alone if args.adapter_alone else _unitune


#: The point the null backend proposes at every trial.
NULL_POINT = dict.fromkeys(NAMES, 0.5)


def _null_backend() -> type:
    """A backend that proposes NULL_POINT and learns nothing: what is left is unitune."""
    from unitune.backend import Algorithm
    from unitune.kit import KitBackend

    class Null(KitBackend):
        name = "null"
        algorithms = {"null": Algorithm("proposes one fixed point")}

        def propose(self, numbers):
            return [self.proposal(number, dict(NULL_POINT)) for number in numbers]

        def learn(self, trial, native):
            pass

    return Null


def floor_us(n_trials: int = 2000, repeats: int = 7) -> float:
    """unitune's own cost per trial in microseconds, warm (minimum CPU time): the study loop and
    the adapter kit around a backend that proposes a fixed point and learns nothing, on the same
    space and objective (the objective's own time subtracted), trial after trial in a tight
    loop, so its code and data stay in the caches."""
    null, point = _null_backend(), NULL_POINT

    def study():
        unitune.optimize(objective, SPACE, backend=null, seed=0, n_trials=n_trials, show_progress=False)

    def bare():
        for _ in range(n_trials):
            objective(dict(point))

    best = {}
    for fn in (study, bare):
        best[fn] = min(_timed(time.process_time, fn)[0] for _ in range(repeats))
    return 1e6 * (best[study] - best[bare]) / n_trials


#: What the cold floor's objective streams through at every trial: more than the last-level cache.
COLD_BYTES = 24 * 2**20


def evicting_objective(n_bytes: int) -> Any:
    """:func:`objective`, after streaming through ``n_bytes`` of memory at every call, as a
    library's ask and tell walk their own objects: what unitune left in the caches is gone."""
    import numpy as np

    block = np.ones(n_bytes // 8)

    def evicting(params: dict[str, Any]) -> float:
        block.sum()
        return objective(params)

    return evicting


def cold_floor_us(n_trials: int = 300, rounds: int = 8) -> float:
    """The same cost, cold: each trial's objective first streams through COLD_BYTES (as a
    library's ask and tell walk their own objects), so unitune's code and data have left the
    caches by the next trial. The study against a bare loop calling the same objective, in
    lockstep crossover rounds; median of the rounds, in microseconds per trial."""
    null, point = _null_backend(), NULL_POINT
    evicting = evicting_objective(COLD_BYTES)

    def study(fn):
        unitune.optimize(fn, SPACE, backend=null, seed=0, n_trials=n_trials, show_progress=False)

    def bare(fn):
        for _ in range(n_trials):
            fn(dict(point))

    extra = []
    for _ in range(rounds):
        pair = crossover(evicting, bare, study, between=gc.collect)
        bare_s = sum(run.cpu_seconds for run in pair.a)
        study_s = sum(run.cpu_seconds for run in pair.b)
        extra.append(1e6 * (study_s - bare_s) / (2 * n_trials))
    return statistics.median(extra)


def _bootstrap_median_ci(values: list[float], resamples: int = 2000) -> tuple[float, float]:
    """95 % percentile-bootstrap interval of the median (fixed seed: the same table every time)."""
    rng = random.Random(0)
    medians = sorted(statistics.median(rng.choices(values, k=len(values))) for _ in range(resamples))
    return medians[int(0.025 * resamples)], medians[int(0.975 * resamples) - 1]


def _warmed_up(*warm_ups: Any) -> None:
    """Run each warm-up (imports, caches, every model's start-up phase), then freeze the heap:
    the import-time objects leave the collector's reach (see the module docstring)."""
    for warm_up in warm_ups:
        warm_up()
    gc.collect()
    gc.freeze()


def _prepared(loop, warm_up) -> Any:
    """In a side's process: one BLAS thread, quiet libraries, the warm-up run, the heap frozen;
    returns ``loop``, the timed run."""
    from threadpoolctl import threadpool_limits

    threadpool_limits(limits=1)
    _quiet_libraries()
    _warmed_up(warm_up)
    return loop


def _native_side(family: str, algorithm: str, n_trials: int, seed: int) -> Any:
    """Builds the native loop in its process (:func:`unitune_bench.lockstep.run_lockstep_processes`)."""
    native = native_modules(family)[family]
    return _prepared(
        lambda fn: native.run(algorithm, SPACE, fn, n_trials, seed),
        lambda: native.run(algorithm, SPACE, objective, WARM_UP, seed),
    )


def _unitune_side(name: str, n_trials: int, seed: int, run: Any = _unitune) -> Any:
    """Builds the unitune loop (``run``: :func:`_unitune_run`'s choice) in its process."""
    return _prepared(lambda fn: run(name, n_trials, seed, fn), lambda: run(name, WARM_UP, seed))


@contextlib.contextmanager
def full_collections_held() -> Iterator[None]:
    """No full (oldest-generation) garbage collection until the block ends; the young ones go on."""
    young, middle, oldest = gc.get_threshold()
    gc.set_threshold(young, middle, 2**31 - 1)
    try:
        yield
    finally:
        gc.set_threshold(young, middle, oldest)


def measure(
    native: Any, family: str, algorithm: str, n_trials: int, args: argparse.Namespace
) -> dict[str, Any]:
    """Rounds of one algorithm, each a lockstep crossover of the two sides; the figures printed.

    By default the sides are two threads of this process, with no full garbage collection while
    they run; ``--processes``: each side in a process of its own (its own heap and
    collector, costed by its process's CPU time)."""
    name = f"{family}.{algorithm}"
    run = _unitune_run(args)
    if not args.processes:
        _warmed_up(lambda: native.run(algorithm, SPACE, objective, WARM_UP, args.seed),
                   lambda: run(name, WARM_UP, args.seed))
    else:
        for module in load_backend_class(family).requires:  # imported once, before the processes fork
            importlib.import_module(module)
    load_before = os.getloadavg()[0]
    rounds, same = [], True
    started = time.monotonic()
    for round_ in range(args.rounds):
        if round_ >= args.min_rounds and time.monotonic() - started > args.max_seconds:
            break
        seed = args.seed + round_
        if not args.processes:

            def native_loop(fn, seed=seed):
                return native.run(algorithm, SPACE, fn, n_trials, seed)

            def unitune_loop(fn, seed=seed):
                return run(name, n_trials, seed, fn)

            if args.aa:  # the measure against itself: a second native loop in unitune's place
                unitune_loop = functools.partial(native_loop, seed=seed)

            with full_collections_held():
                pair = crossover(objective, native_loop, unitune_loop, between=gc.collect)
        else:
            pair = crossover(
                objective,
                functools.partial(_native_side, family, algorithm, n_trials, seed),
                functools.partial(_native_side, family, algorithm, n_trials, seed) if args.aa
                else functools.partial(_unitune_side, name, n_trials, seed, run),
                runner=run_lockstep_processes,
            )
        rounds.append(pair)
        same = same and all(n.result == u.result for n, u in zip(pair.a, pair.b))
    ratios = [pair.ratio for pair in rounds]
    native_s = [side.cpu_seconds for pair in rounds for side in pair.a]
    unitune_s = [side.cpu_seconds for pair in rounds for side in pair.b]
    slots = [pair.main_thread_ratios for pair in rounds]
    return {
        "name": name,
        "trials": n_trials,
        "rounds": len(rounds),
        "native_s": statistics.median(native_s),
        "unitune_s": statistics.median(unitune_s),
        "ms_per_trial": 1000 * statistics.median(native_s) / n_trials,
        "ratio": statistics.median(ratios),
        "ratio_ci": _bootstrap_median_ci(ratios),
        "overhead_us": 1e6 * (sum(unitune_s) - sum(native_s)) / (len(native_s) * n_trials),
        "slots": (statistics.median(m for m, _ in slots), statistics.median(w for _, w in slots)),
        "same": same,
        "load": (load_before, os.getloadavg()[0]),
        # young collections each side set off, median a run (threads: not counted in its seconds)
        "collections": (statistics.median(side.collections for pair in rounds for side in pair.a),
                        statistics.median(side.collections for pair in rounds for side in pair.b)),
    }


#: The C function whose every call makes callgrind dump its counters (``os.getloadavg``'s).
MARKER = "getloadavg"


def _callgrind_child(args: argparse.Namespace) -> int:
    """Inside callgrind: warm up, then one marker before and one after every timed side, so that
    every other dump file holds exactly one run; prints the sides in order and whether both
    proposed the same points, as JSON."""
    from threadpoolctl import threadpool_limits

    _quiet_libraries()
    family, algorithm = args.callgrind_child.split(".", 1)
    native = native_modules(family)[family]
    order, same = [], True
    run = _unitune_run(args)
    with threadpool_limits(limits=1):
        _warmed_up(lambda: native.run(algorithm, SPACE, objective, WARM_UP, args.seed),  # as measure()
                   lambda: run(args.callgrind_child, WARM_UP, args.seed))
        for round_ in range(args.rounds):
            seed = args.seed + round_
            sides = [("native", native.run, (algorithm, SPACE, objective, args.trials, seed)),
                     ("unitune", run, (args.callgrind_child, args.trials, seed))]
            proposed = {}
            for side, fn, fn_args in sides[::-1] if round_ % 2 else sides:
                gc.collect()
                os.getloadavg()  # dump: what came before (warm-up, collection) is left out
                proposed[side] = fn(*fn_args)
                os.getloadavg()  # dump: exactly this run
                order.append(side)
            same = same and proposed["native"] == proposed["unitune"]
    print(json.dumps({"order": order, "same": same}))
    return 0


def _dump_totals(path: Path) -> dict[str, int]:
    """Event -> count of one callgrind dump file (its ``events:`` and ``totals:`` lines)."""
    events, totals = [], []
    for line in path.read_text().splitlines():
        if line.startswith("events:"):
            events = line.split()[1:]
        elif line.startswith("totals:"):
            totals = [int(v) for v in line.split()[1:]]
    return dict(zip(events, totals))


def count_instructions(
    native: Any, family: str, algorithm: str, n_trials: int, args: argparse.Namespace
) -> dict[str, Any]:
    """Instructions each side executes, counted by valgrind's callgrind in a child process
    (deterministic: neither load nor other processes change them); with ``--cache-sim``, also
    the simulated last-level-cache data misses."""
    valgrind = shutil.which("valgrind")
    if valgrind is None:
        raise SystemExit("--instructions needs valgrind on the PATH (apt-get install valgrind)")
    name = f"{family}.{algorithm}"
    with tempfile.TemporaryDirectory(prefix="unitune-callgrind-") as folder:
        out = Path(folder) / "callgrind.out"
        command = [valgrind, "--tool=callgrind", f"--dump-before={MARKER}", f"--callgrind-out-file={out}",
                   f"--cache-sim={'yes' if args.cache_sim else 'no'}", sys.executable, __file__,
                   "--callgrind-child", name, "--trials", str(n_trials), "--rounds", str(args.rounds),
                   "--seed", str(args.seed), *(["--adapter-alone"] if args.adapter_alone else [])]
        env = {**os.environ, "PYTHONHASHSEED": "0"}  # the same string hashes in every child
        done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise SystemExit(f"{name}: callgrind child failed ({done.returncode}):\n{done.stderr[-2000:]}")
        child = json.loads(done.stdout.strip().splitlines()[-1])
        order = child["order"]
        # Dump k (file suffix k) holds what ran before the k-th marker: runs are dumps 2, 4, ...
        dumps = [_dump_totals(Path(f"{out}.{2 * (i + 1)}")) for i in range(len(order))]
    per_side: dict[str, list[dict[str, int]]] = {"native": [], "unitune": []}
    for side, dump in zip(order, dumps):
        per_side[side].append(dump)
    ratios = [u["Ir"] / n["Ir"] for n, u in zip(per_side["native"], per_side["unitune"])]
    result = {
        "name": name,
        "trials": n_trials,
        "rounds": len(ratios),
        "native_ir": statistics.median(d["Ir"] for d in per_side["native"]) / n_trials,
        "unitune_ir": statistics.median(d["Ir"] for d in per_side["unitune"]) / n_trials,
        "ratio": statistics.median(ratios),
        "ratio_range": (min(ratios), max(ratios)),
        "ms_per_trial": _native_ms_per_trial(native, algorithm, n_trials, args.seed),
        "same": child["same"],
    }
    if args.cache_sim:
        def misses(d: dict[str, int]) -> int:
            return d.get("DLmr", 0) + d.get("DLmw", 0)
        result["native_llmiss"] = statistics.median(misses(d) for d in per_side["native"]) / n_trials
        result["unitune_llmiss"] = statistics.median(misses(d) for d in per_side["unitune"]) / n_trials
    return result


def _native_ms_per_trial(native: Any, algorithm: str, n_trials: int, seed: int) -> float:
    """CPU milliseconds per trial of one native run (outside valgrind), for the goal's 1 ms test."""
    native.run(algorithm, SPACE, objective, WARM_UP, seed)
    seconds, _ = _timed(time.process_time, native.run, algorithm, SPACE, objective, n_trials, seed)
    return 1000 * seconds / n_trials


INSTRUCTION_HEADER = (
    f"{'backend':<21}{'trials':>6}{'rounds':>7}{'native Ir/trial':>16}{'unitune Ir/trial':>17}"
    f"{'ratio':>8}{'range':>15}{'extra Ir/trial':>15}{'ms/trial':>9}  goal   same"
)


def instruction_row(r: dict[str, Any]) -> str:
    """One line of the instruction-count table."""
    goal = "-" if r["ms_per_trial"] <= 1.0 else ("ok" if r["ratio"] <= GOAL else "MISSED")
    low, high = r["ratio_range"]
    line = (
        f"{r['name']:<21}{r['trials']:>6}{r['rounds']:>7}{r['native_ir']:>16,.0f}{r['unitune_ir']:>17,.0f}"
        f"{r['ratio']:>8.4f}{f'{low:.4f}-{high:.4f}':>15}{r['unitune_ir'] - r['native_ir']:>15,.0f}"
        f"{r['ms_per_trial']:>9.2f}  {goal:<7}{'yes' if r['same'] else 'NO'}"
    )
    if "native_llmiss" in r:
        line += f"   LL data misses/trial {r['native_llmiss']:,.0f} -> {r['unitune_llmiss']:,.0f}"
    return line


def header(processes: bool) -> str:
    """The table's column names (the orientations: threads or processes)."""
    slots = "second/first" if processes else "main/thread"
    return (
        f"{'backend':<21}{'trials':>6}{'rounds':>7}{'native s':>9}{'unitune s':>10}{'ms/trial':>9}"
        f"{'ratio [95% CI]':>24}{'us/trial':>9}{slots:>13}{'gc n/u':>10}  goal   same  load"
    )


def row(r: dict[str, Any]) -> str:
    """One line of the table (seconds: medians of the runs; ratio: median of the rounds)."""
    goal = "-" if r["ms_per_trial"] <= 1.0 else ("ok" if r["ratio"] <= GOAL else "MISSED")
    low, high = r["ratio_ci"]
    ratio = f"{r['ratio']:.3f} [{low:.3f}, {high:.3f}]"
    slots = f"{r['slots'][0]:.2f}/{r['slots'][1]:.2f}"
    collections = f"{r['collections'][0]:.0f}/{r['collections'][1]:.0f}" if any(r["collections"]) else "-"
    return (
        f"{r['name']:<21}{r['trials']:>6}{r['rounds']:>7}{r['native_s']:>9.3f}{r['unitune_s']:>10.3f}"
        f"{r['ms_per_trial']:>9.2f}{ratio:>24}{r['overhead_us']:>9.0f}{slots:>13}{collections:>10}  {goal:<7}"
        f"{'yes' if r['same'] else 'NO':<6}{r['load'][0]:.1f}-{r['load'][1]:.1f}"
    )


def _quiet_libraries() -> None:
    """The same quiet on both sides (Optuna logs every trial at INFO by default)."""
    warnings.simplefilter("ignore")
    logging.getLogger("hyperopt").setLevel(logging.WARNING)
    try:
        import optuna
    except ImportError:
        return
    optuna.logging.set_verbosity(optuna.logging.WARNING)


def _selected(args: argparse.Namespace) -> Iterator[tuple[Any, str, str, int]]:
    """(native module, family, algorithm, trials) for every case ``--only`` lets through."""
    for family, native in native_modules().items():
        for algorithm, n_trials in native.CASES.items():
            if args.only and family not in args.only and f"{family}.{algorithm}" not in args.only:
                continue
            yield native, family, algorithm, args.trials or n_trials


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--rounds", type=int, default=None, help="rounds per algorithm (10; 2 with --instructions)"
    )
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
        "--instructions",
        action="store_true",
        help="count instructions with valgrind's callgrind instead of timing (load-independent; "
        "about 50x slower)",
    )
    parser.add_argument(
        "--processes",
        action="store_true",
        help="time each side in a process of its own (own collector, helper threads counted; noisier)",
    )
    parser.add_argument(
        "--aa",
        action="store_true",
        help="time the native loop against itself (A/A): the measure's own bias and scatter, in the "
        "same columns ('unitune' is then a second native loop)",
    )
    parser.add_argument(
        "--adapter-alone",
        action="store_true",
        help="in unitune's place, the backend alone driven through ask/tell by hand, without the "
        "study: the adapter's share of the overhead",
    )
    parser.add_argument(
        "--cache-sim", action="store_true",
        help="with --instructions: also simulate caches (an even number of --rounds)",
    )
    parser.add_argument(
        "--floor-rounds", type=int, default=8,
        help="lockstep rounds of the first line's cold floor (its median; each round costs a second or two)",
    )
    parser.add_argument("--callgrind-child", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.callgrind_child:
        return _callgrind_child(args)
    if args.rounds is None:
        args.rounds = 2 if args.instructions else 10
    if args.rounds < 1 or args.min_rounds < 1 or args.floor_rounds < 1:
        parser.error("--rounds, --min-rounds and --floor-rounds must be at least 1")
    if args.aa and args.instructions:
        parser.error("--aa times the measure against itself; --instructions counts are deterministic")
    if args.cache_sim and args.rounds % 2:
        parser.error(
            "--cache-sim needs an even number of rounds: the sides take turns at running first, and "
            "the run that follows the warm-up misses more (oneplusone, 20 trials: native 110 misses "
            "a trial first, 67 over two rounds)"
        )
    if args.aa and args.adapter_alone:
        parser.error("--aa runs the native loop in unitune's place; --adapter-alone runs the adapter there")
    _quiet_libraries()
    from threadpoolctl import threadpool_limits

    alone = ("adapter alone: the backend driven through ask/tell by hand, without the study "
             "('unitune' columns); the adapter's share of unitune's overhead")
    if args.instructions:
        print(f"python {sys.version.split()[0]}; instructions executed (callgrind Ir), medians over the "
              f"rounds; goal: ratio <= {GOAL} where native ms/trial > 1", flush=True)
        if args.adapter_alone:
            print(alone, flush=True)
        print(INSTRUCTION_HEADER, flush=True)
        status = 0
        with threadpool_limits(limits=1):  # for the native ms/trial; the child limits its own
            for native, family, algorithm, n_trials in _selected(args):
                result = count_instructions(native, family, algorithm, n_trials, args)
                status = status or (not result["same"])
                print(instruction_row(result), flush=True)
        return status
    print(
        f"python {sys.version.split()[0]}, {os.cpu_count()} cores; "
        f"{'process CPU seconds, two processes' if args.processes else 'thread CPU seconds, two threads'} "
        f"in lockstep, each round a crossover; goal: median ratio <= {GOAL} where native ms/trial > 1",
        flush=True,
    )
    if args.aa:
        print("A/A: the native loop against itself, the same seed on both sides ('unitune' columns: "
              "the second native loop); a ratio away from 1 is the measure's own bias", flush=True)
    elif args.adapter_alone:
        print(alone, flush=True)
    else:
        print(
            f"unitune's own cost per trial (study loop and kit, a backend doing nothing): "
            f"{floor_us():.0f} us warm, {cold_floor_us(rounds=args.floor_rounds):.0f} us cold "
            "(caches evicted between trials)",
            flush=True,
        )
    print(header(args.processes), flush=True)
    status = 0
    with threadpool_limits(limits=1):
        for native, family, algorithm, n_trials in _selected(args):
            result = measure(native, family, algorithm, n_trials, args)
            status = status or (not result["same"])
            print(row(result), flush=True)
    return status


if __name__ == "__main__":
    sys.exit(main())
