"""Successive halving, ASHA and Hyperband against hand-computed decisions and the papers' rules."""

from __future__ import annotations

import math
from collections import Counter

import numpy as np
import pytest

from unitune.pruners import ASHA, History, Hyperband, PrunerError, SuccessiveHalving, TrialReports
from unitune.trial import TrialState

C, P, R = TrialState.COMPLETE, TrialState.PRUNED, TrialState.RUNNING


def hist(trials: dict[int, tuple[TrialState, dict[int, float]]], direction="minimize", asked=None):
    return History(direction, {n: TrialReports(n, s, steps) for n, (s, steps) in trials.items()}, asked)


def test_asha_rungs_and_budgets():
    asha = ASHA(min_resource=1, reduction_factor=3, max_resource=27)
    assert asha.rungs() == [1, 3, 9]  # r * eta**k below R
    assert list(asha.budgets(0)) == [1, 3, 9, 27]
    # min_early_stopping_rate=1 starts one rung higher: 1 * 3**1.
    assert ASHA(1, 3, 1, 27).rungs() == [3, 9]
    assert ASHA(2, 2, 0, 16).rungs() == [2, 4, 8]


def test_asha_promotes_the_top_third_of_each_rung_as_trials_arrive():
    asha = ASHA(min_resource=1, reduction_factor=3, max_resource=27)
    seen: dict[int, tuple[TrialState, dict[int, float]]] = {}
    decisions = []
    # Trials reach rung 1 one after the other with these losses.
    for number, loss in enumerate([0.5, 0.6, 0.4, 0.45, 0.3, 0.35, 0.2]):
        seen[number] = (R, {1: loss})
        decisions.append(asha.should_prune(number, hist(seen)))
        if decisions[-1]:
            seen[number] = (P, {1: loss})
    # 0.5: alone, best -> on.            0.6: n=2, keep max(1, 2//3)=1 -> best is 0.5 -> pruned.
    # 0.4: n=3, keep 1 -> best -> on.    0.45: n=4, keep 1 (0.4) -> pruned.
    # 0.3: n=5, keep 1 -> best -> on.    0.35: n=6, keep 2 -> [0.3, 0.35] -> on.
    # 0.2: n=7, keep 2 -> on.
    assert decisions == [False, True, False, True, False, False, False]


def test_asha_decides_each_rung_once_at_the_crossing_report():
    asha = ASHA(min_resource=1, reduction_factor=3, max_resource=27)
    seen = {0: (R, {1: 0.5})}
    assert asha.should_prune(0, hist(seen)) is False
    # Better trials arrive at rung 1 later; trial 0's rung-1 promotion is not revisited at step 2.
    seen.update({1: (C, {1: 0.1, 3: 0.1}), 2: (C, {1: 0.2, 3: 0.2})})
    seen[0] = (R, {1: 0.5, 2: 0.45})
    assert asha.should_prune(0, hist(seen)) is False
    # At step 3 it crosses rung 3: values there 0.1, 0.2 and its 0.4: keep max(1, 3//3) = 1 -> pruned.
    seen[0] = (R, {1: 0.5, 2: 0.45, 3: 0.4})
    assert asha.should_prune(0, hist(seen)) is True


def test_asha_jump_over_rungs_and_maximize_and_nan():
    asha = ASHA(min_resource=1, reduction_factor=2, max_resource=16)  # rungs 1, 2, 4, 8
    others = {1: (C, {1: 0.9, 2: 0.9, 4: 0.9, 8: 0.9}), 2: (C, {1: 0.1, 2: 0.1, 4: 0.1, 8: 0.1})}
    # Maximize. Trial 0 reports only at step 8 (value 0.5): it crosses rungs 1, 2, 4, 8 at once
    # with the value 0.5 at each. Rung 1: values 0.9, 0.1, 0.5, keep max(1, 3//2) = 1 -> 0.9 only -> pruned.
    assert asha.should_prune(0, hist({**others, 0: (R, {8: 0.5})}, "maximize")) is True
    # Minimizing the same curves: 0.5 is second of three at every rung -> pruned too; 0.05 is best -> on.
    assert asha.should_prune(0, hist({**others, 0: (R, {8: 0.5})})) is True
    assert asha.should_prune(0, hist({**others, 0: (R, {8: 0.05})})) is False
    assert asha.should_prune(0, hist({0: (R, {1: math.nan})})) is True
    # Steps below the first rung decide nothing.
    assert ASHA(4, 2, 0, 16).should_prune(0, hist({**others, 0: (R, {1: 99.0, 3: 99.0})})) is False


def _paper_successive_halving(losses: np.ndarray, n: int, eta: int, r: int) -> list[list[int]]:
    """Jamieson & Talwalkar's successive halving as written in Li et al. (2018), Algorithm 1 lines
    3-9 for one bracket: T = n configurations; for i = 0..: n_i = floor(n eta^-i), r_i = r eta^i,
    keep top_k(T, L, floor(n_i / eta)). Returns T at each rung (before the cut)."""
    alive, rounds = list(range(n)), []
    i = 0
    while True:
        n_i, r_i = n // eta**i, r * eta**i
        assert len(alive) == n_i  # the paper's bookkeeping: n_i configurations at rung i
        rounds.append(sorted(alive))
        keep = n_i // eta
        if keep < 1:
            return rounds
        alive = sorted(alive, key=lambda c: (losses[c, r_i], c))[:keep]
        i += 1


