"""Test-wide settings, and the Dask LocalCluster fixtures shared by every Dask test."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator

import pytest
from hypothesis import settings

# CI replays the same examples every run (a red CI then always means a real regression);
# local runs keep exploring new examples.
settings.register_profile("ci", derandomize=True, database=None, deadline=None)
if os.environ.get("CI"):
    settings.load_profile("ci")


@contextlib.contextmanager
def local_dask_client(n_workers: int = 2, **config: object) -> Iterator:
    """A client on a fresh Dask LocalCluster on 127.0.0.1 (2 workers unless told): one process
    per worker, one thread each, each under a nanny (so a killed or restarted worker comes back).
    ``config`` is Dask configuration read when the scheduler starts."""
    distributed = pytest.importorskip("distributed")
    import dask

    with dask.config.set(config):
        cluster = distributed.LocalCluster(
            n_workers=n_workers, threads_per_worker=1, processes=True, host="127.0.0.1", dashboard_address=None
        )
    try:
        with distributed.Client(cluster) as client:
            yield client
    finally:
        cluster.close()


@pytest.fixture(scope="session")
def dask_client():
    """One cluster for every Dask test that leaves its workers alone (starting one costs
    seconds). A test that kills workers takes ``dask_fault_client`` instead."""
    with local_dask_client() as client:
        yield client


@pytest.fixture
def dask_fault_client():
    """A fresh cluster for one test that kills or restarts its workers (a nanny brings a
    worker back only after seconds, longer under load; a later test must not inherit that).
    Dask gives up on a task whose worker died at once (``allowed-failures`` 0), so that
    unitune's own retry is what runs it again."""
    with local_dask_client(**{"distributed.scheduler.allowed-failures": 0}) as client:
        yield client
