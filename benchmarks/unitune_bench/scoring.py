"""Scores from recorded runs: regret, AUC, Bayesmark's normalized scores, rankings, CIs.

Everything is computed on losses (``loss = value`` when minimizing, ``-value`` when
maximizing), on the best-so-far curve ``S[t]`` of each run (``inf`` until a trial completes; a run
that stopped early keeps its last best for the rest of the budget). The formulas are in
``docs/benchmarks.md``.
"""

from __future__ import annotations

import itertools
import math
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy.stats import mannwhitneyu

__all__ = [
    "BOOTSTRAP_SAMPLES",
    "Scores",
    "bayesmark_quantile",
    "bootstrap_ci",
    "compute_scores",
    "dewancker_ranking",
    "run_curve",
]

BOOTSTRAP_SAMPLES = 1000
FAMILY_ALPHA = 0.05
_PAD_FACTOR = 10000
_MIN_POS = np.nextafter(0, 1)
OK_STATUSES = ("ok", "exhausted")


def bayesmark_quantile(x: Sequence[float] | np.ndarray, q: float, axis: int = -1) -> np.ndarray:
    """Bayesmark's quantile: the order statistic number ``ceil(n q)`` (1-based) of ``x``.

    >>> float(bayesmark_quantile([3.0, 1.0, 2.0, 4.0], 0.5))
    2.0
    """
    x = np.sort(np.asarray(x, dtype=float), axis=axis)
    n = x.shape[axis]
    idx = max(math.ceil(n * q), 1) - 1
    return np.take(x, idx, axis=axis)


def bootstrap_ci(samples: np.ndarray, statistic, *, rng: np.random.Generator,
                 n_boot: int = BOOTSTRAP_SAMPLES, level: float = 0.95) -> tuple[float, float]:
    """Percentile bootstrap interval of ``statistic`` over the first axis of ``samples``."""
    samples = np.asarray(samples, dtype=float)
    n = samples.shape[0]
    if n == 0:
        return (math.nan, math.nan)
    idx = rng.integers(0, n, size=(n_boot, n))
    stats = np.array([statistic(samples[i]) for i in idx], dtype=float)
    tail = (1 - level) / 2 * 100
    with np.errstate(invalid="ignore"):
        lo, hi = np.nanpercentile(stats, [tail, 100 - tail]) if np.isfinite(stats).any() else (math.inf,) * 2
    return float(lo), float(hi)


def run_curve(run: Mapping[str, Any], sign: float, budget: int) -> np.ndarray:
    """The best-so-far loss after each of ``budget`` trials (``inf`` before the first success)."""
    losses = np.full(budget, np.inf)
    for i, trial in enumerate(run["trials"][:budget]):
        if trial.get("value") is not None:
            losses[i] = sign * trial["value"]
    curve = np.minimum.accumulate(losses)
    stop = min(len(run["trials"]), budget)
    if 0 < stop < budget:
        curve[stop:] = curve[stop - 1]
    return curve


def _pad_below(best: float) -> float:
    pad = _PAD_FACTOR * np.spacing(-max(_MIN_POS, abs(best)))
    return float(best + pad)


def dewancker_ranking(samples_by_metric: Sequence[Mapping[str, np.ndarray]],
                      alpha: float) -> tuple[dict[str, int], dict[str, int]]:
    """Wins and Borda points of each backend on one problem (Dewancker et al. 2016, sec. 2.1.1).

    For each metric in order of precedence, backend A wins against B when a one-sided
    Mann-Whitney U test says A's values are lower (p < alpha); later metrics only add wins while
    backends are still tied. Borda points = the number of backends with strictly fewer wins.
    """
    names = list(samples_by_metric[0])
    wins = dict.fromkeys(names, 0)
    for samples in samples_by_metric:
        for a, b in itertools.permutations(names, 2):
            x, y = samples[a], samples[b]
            if len(x) == 0 or len(y) == 0 or np.array_equal(np.sort(x), np.sort(y)):
                continue
            if mannwhitneyu(x, y, alternative="less").pvalue < alpha:
                wins[a] += 1
        if len(set(wins.values())) == len(names):
            break
    borda = {n: sum(wins[o] < wins[n] for o in names) for n in names}
    return wins, borda


