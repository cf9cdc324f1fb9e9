"""Pruning through the study: inline, in a process pool, hand-driven, and budget objectives."""

from __future__ import annotations

import functools
import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor

import pytest

import unitune
from unitune import Int, Study, TrialState
from unitune.backends.grid_search import GridSearch
from unitune.pruners import ASHA, Hyperband, MedianPruner, PrunerError, SuccessiveHalving

# Flat learning curves: trial k reports LOSS[k] at every step 1..9. The grid asks k = 0..5 in order.
LOSS = [0.5, 0.6, 0.4, 0.45, 0.3, 0.35]
SPACE = {"k": Int(0, 5)}
# ASHA(min_resource=1, eta=3, max_resource=9), rungs at 1 and 3, trials one after the other:
#   k=0 0.5 : alone at rungs 1 and 3                          -> runs to step 9, COMPLETE
#   k=1 0.6 : rung 1 holds 0.5, 0.6: keep max(1, 2//3)=1 (0.5) -> PRUNED at step 1
#   k=2 0.4 : rung 1 keep 1 of 3: itself; rung 3: 0.5, 0.4 -> itself -> COMPLETE
#   k=3 0.45: rung 1 keep 1 of 4 (0.4)                          -> PRUNED at step 1
#   k=4 0.3 : best at rungs 1 and 3                             -> COMPLETE
#   k=5 0.35: rung 1 keep 6//3=2 (0.3, 0.35) -> on; rung 3: 0.5, 0.4, 0.3, 0.35 keep 1 (0.3) -> PRUNED at step 3
EXPECTED = [("complete", 9), ("pruned", 1), ("complete", 9), ("pruned", 1), ("complete", 9), ("pruned", 3)]


def flat_curve(params, trial):
    for step in range(1, 10):
        trial.report(LOSS[params["k"]], step)
        if trial.should_prune():
            raise unitune.TrialPruned()
    return LOSS[params["k"]]


def outcome(study):
    return [(t.state.value, max(t.intermediate)) for t in sorted(study.trials, key=lambda t: t.number)]


class RecordingGrid(GridSearch):
    """The grid, remembering every intermediate value it hears live."""

    name = "recording-grid"

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.heard: list[tuple[int, int, float]] = []

    def report(self, number, step, value):
        self.heard.append((number, step, value))


@pytest.mark.timeout(60)
def test_asha_inline_prunes_at_the_hand_computed_steps():
    backend = RecordingGrid(SPACE)
    study = unitune.optimize(flat_curve, SPACE, backend, n_trials=6, pruner=ASHA(1, 3, 0, 9))
    assert outcome(study) == EXPECTED
    pruned = [t for t in study.trials if t.state is TrialState.PRUNED]
    assert [t.failure for t in pruned] == ["pruned at step 1", "pruned at step 1", "pruned at step 3"]
    assert dict(pruned[2].intermediate) == {1: 0.35, 2: 0.35, 3: 0.35}  # kept on the record
    # Inline, the backend hears every report as it is made.
    assert len(backend.heard) == sum(step for _, step in EXPECTED)
    assert backend.heard[:2] == [(0, 1, 0.5), (0, 2, 0.5)]


@pytest.mark.timeout(120)
def test_asha_in_a_process_pool_sees_the_other_workers_reports():
    backend = RecordingGrid(SPACE)
    with ProcessPoolExecutor(2, mp_context=multiprocessing.get_context("spawn")) as pool:
        study = unitune.optimize(flat_curve, SPACE, backend, n_trials=6, executor=pool,
                                 pruner=ASHA(1, 3, 0, 9))
    assert outcome(study) == EXPECTED
    # Reports made in the workers reached the backend, each once.
    assert sorted(backend.heard) == sorted({(n, s, LOSS[n]) for n, (_, last) in enumerate(EXPECTED)
                                            for s in range(1, last + 1)})


def staged_curve(params, trial):
    # Two steps; the cohort's better trial goes on to step 2.
    for step in (1, 2):
        trial.report(LOSS[params["k"]], step)
        if trial.should_prune():
            raise unitune.TrialPruned()
    return LOSS[params["k"]]


