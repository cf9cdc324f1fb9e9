"""A joblib backend that runs scikit-learn's parallel fits on any ``concurrent.futures.Executor``.

scikit-learn's search estimators parallelize (candidate, fold) fits through joblib. Handing joblib
this backend (``joblib.parallel_config(backend=ExecutorBackend(executor))``) sends those fits to a
thread pool, a process pool or a Dask ``client.get_executor(pure=False)`` instead of loky.
"""

from __future__ import annotations

from concurrent.futures import Executor, Future
from typing import Any

from joblib.parallel import ParallelBackendBase

__all__ = ["ExecutorBackend", "executor_workers"]


def executor_workers(executor: Executor, default: int = 1) -> int:
    """How many tasks ``executor`` runs at once, as far as it tells (``default`` otherwise)."""
    workers = getattr(executor, "_max_workers", None)
    if isinstance(workers, int) and workers > 0:
        return workers
    return default


class ExecutorBackend(ParallelBackendBase):
    """joblib backend over a ``concurrent.futures.Executor``; the executor is not shut down."""

    supports_retrieve_callback = True
    supports_timeout = False

    def __init__(self, executor: Executor, n_workers: int, **kwargs: Any):
        super().__init__(**kwargs)
        self.executor = executor
        self.n_workers = n_workers

    def effective_n_jobs(self, n_jobs: int | None) -> int:
        return self.n_workers

    def submit(self, func: Any, callback: Any = None) -> Future:
        future = self.executor.submit(func)
        if callback is not None:
            future.add_done_callback(callback)
        return future

    def retrieve_result_callback(self, future: Future) -> Any:
        return future.result()

    def abort_everything(self, ensure_ready: bool = True) -> None:
        """Nothing to tear down: the caller owns the executor."""
