"""Pruning on a real Dask LocalCluster (loopback), through ``client.get_executor(pure=False)``."""

from __future__ import annotations

import os

import pytest
from test_study_pruning import EXPECTED, LOSS, SPACE, RecordingGrid, flat_curve, outcome, staged_curve

import unitune
from unitune.pruners import ASHA, SuccessiveHalving

pytest.importorskip("distributed")


@pytest.mark.slow
@pytest.mark.timeout(180)
def test_asha_on_dask_prunes_at_the_hand_computed_steps(dask_client):
    backend = RecordingGrid(SPACE)
    study = unitune.optimize(flat_curve, SPACE, backend, n_trials=6,
                             executor=dask_client.get_executor(pure=False), pruner=ASHA(1, 3, 0, 9))
    assert outcome(study) == EXPECTED  # see test_study_pruning for the arithmetic
    assert sorted(backend.heard) == sorted({(n, s, LOSS[n]) for n, (_, last) in enumerate(EXPECTED)
                                            for s in range(1, last + 1)})
    # The run's reports were removed from the scheduler afterwards.
    assert dask_client.get_metadata(["unitune-pruning"], default={}) == {}


@pytest.mark.slow
@pytest.mark.timeout(180)
def test_synchronous_halving_on_dask_sees_the_cohort_report_live(dask_client):
    # Each trial of a cohort waits at rung 1 for its partner's report, made on the other worker.
    study = unitune.optimize(staged_curve_pid, SPACE, "grid", n_trials=6, batch_size=2,
                             executor=dask_client.get_executor(pure=False),
                             pruner=SuccessiveHalving(n_configs=2, min_resource=1, reduction_factor=2))
    assert outcome(study) == [("complete", 2), ("pruned", 1)] * 3
    pids = {t.user_attrs["pid"] for t in study.trials}
    assert os.getpid() not in pids
    assert pids <= set(dask_client.run(os.getpid).values())


def staged_curve_pid(params, trial):
    trial.set_user_attr("pid", os.getpid())
    return staged_curve(params, trial)
