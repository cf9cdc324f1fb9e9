"""Where unitune's time goes within a trial: each stretch between Nevergrad's calls, timed.

``adapter_overhead.py`` gives one ratio a run, scattered by +-1-2 %, for an extra cost of a few
tens of microseconds a trial. This script times the stretches of a trial instead, in the same
lockstep (:mod:`unitune_bench.lockstep`, both orientations), native loop against unitune:

- ``back -> tell>``: from the objective's return (after the lockstep's hand-over) to Nevergrad's
  ``tell``: the study's records and the adapter's tell path;
- ``tell> -> tell<``, ``ask> -> ask<``: Nevergrad's own ``tell`` and ``ask`` (the outermost call:
  CMA and NGOpt run optimizers inside the one asked);
- ``tell< -> ask>``: from ``tell`` back to the next ``ask`` (the loop, the next ask's path);
- ``ask< -> obj>``: from ``ask`` to the objective (decoding, the trial started); both sides
  read ``candidate.value`` here (Nevergrad computes it, ~45 us);
- ``obj> -> obj<``: the objective itself (the same on both sides: a check of the measure).

Each stretch is timed with ``time.perf_counter_ns`` stamps (the same wrappers on both sides:
Nevergrad's ``Optimizer.ask`` and ``tell`` patched on the class); medians over every trial of
every run (the first five of a run left out) are precise to a fraction of a microsecond, where
the ratio's scatter is tens of microseconds. Wall time: while one side runs the other waits, so
only preemption by other processes adds to a stretch (medians ignore it).

The last line sums the medians' differences over the stretches outside Nevergrad's calls:
unitune's own extra cost a trial, cold, as it runs between Nevergrad's work. Findings:
docs/backends.md#adapter-overhead (fourteenth session).

    uv run --no-sync python benchmarks/scripts/trial_segments.py [--algorithm oneplusone] [--rounds 6]
    uv run --no-sync python benchmarks/scripts/trial_segments.py --adapter-alone  # also: --aa, --collector
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import statistics
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))

import adapter_overhead
from unitune_bench import lockstep

STRETCHES = (
    ("obj>", "obj<"),
    ("back", "tell>"),
    ("tell>", "tell<"),
    ("tell<", "ask>"),
    ("ask>", "ask<"),
    ("ask<", "obj>"),
)
#: The stretches inside Nevergrad or the objective (the same work on both sides).
LIBRARY = {("tell>", "tell<"), ("ask>", "ask<"), ("obj>", "obj<")}
SKIPPED_TRIALS = 5  # a run's first trials (start-up) are left out


class Stamps:
    """``perf_counter_ns`` stamps per thread, and the patches that take them."""

    def __init__(self) -> None:
        self.by_thread: dict[int, list[tuple[str, int]]] = {}

    def stamp(self, tag: str) -> None:
        self.by_thread.setdefault(threading.get_ident(), []).append((tag, time.perf_counter_ns()))

    def patch(self) -> None:
        """Stamp around Nevergrad's ask and tell and after each lockstep hand-over."""
        from nevergrad.optimization import base

        stamp, ask, tell = self.stamp, base.Optimizer.ask, base.Optimizer.tell
        hand_over = lockstep._Baton.hand_over
        depth = threading.local()  # only the outermost call is stamped (CMA, NGOpt: optimizers in optimizers)

        def stamped(method: Any, name: str) -> Any:
            def call(optimizer: Any, *args: Any, **kwargs: Any) -> Any:
                outermost = not getattr(depth, "inside", False)
                if outermost:
                    depth.inside = True
                    stamp(name + ">")
                try:
                    return method(optimizer, *args, **kwargs)
                finally:
                    if outermost:
                        stamp(name + "<")
                        depth.inside = False

            return call

        stamped_ask, stamped_tell = stamped(ask, "ask"), stamped(tell, "tell")

        def stamped_hand_over(baton: Any, side: int) -> None:
            hand_over(baton, side)
            stamp("back")

        base.Optimizer.ask, base.Optimizer.tell = stamped_ask, stamped_tell
        lockstep._Baton.hand_over = stamped_hand_over

    def objective(self, params: dict[str, Any]) -> float:
        self.stamp("obj>")
        value = adapter_overhead.objective(params)
        self.stamp("obj<")
        return value


def stretches(sequence: list[tuple[str, int]]) -> dict[tuple[str, str], list[int]]:
    """Nanoseconds of each stretch, trial by trial, from one side's stamps."""
    out: dict[tuple[str, str], list[int]] = {s: [] for s in STRETCHES}
    last: dict[str, int] = {}
    trial = 0
    for tag, ns in sequence:
        for start, end in STRETCHES:
            if tag == end and start in last and trial > SKIPPED_TRIALS:
                out[(start, end)].append(ns - last[start])
        if tag == "obj>":
            trial += 1
            last.clear()
        last[tag] = ns
    return out