@pytest.mark.timeout(120)
def test_synchronous_halving_in_a_process_pool_waits_for_the_live_reports_of_its_cohort():
    # Cohorts (0, 1), (2, 3), (4, 5) run side by side; at rung 1 each trial waits for its partner's
    # report, made in another process after both started: a snapshot taken at start would hang.
    # Keep floor(2/2) = 1 per cohort: 0.5 vs 0.6 -> k=0; 0.4 vs 0.45 -> k=2; 0.3 vs 0.35 -> k=4.
    with ProcessPoolExecutor(2) as pool:
        study = unitune.optimize(staged_curve, SPACE, "grid", n_trials=6, batch_size=2, executor=pool,
                                 pruner=SuccessiveHalving(n_configs=2, min_resource=1, reduction_factor=2))
    assert outcome(study) == [("complete", 2), ("pruned", 1)] * 3


def test_synchronous_halving_refuses_trials_run_one_at_a_time():
    with pytest.raises(PrunerError, match="cohort of 2 trials must run side by side"):
        unitune.optimize(staged_curve, SPACE, "grid", n_trials=2, pruner=SuccessiveHalving(2, 1, 2))


def test_hand_driven_ask_and_tell_prune_with_the_same_rules():
    study = Study(SPACE, "grid", pruner="median")  # n_startup_trials=5
    for k in range(6):
        handle = study.ask()
        for step in (1, 2):
            handle.report(LOSS[k], step)
        decision = handle.should_prune()
        study.tell(handle, state="pruned") if decision else study.tell(handle, LOSS[k])
    # Five completed trials (0.5, 0.6, 0.4, 0.45, 0.3) -> the step-2 median is 0.45; k=5 has 0.35: kept.
    assert [t.state for t in study.trials] == [TrialState.COMPLETE] * 6
    late = Study(SPACE, "grid", pruner=MedianPruner(n_startup_trials=1))
    first = late.ask()
    first.report(0.1, 1)
    assert first.should_prune() is False
    late.tell(first, 0.1)
    second = late.ask()
    second.report(0.2, 1)
    assert second.should_prune() is True  # 0.2 > the median 0.1 of the one completed trial at step 1
    assert second.should_prune() is True  # the same answer when asked again at the same step


def test_a_second_report_at_the_same_step_is_ignored_everywhere_alike():
    # It replaced the first in the trial's record and the pruner's view, while the optuna backend
    # (native Optuna ignores it) kept the first, and should_prune kept its first answer for the step.
    pytest.importorskip("optuna")
    study = Study({"x": unitune.Float(0.0, 1.0)}, "optuna.random", seed=0,
                  pruner=MedianPruner(n_startup_trials=1))
    first = study.ask()
    first.report(0.1, 1)
    study.tell(first, 0.1)
    second = study.ask()
    second.report(0.05, 1)
    assert second.should_prune() is False
    with pytest.warns(UserWarning, match="trial 1 already reported step 1: the value 0.9 is ignored"):
        second.report(0.9, 1)
    record = study.tell(second, 0.2)
    assert record.state is TrialState.COMPLETE and dict(record.intermediate) == {1: 0.05}
    native = study.backend.optuna_study.trials[1]
    assert native.state.name == "COMPLETE" and native.intermediate_values == {1: 0.05}
    # The pruner judges on the kept value: the median of 0.1 and 0.05 prunes 0.08 (with 0.9 it
    # would be 0.5, and 0.08 would go on).
    third = study.ask()
    third.report(0.08, 1)
    assert third.should_prune() is True


def test_a_hand_told_pruned_trial_says_at_which_step_it_stopped():
    # docs/pruning.md: a PRUNED trial's failure says "pruned at step N", hand-driven studies alike
    # (tell(state="pruned") wrote only "pruned").
    study = Study(SPACE, "grid", pruner="median")
    handle = study.ask()
    handle.report(0.5, 1)
    handle.report(0.4, 3)
    stopped = study.tell(handle, state="pruned")
    assert (stopped.state, stopped.failure, dict(stopped.intermediate)) == (
        TrialState.PRUNED, "pruned at step 3", {1: 0.5, 3: 0.4})
    silent = study.tell(study.ask(), state="pruned")
    assert (silent.state, silent.failure) == (TrialState.PRUNED, "pruned")
    told = study.ask()
    told.report(0.9, 2)
    assert study.tell(told, state="pruned", failure="too slow").failure == "too slow"


def test_without_a_pruner_should_prune_is_false():
    study = Study(SPACE, "grid")
    handle = study.ask()
    handle.report(100.0, 1)
    assert handle.should_prune() is False


