"""Per-trial cost of the SQLite store against the in-memory store, measured side by side.

The same cheap study (random search, 2 parameters, an objective that sleeps 1 ms) runs
``--trials`` trials (default 1,000) in memory and on a SQLite file with ``synchronous=FULL``
(the default: a committed trial survives a power cut) and ``synchronous=NORMAL`` (survives a
killed process, not a power cut). Rounds alternate the three so that machine load hits them
alike; the median wall time of each is reported with its ratio to the in-memory study
(target: at most 1.05). Also printed: the cost of one bare SQLite commit on this disk, which
bounds what FULL can reach. Usage:
``uv run python benchmarks/scripts/storage_overhead.py [--trials N] [--rounds R] [--dir PATH]``.
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


def objective(params: dict) -> float:
    time.sleep(0.001)
    return params["x"] ** 2 + params["k"]


def run(kind: str, trials: int, folder: Path, round_no: int) -> float:
    storage = None
    if kind != "memory":
        storage = SQLiteStorage(folder / f"{kind}-{round_no}.db", synchronous=kind.split("-")[1])
    started = time.perf_counter()
    study = unitune.optimize(objective, SPACE, "random", n_trials=trials, seed=round_no,
                             storage=storage, study_name="bench")
    wall = time.perf_counter() - started
    if storage is not None:
        storage.close()
    if len(study.trials) != trials:
        raise SystemExit(f"{kind}: {len(study.trials)} trials instead of {trials}")
    return wall


def bare_commit(folder: Path, synchronous: str, n: int = 300) -> float:
    """Seconds per ``BEGIN IMMEDIATE; INSERT; COMMIT`` on a WAL file in ``folder``."""
    path = folder / f"bare-{synchronous}.db"
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute(f"PRAGMA synchronous = {synchronous}")
    conn.execute("CREATE TABLE t (a INTEGER PRIMARY KEY, b TEXT)")
    started = time.perf_counter()
    for i in range(n):
        conn.execute("BEGIN IMMEDIATE")
        conn.execute("INSERT INTO t VALUES (?, ?)", (i, "x" * 200))
        conn.execute("COMMIT")
    conn.close()
    return (time.perf_counter() - started) / n


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--dir", help="where the SQLite files go (default: a temporary folder)")
    args = parser.parse_args()
    folder = Path(args.dir or tempfile.mkdtemp(prefix="unitune-storage-bench-"))
    folder.mkdir(parents=True, exist_ok=True)
    kinds = ("memory", "sqlite-full", "sqlite-normal")
    walls: dict[str, list[float]] = {k: [] for k in kinds}
    run("memory", 50, folder, 999)  # warm up imports and caches
    for round_no in range(args.rounds):
        order = kinds if round_no % 2 == 0 else tuple(reversed(kinds))
        for kind in order:
            walls[kind].append(run(kind, args.trials, folder, round_no))
    base = statistics.median(walls["memory"])
    print(f"{args.trials} trials of a 1 ms objective, random search, median of {args.rounds} rounds "
          f"(files in {folder}, cpu count {os.cpu_count()})")
    print(f"{'store':<15} {'wall s':>8} {'per trial ms':>13} {'ratio':>7}")
    for kind in kinds:
        wall = statistics.median(walls[kind])
        print(f"{kind:<15} {wall:8.3f} {1000 * wall / args.trials:13.3f} {wall / base:7.3f}")
    for synchronous in ("FULL", "NORMAL"):
        print(f"bare WAL commit, synchronous={synchronous}: {1e6 * bare_commit(folder, synchronous):.0f} us")


if __name__ == "__main__":
    main()
