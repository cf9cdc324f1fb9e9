"""Scores: Bayesmark's normalized scores, regret, AUC, Dewancker ranking, bootstrap."""

from __future__ import annotations

import numpy as np
import pytest
from unitune_bench.scoring import (
    bayesmark_quantile,
    bootstrap_ci,
    compute_scores,
    dewancker_ranking,
    run_curve,
)

INFO = {"p": {"direction": "minimize", "optimum": 0.0},
        "q": {"direction": "maximize", "optimum": None}}


def _run(backend, problem, seed, values, status="ok"):
    trials = [{"value": v, "best": None, "ask": 0.001, "tell": 0.001, "objective": 0.01,
               "state": "complete" if v is not None else "failed"} for v in values]
    return {"backend": backend, "problem": problem, "seed": seed, "budget": 4, "status": status,
            "error": None, "wall": 1.0, "trials": trials}


def _fake_runs(rng):
    runs = []
    for seed in range(7):
        for problem, sign in (("p", 1.0), ("q", -1.0)):
            for backend, scale in (("random", 1.0), ("good", 0.1), ("bad", 3.0)):
                runs.append(_run(backend, problem, seed, list(sign * scale * rng.uniform(0.1, 1, 4))))
    return runs


def test_bayesmark_quantile_is_an_order_statistic() -> None:
    assert float(bayesmark_quantile([5.0, 1.0, 3.0], 0.5)) == 3.0
    assert float(bayesmark_quantile([4.0, 1.0, 3.0, 2.0], 0.5)) == 2.0
    assert float(bayesmark_quantile([4.0, 1.0, 3.0, 2.0], 0.01)) == 1.0


def test_run_curve_is_best_so_far_and_keeps_the_best_after_a_stop() -> None:
    run = _run("random", "p", 0, [3.0, None, 1.0])
    assert run_curve(run, 1.0, 5).tolist() == [3.0, 3.0, 1.0, 1.0, 1.0]
    assert run_curve(_run("r", "q", 0, [None, 2.0]), -1.0, 3).tolist() == [np.inf, -2.0, -2.0]


def test_random_relative_median_of_random_is_one_at_every_budget() -> None:
    sc = compute_scores(_fake_runs(np.random.default_rng(3)), INFO, 4)
    for problem in ("p", "q"):
        assert sc.random_relative_median[problem]["random"].tolist() == [1.0] * 4
    assert sc.summary["random"]["random_relative_median"] == 1.0


def _fixed(backend, problem, seed, values):
    run = _run(backend, problem, seed, values)
    run["budget"] = 2
    return run


