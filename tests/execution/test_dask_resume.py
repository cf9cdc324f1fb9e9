"""kill -9 of a driver running a durable (SQLite) study on a Dask LocalCluster, at random
points, each followed by resume. The cluster outlives its driver, as a multi-machine one does."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from storage.storage_driver import finished, wait_for

from unitune import Trial, TrialState
from unitune.storage import SQLiteStorage

pytest.importorskip("distributed")

HERE = Path(__file__).resolve().parent


def _value(params) -> float:
    return (params["x"] - 0.3) ** 2 + params["k"]  # dask_driver.objective


def _start(path: Path, n_trials: int, address: str) -> subprocess.Popen:
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(HERE.parent), os.environ.get("PYTHONPATH", "")]))
    return subprocess.Popen(
        [sys.executable, str(HERE / "dask_driver.py"), str(path), str(n_trials), address], env=env
    )


@pytest.mark.slow
@pytest.mark.timeout(400)
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_a_dask_driver_killed_at_random_points_resumes_to_exactly_the_requested_trials(
    dask_client, tmp_path, seed
):
    path, n_trials = tmp_path / "study.db", 24
    rng = random.Random(seed)
    before: dict[int, Trial] = {}
    # Kill once early and once late (counting stored records); each lands anywhere: mid-trial,
    # mid-commit, mid-ask, or while the resumed driver is still starting.
    for records in (rng.randrange(2, n_trials // 3), rng.randrange(n_trials // 2, n_trials - 4)):
        proc = _start(path, n_trials, dask_client.scheduler.address)
        wait_for(path, records, proc)
        time.sleep(rng.uniform(0.0, 0.05))
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=60)
        assert proc.returncode == -signal.SIGKILL, "the driver finished before it could be killed"
        for trial in finished(path):
            before.setdefault(trial.number, trial)
    proc = _start(path, n_trials, dask_client.scheduler.address)
    assert proc.wait(timeout=180) == 0

    with SQLiteStorage(path, readonly=True) as reader:
        final = reader.trials("s")
        assert reader.trials("s", running=True) == final  # nothing left RUNNING
    numbers = [t.number for t in final]
    assert len(numbers) == len(set(numbers))  # no duplicate trial numbers
    counted = [t for t in final if t.state is not TrialState.INTERRUPTED]
    assert len(counted) == n_trials
    assert all(t.state is TrialState.COMPLETE and t.value == _value(t.params) for t in counted)
    by_number = {t.number: t for t in final}
    for number, trial in before.items():  # every trial finished before a kill is unchanged
        assert by_number[number] == trial
    for lost in (t for t in final if t.state is TrialState.INTERRUPTED):  # evaluated again, later
        assert any(t.number > lost.number and dict(t.params) == dict(lost.params) for t in counted)