@dataclass
class Scores:
    """Everything the report shows, per problem and per backend."""

    budget: int
    backends: list[str]
    problems: list[str]
    #: problem -> backend -> array (seeds, budget) of best-so-far losses
    curves: dict[str, dict[str, np.ndarray]] = field(default_factory=dict)
    opt: dict[str, float] = field(default_factory=dict)
    clip: dict[str, float] = field(default_factory=dict)
    #: problem -> backend -> mean normalized score after each trial
    mean_score: dict[str, dict[str, np.ndarray]] = field(default_factory=dict)
    median_score: dict[str, dict[str, np.ndarray]] = field(default_factory=dict)
    regret: dict[str, dict[str, np.ndarray]] = field(default_factory=dict)
    auc: dict[str, dict[str, np.ndarray]] = field(default_factory=dict)
    borda: dict[str, dict[str, int]] = field(default_factory=dict)
    wins: dict[str, dict[str, int]] = field(default_factory=dict)
    alpha: dict[str, float] = field(default_factory=dict)
    #: backend -> aggregated numbers (see compute_scores)
    summary: dict[str, dict[str, Any]] = field(default_factory=dict)
    failures: list[dict[str, Any]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def compute_scores(runs: Sequence[Mapping[str, Any]], problem_info: Mapping[str, Mapping[str, Any]],
                   budget: int, *, baseline: str = "random", seed: int = 0) -> Scores:
    """Score ``runs`` (records from runs.jsonl at this ``budget``) against the random baseline."""
    runs = [r for r in runs if r["budget"] == budget and r["problem"] in problem_info]
    backends = sorted({r["backend"] for r in runs}, key=lambda b: (b != baseline, b))
    problems = [p for p in problem_info if any(r["problem"] == p for r in runs)]
    sc = Scores(budget=budget, backends=backends, problems=problems)
    rng = np.random.default_rng(seed)
    sc.failures = [r for r in runs if r["status"] not in OK_STATUSES]
    for p in problems:
        info = problem_info[p]
        sign = 1.0 if info["direction"] == "minimize" else -1.0
        prs = sorted((r for r in runs if r["problem"] == p), key=lambda r: r["seed"])
        sc.curves[p] = {b: np.array([run_curve(r, sign, budget) for r in prs if r["backend"] == b])
                        .reshape(-1, budget) for b in backends}
        all_losses = [sign * t["value"] for r in prs for t in r["trials"] if t.get("value") is not None]
        random_losses = [sign * t["value"] for r in prs if r["backend"] == baseline
                         for t in r["trials"] if t.get("value") is not None]
        if not all_losses:
            sc.notes.append(f"{p}: no trial completed on any backend; not scored")
            continue
        opt = _pad_below(min(all_losses))
        sc.opt[p] = opt
        if random_losses:
            sc.clip[p] = float(bayesmark_quantile(random_losses, 0.5))
        else:
            sc.notes.append(f"{p}: no completed random-search trial, so no normalized score")
        base = sc.curves[p].get(baseline)
        base_med = (bayesmark_quantile(base, 0.5, axis=0) if base is not None and len(base)
                    else np.full(budget, np.nan))
        # Where random search's median best is the best value ever seen, the denominator is only
        # the padding: Bayesmark warns that the score is meaningless; we leave it undefined.
        defined = np.isfinite(base_med) & (base_med > min(all_losses))
        if base is not None and len(base) and not defined.all():
            sc.notes.append(f"{p}: random search's median best is the best value seen at "
                            f"{int((~defined).sum())} of {budget} budgets; the median score is "
                            "undefined there (n/a)")
        optimum = info.get("optimum")
        sc.mean_score[p], sc.median_score[p], sc.regret[p], sc.auc[p] = {}, {}, {}, {}
        for b, curve in sc.curves[p].items():
            if len(curve) == 0:
                continue
            if p in sc.clip:
                with np.errstate(invalid="ignore", divide="ignore"):
                    normed = np.clip((curve - opt) / (sc.clip[p] - opt), -1.0, 1.0)
                    sc.mean_score[p][b] = normed.mean(axis=0)
                    sc.auc[p][b] = normed.mean(axis=1)
                    med = bayesmark_quantile(curve, 0.5, axis=0)
                    sc.median_score[p][b] = np.where(defined, (med - opt) / (base_med - opt), np.nan)
            if optimum is not None:
                sc.regret[p][b] = curve[:, -1] - sign * optimum
        finals = {b: c[:, -1] for b, c in sc.curves[p].items() if len(c)}
        k = len(finals)
        alpha = 1 - (1 - FAMILY_ALPHA) ** (1 / max(1, k * (k - 1) // 2))
        sc.alpha[p] = alpha
        metrics = [finals] + ([sc.auc[p]] if sc.auc[p] else [])
        sc.wins[p], sc.borda[p] = dewancker_ranking(metrics, alpha)
    _summarize(sc, rng, runs)
    return sc


def _summarize(sc: Scores, rng: np.random.Generator, runs: Sequence[Mapping[str, Any]]) -> None:
    scored = [p for p in sc.problems if p in sc.clip]
    for b in sc.backends:
        mine = [r for r in runs if r["backend"] == b]
        per_problem = [sc.mean_score[p][b] for p in scored if b in sc.mean_score[p]]
        complete = len(per_problem) == len(scored) and bool(scored)
        row: dict[str, Any] = {"problems": len(per_problem), "complete": complete}
        if per_problem:
            curve = np.mean(per_problem, axis=0)
            row["mean_score_curve"] = curve
            row["mean_score"] = float(curve[-1])
            row["leaderboard"] = 100 * (1 - float(curve[-1]))
            row["mean_score_ci"] = _score_ci(sc, b, scored, rng)
            med = [sc.median_score[p][b] for p in scored if b in sc.median_score[p]]
            with warnings.catch_warnings():  # a budget where every problem is n/a stays NaN
                warnings.simplefilter("ignore", RuntimeWarning)
                row["median_score_curve"] = np.nanmedian(np.array(med), axis=0)
            row["median_score"] = float(row["median_score_curve"][-1])
            row["auc"] = float(np.mean([np.mean(sc.auc[p][b]) for p in scored if b in sc.auc[p]]))
        row["borda"] = sum(sc.borda[p].get(b, 0) for p in sc.borda)
        row["firsts"] = sum(1 for p in sc.borda if b in sc.borda[p]
                            and sc.borda[p][b] == max(sc.borda[p].values()))
        backend_t = [sum(t["ask"] + t["tell"] for t in r["trials"]) / len(r["trials"])
                     for r in mine if r["trials"]]
        objective_t = [sum(t["objective"] for t in r["trials"]) / len(r["trials"])
                       for r in mine if r["trials"]]
        row["backend_ms"] = 1000 * float(np.median(backend_t)) if backend_t else math.nan
        row["backend_ms_ci"] = tuple(1000 * v for v in bootstrap_ci(
            np.array(backend_t), np.median, rng=rng)) if backend_t else (math.nan, math.nan)
        row["objective_ms"] = 1000 * float(np.median(objective_t)) if objective_t else math.nan
        row["runs"] = len(mine)
        row["failed"] = sum(r["status"] not in OK_STATUSES for r in mine)
        sc.summary[b] = row


def _score_ci(sc: Scores, backend: str, problems: Sequence[str],
              rng: np.random.Generator) -> tuple[float, float]:
    """Bootstrap over seeds, within each problem, of the final mean score averaged over problems."""
    finals = [np.clip((sc.curves[p][backend][:, -1] - sc.opt[p]) / (sc.clip[p] - sc.opt[p]), -1, 1)
              for p in problems if len(sc.curves[p].get(backend, ()))]
    if not finals:
        return (math.nan, math.nan)
    stats = np.empty(BOOTSTRAP_SAMPLES)
    draws = [rng.integers(0, len(f), size=(BOOTSTRAP_SAMPLES, len(f))) for f in finals]
    for i in range(BOOTSTRAP_SAMPLES):
        stats[i] = np.mean([f[d[i]].mean() for f, d in zip(finals, draws)])
    lo, hi = np.percentile(stats, [2.5, 97.5])
    return float(lo), float(hi)