def budget_objective(params, budget):
    # The loss after `budget` epochs: LOSS[k] shrinking with the budget, ranks kept.
    return LOSS[params["k"]] + 1.0 / budget


def test_a_budget_objective_is_called_with_the_schedule_of_its_pruner():
    calls = []

    def objective(params, budget):
        calls.append((params["k"], budget))
        return budget_objective(params, budget)

    study = unitune.optimize(objective, SPACE, "grid", n_trials=6, pruner=ASHA(1, 3, 0, 9))
    # Schedule [1, 3, 9]. Same ranks as the flat curves: the same trials stop at the same rungs.
    assert outcome(study) == [("complete", 9), ("pruned", 1), ("complete", 9), ("pruned", 1),
                              ("complete", 9), ("pruned", 3)]
    assert calls[:4] == [(0, 1), (0, 3), (0, 9), (1, 1)]
    assert study.best_value == pytest.approx(0.3 + 1 / 9)
    assert study.trials[5].failure == "pruned at budget 3"


def test_a_budget_objective_that_reports_its_own_budget_step_keeps_its_report(recwarn):
    # The schedule's report of the returned value at step b was ignored (with a warning at every
    # rung, pointing into unitune) once the objective had reported step b itself.
    def objective(params, trial, budget):
        for epoch in range(max(trial.intermediate, default=0) + 1, budget + 1):  # training goes on
            trial.report(LOSS[params["k"]] + 2.0 / epoch, epoch)
        return budget_objective(params, budget)

    study = unitune.optimize(objective, SPACE, "grid", n_trials=6, pruner=ASHA(max_resource=9))
    assert not [w for w in recwarn if "already reported" in str(w.message)]
    for trial in study.trials:
        assert trial.state in (TrialState.COMPLETE, TrialState.PRUNED)
        last = max(trial.intermediate)
        assert trial.intermediate[last] == LOSS[trial.params["k"]] + 2.0 / last  # its own report


def test_a_budget_objective_needs_a_pruner_with_a_schedule():
    with pytest.raises(PrunerError, match="driven by a pruner's schedule"):
        unitune.optimize(budget_objective, SPACE, "grid", n_trials=1)
    with pytest.raises(PrunerError, match="MedianPruner has no resource schedule"):
        unitune.optimize(budget_objective, SPACE, "grid", n_trials=1, pruner="median")
    with_schedule = unitune.optimize(budget_objective, SPACE, "grid", n_trials=1,
                                     pruner=MedianPruner(max_resource=3))
    assert dict(with_schedule.trials[0].intermediate) == {1: 1.5, 2: 1.0, 3: pytest.approx(0.5 + 1 / 3)}


def test_pruning_needs_a_single_objective():
    with pytest.raises(PrunerError, match="single-objective study; this one has 2 directions"):
        Study(SPACE, "optuna.nsga2", direction=["minimize", "maximize"], pruner="asha")


@pytest.mark.timeout(120)
def test_a_cohort_cut_short_by_n_trials_stops_waiting():
    # Trial 2's cohort is (2, 3) but n_trials=3: trial 3 is never asked. Once the study asks no
    # more trials it says so on the channel, and trial 2, alone at rung 1, goes on.
    with ProcessPoolExecutor(2) as pool:
        study = unitune.optimize(staged_curve, SPACE, "grid", n_trials=3, batch_size=2, executor=pool,
                                 pruner=SuccessiveHalving(n_configs=2, min_resource=1, reduction_factor=2))
    assert outcome(study) == [("complete", 2), ("pruned", 1), ("complete", 2)]


def test_hyperband_through_the_study_stops_trials_at_their_bracket_rungs():
    hyperband = Hyperband(min_resource=1, max_resource=9, reduction_factor=3)  # brackets at 1, 3, 9

    def curve(params, trial):
        for step in range(1, 10):
            trial.report(abs(params["x"] - 0.3) + 1.0 / step, step)
            if trial.should_prune():
                raise unitune.TrialPruned()
        return abs(params["x"] - 0.3) + 1.0 / 9

    study = unitune.optimize(curve, {"x": unitune.Float(0.0, 1.0)}, "random", n_trials=34, seed=0,
                             pruner=hyperband)
    assert {t.state for t in study.trials} == {TrialState.COMPLETE, TrialState.PRUNED}
    for t in study.trials:
        rungs = list(hyperband.budgets(t.number))[:-1]
        last = max(t.intermediate)
        assert last == 9 if t.state is TrialState.COMPLETE else last in rungs
    # Bracket 2 starts at the full resource: its trials are never pruned.
    assert all(t.state is TrialState.COMPLETE for t in study.trials if hyperband.bracket(t.number) == 2)


