"""Per-trial cost of the SQLite store against the in-memory store and the disk's floor, side by side.

The same cheap study (random search, 2 parameters, an objective that sleeps 1 ms) runs
``--trials`` trials (default 1,000) in memory and on a SQLite file with ``synchronous=FULL``
(the default: a committed trial survives a power cut) and ``synchronous=NORMAL`` (survives a
killed process, not a power cut). In the same rounds, on the same file system, bare WAL commits
(``BEGIN IMMEDIATE; INSERT one row; COMMIT``, no unitune code) are timed with and without the
fsync. Rounds alternate their order so that machine load hits every variant alike; medians are
reported. Printed:

- each store's wall time, per-trial time and ratio to the in-memory study (target: at most 1.05);
- the physical floors: ``memory + 1 fsync'd commit per trial`` (what FULL cannot go below: every
  finished trial is committed, and synced, before the backend hears of it) and
  ``memory + 2 unsynced commits per trial`` (NORMAL's floor: one commit when a trial starts, one
  when it ends), with each store's ratio to its floor (1.00 = nothing but the disk's own cost).

Usage: ``uv run --no-sync python benchmarks/scripts/storage_overhead.py [--trials N] [--rounds R]
[--dir PATH]``.
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import statistics
import tempfile
import time
from pathlib import Path

import unitune
from unitune import Float, Int
from unitune.storage import SQLiteStorage

SPACE = {"x": Float(-5.0, 5.0), "k": Int(0, 10)}
STORES = ("memory", "sqlite FULL", "sqlite NORMAL")
BARE = ("bare FULL", "bare NORMAL")


def objective(params: dict) -> float:
    time.sleep(0.001)
    return params["x"] ** 2 + params["k"]


def run(kind: str, trials: int, folder: Path, round_no: int) -> float:
    """Seconds for one study of ``trials`` trials on ``kind``'s store (a fresh file each time)."""
    storage = None
    if kind != "memory":
        synchronous = kind.split()[1].lower()
        storage = SQLiteStorage(folder / f"{synchronous}-{round_no}.db", synchronous=synchronous)
    started = time.perf_counter()
    study = unitune.optimize(
        objective, SPACE, "random", n_trials=trials, seed=round_no, storage=storage, study_name="bench"
    )
    wall = time.perf_counter() - started
    if storage is not None:
        storage.close()
    done = sum(t.state is unitune.TrialState.COMPLETE for t in study.trials)
    if done != trials:
        raise SystemExit(f"{kind}: {done} complete trials instead of {trials}")
    return wall


def bare_commits(kind: str, n: int, folder: Path, round_no: int) -> float:
    """Seconds per ``BEGIN IMMEDIATE; INSERT; COMMIT`` on a fresh WAL file in ``folder``."""
    synchronous = kind.split()[1]
    conn = sqlite3.connect(folder / f"bare-{synchronous.lower()}-{round_no}.db", isolation_level=None)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute(f"PRAGMA synchronous = {synchronous}")
    conn.execute("CREATE TABLE t (a INTEGER PRIMARY KEY, b TEXT)")
    row = '{"x":-1.2345678901234567,"k":7}'
    started = time.perf_counter()
    for i in range(n):
        conn.execute("BEGIN IMMEDIATE")
        conn.execute("INSERT INTO t VALUES (?, ?)", (i, row))
        conn.execute("COMMIT")
    seconds = (time.perf_counter() - started) / n
    conn.close()
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--dir", help="where the SQLite files go (default: a temporary folder)")
    args = parser.parse_args()
    folder = Path(args.dir or tempfile.mkdtemp(prefix="unitune-storage-bench-"))
    folder.mkdir(parents=True, exist_ok=True)
    load_before = os.getloadavg()[0]
    run("memory", 50, folder, 999)  # warm up imports and caches
    walls: dict[str, list[float]] = {k: [] for k in STORES}
    commit: dict[str, list[float]] = {k: [] for k in BARE}
    for round_no in range(args.rounds):
        order = STORES + BARE if round_no % 2 == 0 else tuple(reversed(STORES + BARE))
        for kind in order:
            if kind in BARE:
                commit[kind].append(bare_commits(kind, args.trials, folder, round_no))
            else:
                walls[kind].append(run(kind, args.trials, folder, round_no))
    n = args.trials
    wall = {k: statistics.median(v) for k, v in walls.items()}
    bare = {k: statistics.median(v) for k, v in commit.items()}
    base = wall["memory"]
    floors = {"floor FULL": base + n * bare["bare FULL"], "floor NORMAL": base + n * 2 * bare["bare NORMAL"]}
    floor_of = {"sqlite FULL": "floor FULL", "sqlite NORMAL": "floor NORMAL"}

    print(
        f"{n} trials of a 1 ms objective, random search, median of {args.rounds} rounds; files in "
        f"{folder}; {os.cpu_count()} cpus, load average {load_before:.2f} before, "
        f"{os.getloadavg()[0]:.2f} after"
    )
    print(
        f"bare WAL commit on this file system: {1e6 * bare['bare FULL']:.0f} us with fsync "
        f"(synchronous=FULL), {1e6 * bare['bare NORMAL']:.0f} us without (NORMAL)"
    )
    print(f"{'':<50} {'wall s':>8} {'ms/trial':>9} {'vs memory':>10} {'vs floor':>9}")
    rows = [(k, wall[k]) for k in STORES]
    rows += [
        ("floor FULL   (memory + 1 fsync'd commit/trial)", floors["floor FULL"]),
        ("floor NORMAL (memory + 2 unsynced commits/trial)", floors["floor NORMAL"]),
    ]
    for name, seconds in rows:
        key = name.split(" (")[0].strip()
        versus = f"{seconds / floors[floor_of[key]]:9.3f}" if key in floor_of else f"{'':>9}"
        print(f"{name:<50} {seconds:8.3f} {1000 * seconds / n:9.3f} {seconds / base:10.3f} {versus}")
    verdict = {k: "meets" if wall[k] / base <= 1.05 else "misses" for k in floor_of}
    print(
        f"target <= 1.05x memory: FULL {verdict['sqlite FULL']} it, NORMAL {verdict['sqlite NORMAL']} it; "
        f"the FULL floor alone is {floors['floor FULL'] / base:.3f}x, the NORMAL floor "
        f"{floors['floor NORMAL'] / base:.3f}x"
    )


if __name__ == "__main__":
    main()
