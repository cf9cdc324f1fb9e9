"""A durable study driven on a running Dask cluster, run as a subprocess by test_dask_resume.py.

``python dask_driver.py FILE N_TRIALS SCHEDULER_ADDRESS`` runs (or resumes) study ``"s"`` in the
SQLite file FILE on the cluster at SCHEDULER_ADDRESS (batch_size 2) until it has N_TRIALS
finished trials: the space and objective of tests/storage/storage_driver.py. The cluster
outlives the driver, as a multi-machine one does when its driver is killed.
"""

from __future__ import annotations

import sys
import time


def objective(params: dict) -> float:
    """Travels to the workers by value (this file runs as ``__main__``)."""
    time.sleep(0.01)
    return (params["x"] - 0.3) ** 2 + params["k"]


def main(path: str, n_trials: int, address: str) -> None:
    import distributed
    from storage.storage_driver import SPACE_JSON

    import unitune
    from unitune.space import Space
    from unitune.storage import SQLiteStorage

    with distributed.Client(address) as client, SQLiteStorage(path) as store:
        unitune.optimize(
            objective,
            Space.from_dict(SPACE_JSON),
            "random",
            n_trials=n_trials,
            seed=0,
            storage=store,
            study_name="s",
            resume=True,
            batch_size=2,
            executor=client.get_executor(pure=False),
        )


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]), sys.argv[3])
