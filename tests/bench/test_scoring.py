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


def test_random_median_score_is_one_at_every_budget() -> None:
    sc = compute_scores(_fake_runs(np.random.default_rng(3)), INFO, 4)
    for problem in ("p", "q"):
        assert sc.median_score[problem]["random"].tolist() == [1.0] * 4
    assert sc.summary["random"]["median_score_curve"].tolist() == [1.0] * 4


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


def test_median_score_is_undefined_where_random_found_the_best() -> None:
    runs = [_run("random", "p", s, [0.1, 0.2, 0.3, 0.4]) for s in range(3)]
    runs += [_run("other", "p", s, [0.5, 0.6, 0.7, 0.8]) for s in range(3)]
    sc = compute_scores(runs, {"p": INFO["p"]}, 4)
    assert np.isnan(sc.median_score["p"]["other"]).all()
    assert any("median score is undefined" in note for note in sc.notes)
    assert sc.mean_score["p"]["random"][-1] == pytest.approx(0.0, abs=1e-9)
