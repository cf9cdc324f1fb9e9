"""Trials on a real Dask cluster on loopback, through ``client.get_executor(pure=False)``."""

from __future__ import annotations

import os

import pytest

import unitune
from unitune import Float, Int, Study, TrialState

pytest.importorskip("distributed")


def _objective(params):
    return (params["x"] - 0.25) ** 2 + params["k"]


def _pid(params):
    return {"loss": params["x"], "pid": float(os.getpid())}


def test_a_study_runs_on_a_dask_cluster(dask_client):
    executor = dask_client.get_executor(pure=False)
    study = unitune.optimize(_objective, {"x": Float(0.0, 1.0), "k": Int(0, 3)}, n_trials=16,
                             seed=0, batch_size=4, executor=executor)
    assert len(study.trials) == 16
    assert sorted(t.number for t in study.trials) == list(range(16))
    assert all(t.state is TrialState.COMPLETE for t in study.trials)
    assert study.best_value == min(t.value for t in study.trials)


def test_trials_really_run_in_the_workers(dask_client):
    study = Study({"x": Float(0.0, 1.0)}, seed=1, metric="loss")
    study.optimize(_pid, n_trials=8, batch_size=4, executor=dask_client.get_executor(pure=False))
    pids = {int(t.metrics["pid"]) for t in study.trials}
    assert os.getpid() not in pids
    assert pids <= set(dask_client.run(os.getpid).values())


class _Repeater(unitune.Backend):
    """Proposes the same configuration every time."""

    name = "repeater"

    def ask(self, numbers):
        return [unitune.Proposal(n, {"x": 0.5}) for n in numbers]

    def tell(self, trial):
        """Learns nothing."""

    def replay(self, trials):
        """Learns nothing."""


def _tokened(params):
    import uuid

    return unitune.Result(params["x"], user_attrs={"token": uuid.uuid4().hex})


def test_identical_configurations_each_run_with_pure_false(dask_client):
    study = Study({"x": Float(0.0, 1.0)}, backend=_Repeater)
    study.optimize(_tokened, n_trials=6, batch_size=3, executor=dask_client.get_executor(pure=False))
    assert len(study.trials) == 6
    assert len({t.user_attrs["token"] for t in study.trials}) == 6


def test_a_trial_is_queued_behind_each_busy_worker_thread(dask_client):
    # With every thread busy, unitune keeps one more trial per thread on the cluster, so that a
    # worker starts its next trial without waiting for the driver; never with deterministic=True,
    # and never beyond batch_size while threads are left over.
    asked: list[int] = []

    class Recording(_Repeater):
        def ask(self, numbers):
            asked.append(len(numbers))
            return super().ask(numbers)

    threads = sum(dask_client.nthreads().values())
    runs = {"free-running": ({"batch_size": threads}, 2 * threads),
            "deterministic": ({"batch_size": threads, "deterministic": True}, threads),
            "fewer trials than threads": ({"batch_size": threads - 1}, threads - 1)}
    for name, (options, first) in runs.items():
        asked.clear()
        study = Study({"x": Float(0.0, 1.0)}, backend=Recording)
        study.optimize(_objective_x, n_trials=3 * threads, executor=dask_client.get_executor(pure=False),
                       **options)
        assert asked[0] == first, name
        assert sum(asked) == 3 * threads, name
        assert sorted(t.number for t in study.trials) == list(range(3 * threads)), name
        assert all(t.state is TrialState.COMPLETE and t.value == 0.5 for t in study.trials), name


def _objective_x(params):
    return params["x"]


def _dies_once(params):
    if params["x"] > 0.5 and not os.path.exists(params["marker"]):
        open(params["marker"], "w").close()
        os._exit(1)  # the worker process dies mid-trial
    return params["x"]


def test_a_killed_dask_worker_does_not_corrupt_the_study(dask_client, tmp_path):
    marker = str(tmp_path / "died")
    space = {"x": Float(0.0, 1.0), "marker": marker}
    study = Study(space, seed=3)
    study.optimize(_dies_once, n_trials=10, batch_size=2, executor=dask_client.get_executor(pure=False))
    assert os.path.exists(marker), "no trial reached the worker-killing branch"
    assert len(study.trials) == 10
    assert sorted(t.number for t in study.trials) == list(range(10))
    # Dask ran the lost task again on a live worker (at-least-once): every trial completed once.
    assert all(t.state is TrialState.COMPLETE for t in study.trials)
