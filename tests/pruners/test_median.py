"""Median and percentile pruners against hand-computed decisions on fixed learning curves."""

from __future__ import annotations

import math

import pytest

from unitune.pruners import History, MedianPruner, PercentilePruner, PrunerError, TrialReports, make_pruner
from unitune.trial import TrialState

C, R = TrialState.COMPLETE, TrialState.RUNNING

# Three completed losses curves (minimize), steps 1..4.
DONE = {
    0: TrialReports(0, C, {1: 0.9, 2: 0.7, 3: 0.5, 4: 0.4}),
    1: TrialReports(1, C, {1: 0.8, 2: 0.6, 3: 0.6, 4: 0.5}),
    2: TrialReports(2, C, {1: 0.7, 2: 0.5, 3: 0.3, 4: 0.2}),
}


def history(running: dict[int, float], direction="minimize", done=DONE, number=3, state=R) -> History:
    return History(direction, {**done, number: TrialReports(number, state, running)})


def test_median_prunes_above_the_median_of_completed_trials_at_the_same_step():
    pruner = MedianPruner(n_startup_trials=3)
    # Step 2: completed values 0.7, 0.6, 0.5 -> median 0.6. Best so far of the runner: min(0.85, 0.65) = 0.65 > 0.6.
    assert pruner.should_prune(3, history({1: 0.85, 2: 0.65})) is True
    # Best so far min(0.85, 0.55) = 0.55 <= 0.6: goes on.
    assert pruner.should_prune(3, history({1: 0.85, 2: 0.55})) is False
    # The best over ALL its steps counts: 0.5 at step 1 beats the step-2 median 0.6 although 0.9 does not.
    assert pruner.should_prune(3, history({1: 0.5, 2: 0.9})) is False
    # Exactly at the median is kept (strictly worse is pruned).
    assert pruner.should_prune(3, history({1: 0.85, 2: 0.6})) is False


def test_startup_trials_warmup_and_interval():
    curve = {1: 5.0, 2: 5.0}
    # Only 3 completed trials: with n_startup_trials=4 nothing is pruned.
    assert MedianPruner(n_startup_trials=4).should_prune(3, history(curve)) is False
    # n_warmup_steps=3: step 2 < 3, not pruned; step 3 is.
    assert MedianPruner(n_startup_trials=0, n_warmup_steps=3).should_prune(3, history(curve)) is False
    assert MedianPruner(n_startup_trials=0, n_warmup_steps=3).should_prune(3, history({**curve, 3: 5.0})) is True
    # interval_steps=2 with warm-up 1: boundaries at 1, 3, 5. Step 2 follows step 1 in the
    # same interval [1, 3): not checked. Step 3 is the first report at/after boundary 3: checked.
    pruner = MedianPruner(n_startup_trials=0, n_warmup_steps=1, interval_steps=2)
    assert pruner.should_prune(3, history(curve)) is False
    assert pruner.should_prune(3, history({1: 5.0, 2: 5.0, 3: 5.0})) is True
    # Reporting only at step 4 after step 1: boundary (4-1)//2*2+1 = 3 > 1, so step 4 is checked.
    assert pruner.should_prune(3, history({1: 5.0, 4: 5.0})) is True


def test_no_completed_value_at_the_step_means_no_decision():
    # Completed trials reported steps 1..4 only: a report at step 7 has nothing to compare with.
    assert MedianPruner(n_startup_trials=0).should_prune(3, history({7: 100.0})) is False
    # n_min_trials=4 > the 3 completed values at step 2.
    assert MedianPruner(n_startup_trials=0, n_min_trials=4).should_prune(3, history({2: 9.0})) is False


def test_percentile_and_maximize():
    # 25th percentile at step 3 of [0.5, 0.6, 0.3] (numpy linear): sorted [0.3, 0.5, 0.6], position
    # 0.25 * 2 = 0.5 -> 0.3 + 0.5 * (0.5 - 0.3) = 0.4.
    pruner = PercentilePruner(25.0, n_startup_trials=0)
    assert pruner.should_prune(3, history({3: 0.41})) is True
    assert pruner.should_prune(3, history({3: 0.39})) is False
    # Maximizing the same numbers: keep the top 25%: the 75th percentile of [0.3, 0.5, 0.6] is
    # position 1.5 -> 0.5 + 0.5 * 0.1 = 0.55; a best of 0.54 is pruned, 0.56 is kept.
    assert pruner.should_prune(3, history({3: 0.54}, direction="maximize")) is True
    assert pruner.should_prune(3, history({3: 0.56}, direction="maximize")) is False


def test_nan_is_pruned_and_nan_completed_values_are_ignored():
    pruner = MedianPruner(n_startup_trials=0)
    assert pruner.should_prune(3, history({1: math.nan})) is True
    done = {**DONE, 4: TrialReports(4, C, {1: math.nan})}
    # Step 1 values 0.9, 0.8, 0.7, NaN -> nanmedian 0.8; 0.75 goes on, 0.85 is pruned.
    assert pruner.should_prune(3, history({1: 0.75}, done=done)) is False
    assert pruner.should_prune(3, history({1: 0.85}, done=done)) is True


def test_pruned_and_running_trials_are_not_the_reference():
    done = {**DONE, 5: TrialReports(5, TrialState.PRUNED, {1: 0.0}), 6: TrialReports(6, R, {1: 0.0})}
    # Step 1 reference stays the completed 0.9, 0.8, 0.7 -> median 0.8.
    assert MedianPruner(n_startup_trials=0).should_prune(3, history({1: 0.79}, done=done)) is False


def test_budgets_and_bad_knobs():
    assert list(MedianPruner(n_warmup_steps=2, interval_steps=3, max_resource=10).budgets(0)) == [2, 5, 8, 10]
    with pytest.raises(PrunerError, match="no resource schedule"):
        MedianPruner().budgets(0)
    with pytest.raises(PrunerError, match=r"percentile must be a number in \[0, 100\], got 120"):
        PercentilePruner(120)
    with pytest.raises(PrunerError, match="interval_steps must be an integer >= 1, got 0"):
        MedianPruner(interval_steps=0)
    with pytest.raises(PrunerError, match="unknown pruner 'medain'"):
        make_pruner("medain")
    assert isinstance(make_pruner("median"), MedianPruner)


def test_the_repr_says_every_setting_and_rebuilds_the_pruner():
    from unitune.pruners import PercentilePruner

    median = MedianPruner(n_startup_trials=2, n_warmup_steps=1, interval_steps=3, n_min_trials=2, max_resource=27)
    assert repr(median) == ("MedianPruner(n_startup_trials=2, n_warmup_steps=1, interval_steps=3, "
                            "n_min_trials=2, max_resource=27)")
    assert repr(eval(repr(median))) == repr(median)
    assert repr(PercentilePruner(25.0, max_resource=9)).startswith("PercentilePruner(25.0, n_startup_trials=5")
    assert repr(eval(repr(PercentilePruner(25.0, max_resource=9)))) == repr(PercentilePruner(25.0, max_resource=9))
