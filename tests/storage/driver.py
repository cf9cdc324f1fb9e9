"""A study driver run as a real subprocess by the durability tests (``python driver.py ...``).

It is also importable as ``driver:objective`` for ``unitune resume``.
"""

from __future__ import annotations

import os
import sys
import time

SPACE_JSON = {"x": {"type": "float", "low": 0.0, "high": 1.0}, "k": {"type": "int", "low": 0, "high": 4}}


def objective(params: dict) -> float:
    """Cheap and deterministic; sleeps a little so that a kill often lands mid-trial."""
    time.sleep(float(os.environ.get("DRIVER_SLEEP", "0.004")))
    return (params["x"] - 0.3) ** 2 + params["k"]


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