def test_bayesmark_scores_on_fixed_raw_results_match_the_hand_derivation() -> None:
    """Two test cases, two seeds, two trials; every expected number derived by hand below from
    Bayesmark's published formulas (experiment_baseline.py, experiment_analysis.py, quantiles.py,
    expected_max.py). quantile(X, q) = the ceil(n q)-th smallest of X; pad(v) = 10000 ulps below v.

    Test case P (minimize); losses per seed: random [4, 2], [3, 5]; x [1, 6], [2, 2].
      best-so-far S: random [4, 2], [3, 3]; x [1, 1], [2, 2]
      opt = pad(min of all 8 losses = 1) ~ 1;  random evals sorted [2, 3, 4, 5], n = 4
      clip = quantile(evals, 1/2) = 2nd = 3
      R_med(2) = quantile(evals, 1 - (1/2)^(1/2) = 0.2929): ceil(4 x 0.2929) = 2nd = 3
      mean score at t=2: x: mean(clip((1-1)/(3-1)), (2-1)/(3-1)) = mean(0, 0.5) = 0.25
                         random: mean((2-1)/2, (3-1)/2) = mean(0.5, 1) = 0.75
      median score at t=2: x: (lower median{1, 2} = 1  - 1) / (R_med - 1) = 0
                           random: (lower median{2, 3} = 2  - 1) / (3 - 1) = 0.5
      E[min of 2 random evals clipped at 3] = E min of 2 draws from {3, 2, 3, 3} without
      replacement: 3 of the 6 pairs hold the 2 -> (3 x 2 + 3 x 3) / 6 = 2.5; normed (2.5-1)/2 = 0.75
    Test case Q (maximize: loss = -value); values per seed: random [1, 3], [2, 0]; x [5, 4], [0, 1].
      losses: random [-1, -3], [-2, 0]; x [-5, -4], [0, -1]
      S: random [-1, -3], [-2, -2]; x [-5, -5], [0, -1]
      opt = pad(-5) ~ -5;  random evals sorted [-3, -2, -1, 0]; clip = 2nd = -2; R_med(2) = 2nd = -2
      mean score: x: mean(clip(0), clip((-1+5)/(-2+5) = 4/3) = 1) = 0.5
                  random: mean((-3+5)/3, (-2+5)/3) = mean(2/3, 1) = 5/6
      median score: x: (lower median{-5, -1} = -5 + 5) / 3 = 0
                    random: (lower median{-3, -2} = -3 + 5) / 3 = 2/3
      E[min of 2 from {-2, -3, -2, -2}] = (3 x -3 + 3 x -2) / 6 = -2.5; normed (-2.5+5)/3 = 5/6
    Over test cases (k = 2):
      mean score = mean over cases: x (0.25 + 0.5)/2 = 0.375 (leaderboard 62.5);
                                    random (0.75 + 5/6)/2 = 19/24
      median score = quantile(cases, 1/2) = the ceil(2/2) = 1st = the smaller one:
                     x min(0, 0) = 0; random min(0.5, 2/3) = 0.5 (np.median would give 7/12)
      normed mean score = mean score / mean of normed baselines (0.75 + 5/6)/2 = 19/24:
                     x 0.375 / (19/24) = 9/19; random 1
    """
    runs = [_fixed("random", "P", 0, [4.0, 2.0]), _fixed("random", "P", 1, [3.0, 5.0]),
            _fixed("x", "P", 0, [1.0, 6.0]), _fixed("x", "P", 1, [2.0, 2.0]),
            _fixed("random", "Q", 0, [1.0, 3.0]), _fixed("random", "Q", 1, [2.0, 0.0]),
            _fixed("x", "Q", 0, [5.0, 4.0]), _fixed("x", "Q", 1, [0.0, 1.0])]
    info = {"P": {"direction": "minimize", "optimum": None},
            "Q": {"direction": "maximize", "optimum": None}}
    sc = compute_scores(runs, info, 2)
    assert sc.clip == {"P": 3.0, "Q": -2.0}
    assert sc.opt["P"] == pytest.approx(1.0, abs=1e-11) and sc.opt["P"] < 1.0
    assert sc.opt["Q"] == pytest.approx(-5.0, abs=1e-10) and sc.opt["Q"] < -5.0
    assert sc.random_median_baseline["P"][-1] == 3.0
    assert sc.random_median_baseline["Q"][-1] == -2.0
    approx = lambda v: pytest.approx(v, abs=1e-9)  # noqa: E731  (the padding moves opt by ~1e-11)
    assert sc.mean_score["P"]["x"][-1] == approx(0.25)
    assert sc.mean_score["P"]["random"][-1] == approx(0.75)
    assert sc.mean_score["Q"]["x"][-1] == approx(0.5)
    assert sc.mean_score["Q"]["random"][-1] == approx(5 / 6)
    assert sc.median_score["P"]["x"][-1] == approx(0.0)
    assert sc.median_score["P"]["random"][-1] == approx(0.5)
    assert sc.median_score["Q"]["x"][-1] == approx(0.0)
    assert sc.median_score["Q"]["random"][-1] == approx(2 / 3)
    assert sc.random_mean_baseline["P"][-1] == approx(0.75)
    assert sc.random_mean_baseline["Q"][-1] == approx(5 / 6)
    x, rnd = sc.summary["x"], sc.summary["random"]
    assert x["mean_score"] == approx(0.375) and x["leaderboard"] == approx(62.5)
    assert rnd["mean_score"] == approx(19 / 24)
    assert x["median_score"] == approx(0.0)
    assert rnd["median_score"] == approx(0.5)  # the lower median, not (0.5 + 2/3) / 2
    assert x["normed_mean_score"] == approx(9 / 19)
    assert rnd["normed_mean_score"] == approx(1.0)


