"""unitune's per-trial footprint when it runs cold, counted: last-level cache misses a trial.

Between two of unitune's trials a library's ask and tell walk their own objects and push
unitune's code and data out of the caches, so what a trial of unitune costs in time is mostly
how many cache lines it touches (docs/backends.md#adapter-overhead). This script counts them,
load-independently, with valgrind's callgrind and its cache simulator (first-level caches of
32 KB, a last-level cache of ``--ll-kib``): ``unitune.optimize`` around a backend that proposes
a fixed point and learns nothing (the study loop and the adapter kit, nothing else), against a
bare loop calling the same objective, where the objective first streams through twice the
simulated last-level cache, as a library's work would. Each side runs twice in a child under
callgrind, with N and 2N trials after a warm-up; a side's figures per trial are
(count at 2N - count at N) / N, so start-up and warm-up cancel.

Printed: instructions, first-level and last-level misses a trial of each side, and unitune's
difference. A change to the per-trial path that touches fewer lines lowers the last line's
``LL misses``. Needs ``valgrind`` (``apt-get install valgrind``); about 10 minutes with
``--trials 20`` (seventh session: unitune's own 1,520 last-level misses and 80,000 instructions a
trial).

    uv run --no-sync python benchmarks/scripts/cold_footprint.py [--trials 100]
"""

from __future__ import annotations

import argparse
import gc
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

#: callgrind's event names, in the order of its totals line (with --cache-sim=yes).
EVENTS = ("Ir", "Dr", "Dw", "I1mr", "D1mr", "D1mw", "ILmr", "DLmr", "DLmw")
WARM_UP = 50


def _child(side: str, n_trials: int, ll_bytes: int) -> None:
    """Inside callgrind: warm up, freeze the heap, then run ``n_trials`` of ``side``."""
    from adapter_overhead import NULL_POINT, SPACE, _null_backend, _quiet_libraries, evicting_objective

    import unitune

    _quiet_libraries()
    evicting = evicting_objective(2 * ll_bytes)
    null = _null_backend()

    def run(n: int) -> None:
        if side == "study":
            unitune.optimize(evicting, SPACE, backend=null, seed=0, n_trials=n, show_progress=False)
        else:
            for _ in range(n):
                evicting(dict(NULL_POINT))

    run(WARM_UP)
    gc.collect()
    gc.freeze()
    run(n_trials)


def _count(side: str, n_trials: int, ll_bytes: int, workdir: Path) -> dict[str, int]:
    """One callgrind run of ``side``; its event totals."""
    out = workdir / f"{side}.{n_trials}.out"
    command = [
        "valgrind", "--tool=callgrind", "--cache-sim=yes", "--I1=32768,8,64", "--D1=32768,8,64",
        f"--LL={ll_bytes},16,64", f"--callgrind-out-file={out}",
        sys.executable, __file__, "--child", side, "--trials", str(n_trials),
        "--ll-kib", str(ll_bytes // 1024),
    ]
    env = {**os.environ, "PYTHONHASHSEED": "0", "OPENBLAS_NUM_THREADS": "1"}
    subprocess.run(command, check=True, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for line in out.read_text().splitlines():
        if line.startswith("totals:"):
            return dict(zip(EVENTS, map(int, line.split()[1:]), strict=True))
    raise RuntimeError(f"callgrind wrote no totals line to {out}")


def per_trial(side: str, n_trials: int, ll_bytes: int, workdir: Path) -> dict[str, float]:
    """``side``'s events a trial: (counts at 2N - counts at N) / N."""
    once, twice = _count(side, n_trials, ll_bytes, workdir), _count(side, 2 * n_trials, ll_bytes, workdir)
    return {event: (twice[event] - once[event]) / n_trials for event in EVENTS}


def line(label: str, counts: dict[str, float]) -> str:
    """One row: instructions and misses a trial."""
    first = counts["I1mr"] + counts["D1mr"] + counts["D1mw"]
    last_i, last_d = counts["ILmr"], counts["DLmr"] + counts["DLmw"]
    return (f"{label:<18}{counts['Ir']:>12,.0f}{first:>12,.0f}{last_i:>10,.0f}{last_d:>10,.0f}"
            f"{last_i + last_d:>11,.0f}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=100, help="N: each side runs N, then 2N trials")
    parser.add_argument("--ll-kib", type=int, default=1024, help="simulated last-level cache, KiB")
    parser.add_argument("--child", choices=("study", "bare"), default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    ll_bytes = args.ll_kib * 1024
    if args.child:
        _child(args.child, args.trials, ll_bytes)
        return 0
    if args.trials < 1:
        parser.error("--trials must be at least 1")
    if shutil.which("valgrind") is None:
        print("valgrind is not installed (apt-get install valgrind)", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory() as tmp:
        study = per_trial("study", args.trials, ll_bytes, Path(tmp))
        bare = per_trial("bare", args.trials, ll_bytes, Path(tmp))
    print(f"python {sys.version.split()[0]}; callgrind cache simulation, last-level {args.ll_kib} KiB, "
          f"the objective streams {2 * args.ll_kib} KiB a trial; per trial, N={args.trials}")
    print(f"{'':<18}{'Ir':>12}{'L1 misses':>12}{'LL-I':>10}{'LL-D':>10}{'LL misses':>11}")
    print(line("study (null)", study))
    print(line("bare loop", bare))
    print(line("unitune's own", {event: study[event] - bare[event] for event in EVENTS}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
