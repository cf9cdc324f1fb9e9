"""A study driver run as a real subprocess by the durability tests, and helpers to watch it.

``python storage_driver.py FILE N_TRIALS BACKEND`` runs (or resumes) study ``"s"`` in FILE until it
has N_TRIALS finished trials. ``storage_driver:objective`` is what ``unitune resume`` imports.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
SPACE_JSON = {"x": {"type": "float", "low": 0.0, "high": 1.0}, "k": {"type": "int", "low": 0, "high": 4}}


def objective(params: dict) -> float:
    """Cheap and deterministic; sleeps a little so that a kill often lands mid-trial."""
    time.sleep(float(os.environ.get("DRIVER_SLEEP", "0.004")))
    return (params["x"] - 0.3) ** 2 + params["k"]


def interrupts_at_two(params: dict, trial) -> float:
    """``objective``, but trial 2 gets a real SIGINT (Ctrl-C) while it runs."""
    if trial.number == 2:
        os.kill(os.getpid(), signal.SIGINT)
        time.sleep(5)  # the signal arrives before this ends
    return objective(params)


def staged(params: dict, trial) -> float:
    """Nine reports on the way to ``objective``'s value; stops when the study's pruner says so."""
    from unitune import TrialPruned

    final = (params["x"] - 0.3) ** 2 + params["k"]
    for step in range(1, 10):
        trial.report(final + 1.0 / step, step)
        if trial.should_prune():
            raise TrialPruned()
    return final


def start(path: Path, n_trials: int, *, sleep: float = 0.01, backend: str = "random") -> subprocess.Popen:
    """Start a driver process on study "s" of ``path``."""
    env = {**os.environ, "DRIVER_SLEEP": str(sleep)}
    return subprocess.Popen([sys.executable, str(HERE / "storage_driver.py"), str(path), str(n_trials),
                             backend], env=env)


def finished(path: Path) -> list:
    """The finished trials of study "s", read as ``unitune status`` would (never writing)."""
    from unitune.errors import UnituneError
    from unitune.storage import SQLiteStorage

    if not path.exists():
        return []
    try:
        with SQLiteStorage(path, readonly=True) as reader:
            return reader.trials("s") if "s" in reader.study_names() else []
    except UnituneError:  # the driver is still creating the file
        return []


def wait_for(path: Path, count: int, proc: subprocess.Popen) -> None:
    """Wait until study "s" has ``count`` finished trials (or the driver ended)."""
    while len(finished(path)) < count and proc.poll() is None:
        time.sleep(0.01)


def main() -> None:
    import unitune
    from unitune.space import Space
    from unitune.storage import SQLiteStorage

    path, n_trials, backend = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    store = SQLiteStorage(path, lease_ttl=float(os.environ.get("DRIVER_LEASE_TTL", "30")))
    unitune.optimize(objective, Space.from_dict(SPACE_JSON), backend, n_trials=n_trials, seed=0,
                     storage=store, study_name="s", resume=True)
    store.close()


if __name__ == "__main__":
    main()