@pytest.mark.timeout(120)
def test_a_budget_objective_in_a_process_pool():
    with ProcessPoolExecutor(2) as pool:
        study = unitune.optimize(budget_objective, SPACE, "grid", n_trials=6, executor=pool,
                                 pruner=ASHA(1, 3, 0, 9))
    assert outcome(study) == EXPECTED
    assert dict(study.trials[0].intermediate) == {1: 1.5, 3: pytest.approx(0.5 + 1 / 3), 9: pytest.approx(0.5 + 1 / 9)}


def test_a_resumed_study_prunes_against_its_stored_history(tmp_path):
    path = tmp_path / "study.db"
    first = unitune.optimize(flat_curve, SPACE, "grid", n_trials=3, storage=path, pruner=ASHA(1, 3, 0, 9))
    assert outcome(first) == EXPECTED[:3]
    # A new driver resumes the file: trials 3-5 are judged against trials 0-2 read back from SQLite
    # (alone, trial 3's 0.45 would go on; against the stored 0.4 it stops at step 1).
    resumed = unitune.optimize(flat_curve, SPACE, "grid", n_trials=6, storage=path, resume=True,
                               pruner=ASHA(1, 3, 0, 9))
    assert [t.params["k"] for t in sorted(resumed.trials, key=lambda t: t.number)] == list(range(6))
    assert outcome(resumed) == EXPECTED


@pytest.mark.timeout(120)
def test_asha_on_the_process_pool_unitune_owns():
    backend = RecordingGrid(SPACE)
    study = unitune.optimize(flat_curve, SPACE, backend, n_trials=6, executor="processes",
                             pruner=ASHA(1, 3, 0, 9))
    assert outcome(study) == EXPECTED
    assert len(backend.heard) == sum(step for _, step in EXPECTED)


def dies_once_then_flat(marker, params, trial):
    """Trial k=1 reports steps 1-3 and its worker dies, once; the retry runs the flat curve."""
    if params["k"] == 1 and not os.path.exists(marker):
        for step in (1, 2, 3):
            trial.report(0.01, step)  # would look excellent: must not leak into the retry's view
        open(marker, "w").close()
        os._exit(1)
    return flat_curve(params, trial)


@pytest.mark.timeout(120)
def test_a_retried_trial_is_judged_on_its_own_new_reports(tmp_path):
    objective = functools.partial(dies_once_then_flat, str(tmp_path / "died"))
    study = unitune.optimize(objective, {"k": Int(0, 1)}, "grid", n_trials=2, executor="processes",
                             max_retries=1, pruner=ASHA(1, 3, 0, 9))
    # k=0 (0.5) completes; k=1 dies once, then, retried, reports 0.6 at step 1: pruned there
    # (rung 1 holds 0.5 and 0.6, keep 1), not misled by the dead attempt's steps 1-3.
    assert outcome(study) == [("complete", 9), ("pruned", 1)]
    assert dict(study.trials[1].intermediate) == {1: 0.6}


@pytest.mark.timeout(120)
def test_a_budget_objective_under_synchronous_halving():
    # Schedule [1, 2]; each cohort's better trial (lower LOSS) is the one trained to budget 2.
    with ProcessPoolExecutor(2) as pool:
        study = unitune.optimize(budget_objective, SPACE, "grid", n_trials=6, batch_size=2, executor=pool,
                                 pruner=SuccessiveHalving(n_configs=2, min_resource=1, reduction_factor=2))
    assert outcome(study) == [("complete", 2), ("pruned", 1)] * 3


def test_a_budget_objective_keeps_its_own_defaulted_parameter():
    # `scale` has a default: it is the user's, not a slot for the trial handle.
    def objective(params, scale=10.0, budget=1):
        return params["k"] * scale + budget

    study = unitune.optimize(objective, SPACE, "grid", n_trials=2, pruner=MedianPruner(max_resource=2))
    for trial in study.trials:
        assert trial.state is TrialState.COMPLETE, trial.failure
        assert dict(trial.intermediate) == {1: trial.params["k"] * 10 + 1, 2: trial.params["k"] * 10 + 2}
