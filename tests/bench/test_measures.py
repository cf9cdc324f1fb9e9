"""COCO-style measures and the separation tests, on small fixed inputs worked out by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest
from unitune_bench.api import parse_backend_options
from unitune_bench.coco import TARGETS, ecdf, ert, log10_regret, reference_target, runtimes
from unitune_bench.scoring import compute_scores
from unitune_bench.separation import seeds_needed, sidak_alpha, superiority, verdict

from unitune.errors import UnituneError


def test_coco_targets_are_the_51_standard_precisions() -> None:
    assert len(TARGETS) == 51
    assert TARGETS[0] == 100.0 and TARGETS[-1] == 1e-8
    assert np.allclose(np.diff(np.log10(TARGETS)), -0.2)


def test_runtimes_ecdf_and_ert_by_hand() -> None:
    # Two runs on a problem with optimum 0; best-so-far curves over 4 evaluations.
    curves = np.array([[5.0, 0.5, 0.5, 0.05],
                       [50.0, 50.0, 2.0, 2.0]])
    targets = np.array([10.0, 1.0, 0.1])
    rt = runtimes(curves, 0.0, targets)
    # run 0 reaches 10 at eval 1, 1 at eval 2, 0.1 at eval 4; run 1 reaches 10 at eval 3 only.
    assert rt.tolist() == [[1.0, 2.0, 4.0], [3.0, math.inf, math.inf]]
    # 6 (run, target) pairs: solved by eval 1: 1; 2: 2; 3: 3; 4: 4.
    assert ecdf([rt], 4).tolist() == pytest.approx([1 / 6, 2 / 6, 3 / 6, 4 / 6])
    # ERT to 1.0: run 0 spends 2, run 1 fails after all 4 evaluations; one success -> 6.
    assert ert(rt[:, 1], np.array([4, 4])) == 6.0
    assert ert(rt[:, 0], np.array([4, 4])) == 2.0  # (1 + 3) / 2
    assert ert(np.array([math.inf]), np.array([4])) == math.inf
    assert log10_regret(np.array([1e-3, 0.0, 10.0]), 0.0).tolist() == pytest.approx([-3, -8, 1])


def test_ecdf_weighs_every_problem_equally() -> None:
    one = np.array([[1.0]])            # problem A: 1 pair, solved at eval 1
    many = np.full((1, 4), math.inf)   # problem B: 4 pairs, never solved
    assert ecdf([one, many], 2).tolist() == [0.5, 0.5]


def test_reference_target_is_the_hardest_reached_by_half_the_runs() -> None:
    rt = np.full((4, len(TARGETS)), math.inf)
    rt[:2, :11] = 5.0   # two of four runs reach every target down to 10^0 (index 10)
    rt[0, 11:15] = 9.0  # only one reaches 10^-0.2 .. 10^-0.8
    assert reference_target(rt) == pytest.approx(1.0)
    assert reference_target(np.full((2, len(TARGETS)), math.inf)) is None


def _run(backend, seed, values):
    return {"backend": backend, "problem": "p", "seed": seed, "budget": len(values), "status": "ok",
            "error": None, "wall": 1.0,
            "trials": [{"value": v, "ask": 0.0, "tell": 0.0, "objective": 0.0, "state": "complete"}
                       for v in values]}


def test_report_measures_for_a_known_optimum() -> None:
    runs = [_run("random", s, [5.0 + s, 3.0 + s]) for s in range(3)]
    runs += [_run("good", s, [1.0 + s / 100, 1e-3]) for s in range(3)]
    sc = compute_scores(runs, {"p": {"direction": "minimize", "optimum": 0.0}}, 2)
    assert sc.measure["p"] == "log10 regret"
    assert sc.log_regret["p"]["good"].tolist() == pytest.approx([-3, -3, -3])
    assert sc.log_regret["p"]["random"].tolist() == pytest.approx(np.log10([3.0, 4.0, 5.0]))
    # Targets down to 10^0 are reached by "good" (3 runs) = half of the 6 runs; 10^-0.2 too.
    assert sc.ert_target["p"] == pytest.approx(10 ** -3.0)
    assert sc.ert["p"]["good"] == 2.0 and sc.ert["p"]["random"] == math.inf
    assert sc.summary["good"]["targets_solved"] > sc.summary["random"]["targets_solved"]
    unknown = compute_scores(runs, {"p": {"direction": "minimize", "optimum": None}}, 2)
    assert unknown.measure["p"] == "normalized score" and unknown.runtimes["p"] == {}


def test_verdicts_winner_tie_and_not_separated() -> None:
    alpha = sidak_alpha(3)
    assert alpha == pytest.approx(1 - 0.95 ** (1 / 3))
    low, mid, high = np.arange(10.0), np.arange(10.0) + 100, np.arange(10.0) + 200
    v = verdict({"a": low, "b": mid, "c": high}, alpha)
    assert (v.kind, v.members, v.ranks) == ("winner", ("a",), {"a": 1, "b": 2, "c": 3})
    v = verdict({"a": low, "b": low + 0.5, "c": high}, alpha)
    assert (v.kind, v.members) == ("tie", ("a", "b"))
    assert v.ranks == {"a": 1, "b": 1, "c": 3}
    rng = np.random.default_rng(0)
    v = verdict({"a": rng.normal(size=6), "b": rng.normal(size=6) + 0.2}, sidak_alpha(2))
    assert v.kind == "not separated" and v.ranks == {"a": 1, "b": 1}


def test_seeds_needed_follows_noethers_formula() -> None:
    x, y = np.array([0.0, 1.0, 2.0, 3.0]), np.array([1.5, 2.5, 3.5, 4.5])
    p = superiority(x, y)  # pairs with x < y: 4 + 4 + 3 + 2 = 13 of 16 -> 0.8125
    assert p == 0.8125
    from scipy.stats import norm

    expected = math.ceil((norm.ppf(0.95) + norm.ppf(0.8)) ** 2 / (6 * 0.3125**2))
    assert seeds_needed(x, y, 0.05) == expected
    assert seeds_needed(x, y, 0.05, per_seed=4) == math.ceil(expected / 4)
    assert seeds_needed(x, x, 0.05) == math.inf


def test_backend_options_parse_both_forms_and_reject_bad_ones() -> None:
    assert parse_backend_options(["skopt.gp:n_initial_points=5;acq_func=EI",
                                  '{"grid": {"shuffle": true}}']) == {
        "skopt.gp": {"n_initial_points": 5, "acq_func": "EI"}, "grid": {"shuffle": True}}
    with pytest.raises(UnituneError, match=r"expected LABEL:KEY=VALUE"):
        parse_backend_options(["skopt.gp=5"])
    with pytest.raises(UnituneError, match="invalid JSON"):
        parse_backend_options(["{oops"])


def _runs_for(problem, backend, offsets, rng):
    return [{**_run(backend, seed, list(offset + rng.uniform(0, 0.1, 3))), "problem": problem}
            for seed, offset in enumerate(offsets)]


def test_headline_names_a_winner_only_when_the_tests_separate_it() -> None:
    from unitune_bench.report import _headline, leaderboard_order, summary_table

    rng = np.random.default_rng(0)
    info = {p: {"direction": "minimize", "optimum": None} for p in ("p1", "p2")}
    runs = []
    for p in info:
        runs += _runs_for(p, "random", [5.0] * 8, rng) + _runs_for(p, "good", [1.0] * 8, rng)
    sc = compute_scores(runs, info, 3)
    order = leaderboard_order(sc)
    assert sc.overall.kind == "winner" and order[0] == "good"
    assert _headline(sc, order, 8).startswith("**Winner: `good`**")
    assert "| 1 | good |" in summary_table(sc, order)
    # Overlapping distributions: no test separates them; the ranks tie, the seeds needed are reported.
    runs = []
    for p in info:
        runs += _runs_for(p, "random", [1.01] * 4, rng) + _runs_for(p, "other", [1.0] * 4, rng)
    sc = compute_scores(runs, info, 3)
    order = leaderboard_order(sc)
    text = _headline(sc, order, 4)
    assert text.startswith("**No winner: the backends are not separated**")
    assert "would need" in text and "(this run has 4)" in text
    table = summary_table(sc, order)
    assert "| 1= | random |" in table and "| 1= | other |" in table