def test_mean_score_follows_bayesmarks_formula() -> None:
    runs = _fake_runs(np.random.default_rng(4))
    sc = compute_scores(runs, INFO, 4)
    losses = [t["value"] for r in runs if r["problem"] == "p" for t in r["trials"]]
    random_losses = [t["value"] for r in runs if r["problem"] == "p" and r["backend"] == "random"
                     for t in r["trials"]]
    opt, clip = min(losses), float(np.sort(random_losses)[int(np.ceil(len(random_losses) / 2)) - 1])
    assert sc.opt["p"] == pytest.approx(opt, rel=1e-9)
    assert sc.clip["p"] == clip
    finals = [min(t["value"] for t in r["trials"]) for r in runs
              if r["problem"] == "p" and r["backend"] == "good"]
    expected = np.mean(np.clip((np.array(finals) - opt) / (clip - opt), -1, 1))
    assert sc.mean_score["p"]["good"][-1] == pytest.approx(expected, rel=1e-6)
    row = sc.summary["good"]
    assert row["leaderboard"] == pytest.approx(100 * (1 - row["mean_score"]))
    assert row["mean_score_ci"][0] <= row["mean_score"] <= row["mean_score_ci"][1]
    assert sc.summary["good"]["mean_score"] < sc.summary["random"]["mean_score"] < sc.summary["bad"]["mean_score"]


def test_regret_uses_the_known_optimum_only() -> None:
    sc = compute_scores(_fake_runs(np.random.default_rng(5)), INFO, 4)
    assert "random" in sc.regret["p"]
    assert sc.regret["q"] == {}
    assert (sc.regret["p"]["good"] >= 0).all()


def test_dewancker_ranking_gives_borda_points_and_firsts() -> None:
    sc = compute_scores(_fake_runs(np.random.default_rng(6)), INFO, 4)
    for problem in ("p", "q"):
        assert sc.borda[problem] == {"random": 1, "good": 2, "bad": 0}
    assert sc.summary["good"]["borda"] == 4
    assert sc.summary["good"]["firsts"] == 2
    assert sc.summary["bad"]["firsts"] == 0


def test_ties_and_insignificant_differences_share_points() -> None:
    same = np.array([1.0, 2.0, 3.0])
    wins, borda = dewancker_ranking([{"a": same, "b": same.copy()}], alpha=0.05)
    assert wins == {"a": 0, "b": 0}
    assert borda == {"a": 0, "b": 0}
    wins, borda = dewancker_ranking([{"a": np.arange(8.0), "b": np.arange(8.0) + 100}], alpha=0.05)
    assert wins == {"a": 1, "b": 0}
    assert borda == {"a": 1, "b": 0}


def test_failed_runs_are_listed_and_keep_their_best() -> None:
    runs = _fake_runs(np.random.default_rng(7))
    runs.append(_run("crashy", "p", 0, [0.5], status="failed"))
    sc = compute_scores(runs, INFO, 4)
    assert [r["backend"] for r in sc.failures] == ["crashy"]
    assert sc.curves["p"]["crashy"].tolist() == [[0.5] * 4]
    assert sc.summary["crashy"]["failed"] == 1
    assert sc.summary["crashy"]["complete"] is False


def test_bootstrap_is_seeded() -> None:
    data = np.arange(10.0)
    a = bootstrap_ci(data, np.mean, rng=np.random.default_rng(0))
    b = bootstrap_ci(data, np.mean, rng=np.random.default_rng(0))
    assert a == b
    assert a[0] < 4.5 < a[1]


def test_random_relative_median_is_undefined_where_random_found_the_best() -> None:
    runs = [_run("random", "p", s, [0.1, 0.2, 0.3, 0.4]) for s in range(3)]
    runs += [_run("other", "p", s, [0.5, 0.6, 0.7, 0.8]) for s in range(3)]
    sc = compute_scores(runs, {"p": INFO["p"]}, 4)
    assert np.isnan(sc.random_relative_median["p"]["other"]).all()
    assert any("random-relative median is undefined" in note for note in sc.notes)
    # Bayesmark's own median score stays defined (and huge), with Bayesmark's warning as a note.
    assert np.isfinite(sc.median_score["p"]["other"]).all()
    assert any("Bayesmark warns" in note for note in sc.notes)
    assert sc.mean_score["p"]["random"][-1] == pytest.approx(0.0, abs=1e-9)