@pytest.mark.parametrize(("n", "eta", "seed"), [(9, 3, 0), (27, 3, 1), (8, 2, 2), (16, 2, 3)])
def test_successive_halving_promotions_follow_the_paper(n, eta, seed):
    rng = np.random.default_rng(seed)
    sha = SuccessiveHalving(n_configs=n, min_resource=1, reduction_factor=eta)
    max_r = sha.max_resource
    # Learning curves: loss[c, step] for steps 0..max_r, decreasing from a random level.
    levels = rng.uniform(0.2, 1.0, n)
    rates = rng.uniform(0.05, 0.5, n)
    steps = np.arange(max_r + 1)
    losses = levels[:, None] * np.exp(-rates[:, None] * steps[None, :]) + rng.normal(0, 0.01, (n, max_r + 1))
    expected = _paper_successive_halving(losses, n, eta, 1)
    # Drive the cohort synchronously: every alive trial reports up to the rung, then each asks.
    state = {c: (R, {}) for c in range(n)}
    got = []
    for rung in [*sha.rungs(), max_r]:
        alive = [c for c in range(n) if state[c][0] is R]
        got.append(alive)
        for c in alive:
            state[c] = (R, {s: float(losses[c, s]) for s in range(1, rung + 1)})
        decisions = {c: sha.should_prune(c, hist(state)) for c in alive}
        assert None not in decisions.values()
        for c, prune in decisions.items():
            if prune:
                state[c] = (P, state[c][1])
    assert got == expected
    assert sum(s is R for s, _ in state.values()) == 1  # one configuration reaches max_resource


def test_successive_halving_waits_for_its_cohort_and_stops_waiting_when_closed():
    sha = SuccessiveHalving(n_configs=3, min_resource=1, reduction_factor=3)  # rungs [1], max 3
    assert sha.rungs() == [1] and sha.max_resource == 3 and sha.cohort == 3
    # Trial 1 has not reported at rung 1 yet and trial 2 was not asked: wait.
    assert sha.should_prune(0, hist({0: (R, {1: 0.5}), 1: (R, {})})) is None
    # Trial 1 failed before the rung (it ended without reaching it), trial 2 never comes (the study
    # closed after asking 2 trials): trial 0 is alone at the rung -> kept.
    alone = hist({0: (R, {1: 0.5}), 1: (TrialState.FAILED, {})}, asked=2)
    assert alone.closed
    assert sha.should_prune(0, alone) is False
    # Closed after asking 3 trials: trial 2 was asked, and its worker has not started it yet
    # (no report, no state in the history): it comes, so trial 0 waits for it.
    waiting = hist({0: (R, {1: 0.5}), 1: (TrialState.FAILED, {})}, asked=3)
    assert sha.should_prune(0, waiting) is None
    # All three reached rung 1: keep floor(3/3) = 1, the best (0.2).
    full = {0: (R, {1: 0.5}), 1: (R, {1: 0.2}), 2: (R, {1: 0.7})}
    assert [sha.should_prune(c, hist(full)) for c in range(3)] == [True, False, True]
    # The next cohort (3, 4, 5) does not compete with the first.
    assert sha.should_prune(3, hist({**full, 3: (R, {1: 0.9}), 4: (R, {1: 0.95}), 5: (R, {1: 0.99})})) is False


def test_hyperband_brackets_match_the_paper():
    hb = Hyperband(min_resource=1, max_resource=81, reduction_factor=3)
    # Li et al. (2018), Table 1 (R = 81, eta = 3): s_max = 4, n = 81, 34, 15, 8, 5 for s = 4 .. 0.
    assert hb.s_max == 4
    assert hb.bracket_sizes == (81, 34, 15, 8, 5)
    # Bracket with early-stopping rate s starts at r_i = 81 * 3**-(4 - s): 1, 3, 9, 27, 81.
    assert [hb._brackets[s].budgets(0)[0] for s in range(5)] == [1, 3, 9, 27, 81]
    cycle = [hb.bracket(n) for n in range(sum(hb.bracket_sizes))]
    assert Counter(cycle) == {0: 81, 1: 34, 2: 15, 3: 8, 4: 5}
    assert Hyperband(1, 81, 3, n_brackets=2).bracket_sizes == (81, 34)
    with pytest.raises(PrunerError, match="n_brackets must be at most s_max"):
        Hyperband(1, 81, 3, n_brackets=6)


def test_hyperband_trials_compete_only_within_their_bracket():
    hb = Hyperband(min_resource=1, max_resource=9, reduction_factor=3)  # s_max 2, sizes (9, 5, 3)
    in_0 = [n for n in range(17) if hb.bracket(n) == 0][:2]
    in_1 = [n for n in range(17) if hb.bracket(n) == 1][:1]
    a, b = in_0
    (c,) = in_1
    assert list(hb.budgets(c)) == [3, 9]
    # a is excellent, c (other bracket) is even better: b, mediocre, competes with a only.
    seen = {a: (C, {1: 0.1, 3: 0.1, 9: 0.1}), c: (C, {3: 0.01, 9: 0.01}), b: (R, {1: 0.5})}
    assert hb.should_prune(b, hist(seen)) is True  # 2 at rung 1, keep 1 = a
    # c's bracket starts at rung 3: a trial there at step 3 competes with c only.
    seen2 = {a: (C, {1: 0.1, 3: 0.1}), c: (R, {3: 0.05})}
    assert hb.should_prune(c, hist(seen2)) is False


def test_bad_knobs():
    with pytest.raises(PrunerError, match="reduction_factor must be an integer >= 2, got 1"):
        ASHA(reduction_factor=1)
    with pytest.raises(PrunerError, match=r"max_resource \(2\) must be at least min_resource \(4\)"):
        ASHA(min_resource=4, max_resource=2)
    with pytest.raises(PrunerError, match="n_configs must be an integer >= 2"):
        SuccessiveHalving(1)
    with pytest.raises(PrunerError, match="has no resource schedule"):
        ASHA().budgets(0)