@contextlib.contextmanager
def _collector_paused() -> Iterator[None]:
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def measure(algorithm: str, rounds: int, adapter_alone: bool = False, n_trials: int | None = None,
            aa: bool = False, collector: str = "held") -> dict[str, dict[tuple[str, str], list[int]]]:
    """Both orientations of ``rounds`` lockstep pairs; every stretch of every trial, by side.

    ``aa``: the native loop on both sides; ``collector``: ``held`` (no full garbage collection
    while the sides run, as adapter_overhead.py) or ``paused`` (none at all)."""
    from threadpoolctl import threadpool_limits

    stamps = Stamps()
    stamps.patch()
    native = adapter_overhead.native_modules("nevergrad")["nevergrad"]
    name = f"nevergrad.{algorithm}"
    run = adapter_overhead._adapter_alone if adapter_alone else adapter_overhead._unitune
    adapter_overhead._quiet_libraries()
    threadpool_limits(limits=1)
    space, warm_up = adapter_overhead.SPACE, adapter_overhead.WARM_UP
    adapter_overhead._warmed_up(
        lambda: native.run(algorithm, space, adapter_overhead.objective, warm_up, 0),
        lambda: run(name, warm_up, 0),
    )
    found: dict[str, dict[tuple[str, str], list[int]]] = {side: {s: [] for s in STRETCHES}
                                                         for side in ("native", "unitune")}
    n_trials = native.CASES[algorithm] if n_trials is None else n_trials
    for round_ in range(rounds):
        def native_loop(fn: Any, seed: int = round_) -> Any:
            return native.run(algorithm, space, fn, n_trials, seed)

        def unitune_loop(fn: Any, seed: int = round_) -> Any:
            if aa:
                return native.run(algorithm, space, fn, n_trials, seed)
            return run(name, n_trials, seed, fn)

        for unitune_in_main in (True, False):
            stamps.by_thread.clear()
            gc.collect()
            with adapter_overhead.full_collections_held() if collector == "held" else _collector_paused():
                if unitune_in_main:
                    lockstep.run_lockstep(stamps.objective, native_loop, unitune_loop)
                else:
                    lockstep.run_lockstep(stamps.objective, unitune_loop, native_loop)
            main = threading.get_ident()
            for ident, sequence in stamps.by_thread.items():
                side = "unitune" if (ident == main) == unitune_in_main else "native"
                for stretch, times in stretches(sequence).items():
                    found[side][stretch].extend(times)
    return found


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--algorithm", default="oneplusone", help="a nevergrad algorithm (oneplusone)")
    parser.add_argument("--rounds", type=int, default=6, help="lockstep rounds, each both orientations")
    parser.add_argument("--trials", type=int, default=None, help="trials a run (the adapter's CASES: 200)")
    parser.add_argument("--adapter-alone", action="store_true",
                        help="the backend driven by hand through ask/tell in unitune's place")
    parser.add_argument("--aa", action="store_true",
                        help="the native loop on both sides: how far the stretches stray by themselves")
    parser.add_argument("--collector", choices=("held", "paused"), default="held",
                        help="no full garbage collection while the sides run (held, as adapter_overhead.py) "
                        "or none at all (paused): the young collections' share")
    args = parser.parse_args()
    if args.rounds < 1 or (args.trials is not None and args.trials <= SKIPPED_TRIALS):
        parser.error(f"--rounds must be at least 1 and --trials above {SKIPPED_TRIALS} (a run's first "
                     f"{SKIPPED_TRIALS} trials are left out)")
    if args.aa and args.adapter_alone:
        parser.error("--aa runs the native loop in unitune's place; --adapter-alone runs the adapter there")
    found = measure(args.algorithm, args.rounds, args.adapter_alone, args.trials, args.aa, args.collector)
    what = ("A/A: a second native loop" if args.aa else "adapter alone" if args.adapter_alone
            else "unitune.optimize")
    print(f"nevergrad.{args.algorithm}, {what} against Nevergrad's own loop, {args.rounds} lockstep "
          f"rounds, collector {args.collector}; median us a trial")
    print(f"{'stretch':<16} {'trials':>6} {'native':>9} {'unitune':>9} {'extra':>8}   {'mean extra':>10}")
    extra = mean_extra = total_mean_extra = 0.0
    for stretch in STRETCHES:
        native, unitune = found["native"][stretch], found["unitune"][stretch]
        if not native or not unitune:
            continue
        difference = (statistics.median(unitune) - statistics.median(native)) / 1e3
        mean_difference = (statistics.fmean(unitune) - statistics.fmean(native)) / 1e3
        total_mean_extra += mean_difference
        if stretch not in LIBRARY:
            extra += difference
            mean_extra += mean_difference
        mark = "" if stretch not in LIBRARY else "  (library / objective)"
        name = f"{stretch[0]} -> {stretch[1]}"
        print(f"{name:<16} {len(unitune):>6} {statistics.median(native) / 1e3:>9.1f} "
              f"{statistics.median(unitune) / 1e3:>9.1f} {difference:>8.1f}   {mean_difference:>10.1f}{mark}")
    print(f"every stretch, means (what a time ratio sees, garbage collections included): "
          f"{total_mean_extra:.1f} us")
    print(f"unitune's own extra a trial, outside Nevergrad's calls: {extra:.1f} us "
          f"(means: {mean_extra:.1f} us)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
