"""Scores from recorded runs: Bayesmark's normalized scores (exactly as Bayesmark computes them),
unitune's own variants, COCO-style regret measures, rankings, separation tests and CIs.

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
from scipy.special import gammaln, logsumexp
from scipy.stats import mannwhitneyu

from unitune_bench.coco import TARGETS, ecdf, ert, log10_regret, reference_target, runtimes
from unitune_bench.separation import Verdict, seeds_needed, sidak_alpha, verdict

__all__ = [
    "BOOTSTRAP_SAMPLES",
    "Scores",
    "bayesmark_quantile",
    "bootstrap_ci",
    "compute_scores",
    "dewancker_ranking",
    "expected_min",
    "run_curve",
]

BOOTSTRAP_SAMPLES = 1000
_PAD_FACTOR = 10000
_MIN_POS = np.nextafter(0, 1)
OK_STATUSES = ("ok", "exhausted")
#: The baseline every normalized score is measured against: unitune's native random search.
BASELINE = "random"


def bayesmark_quantile(x: Sequence[float] | np.ndarray, q: float, axis: int = -1) -> np.ndarray:
    """Bayesmark's quantile: the order statistic number ``ceil(n q)`` (1-based) of ``x``, ``-inf``
    when that number is 0. For ``q = 0.5`` this is the lower median (no averaging of the two middle
    values).

    >>> float(bayesmark_quantile([3.0, 1.0, 2.0, 4.0], 0.5))
    2.0
    """
    x = np.sort(np.asarray(x, dtype=float), axis=axis)
    n = x.shape[axis]
    idx = int(np.ceil(n * q))
    if idx == 0:
        return np.take(np.full_like(x, -np.inf), 0, axis=axis)
    return np.take(x, idx - 1, axis=axis)


def expected_min(x: Sequence[float] | np.ndarray, m: np.ndarray) -> np.ndarray:
    """Unbiased estimate of the expected minimum of ``m`` draws without replacement from ``x``
    (an L-estimator: the k-th smallest of n values is the minimum of m draws with probability
    ``C(n-k, m-1) / C(n, m)``); Bayesmark's random-search baseline for its normed mean score.

    >>> [round(float(v), 4) for v in expected_min([1.0, 2.0, 3.0], np.array([1, 2, 3]))]
    [2.0, 1.3333, 1.0]
    """
    x = np.sort(np.asarray(x, dtype=float))
    n = len(x)
    m = np.asarray(m)[..., None]
    k = np.arange(1, n + 1)
    with np.errstate(invalid="ignore"):
        logw = gammaln(n - k + 1) - gammaln(n - k - m + 2)  # log of (n-k)! / (n-k-m+1)!
    logw = np.where(n - k - m + 1 >= 0, logw, -np.inf)
    weights = np.exp(logw - logsumexp(logw, axis=-1, keepdims=True))
    return np.sum(weights * x, axis=-1)


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
    #: the backend whose evaluations make the baselines (random search)
    baseline: str = BASELINE
    #: problem -> backend -> array (seeds, budget) of best-so-far losses
    curves: dict[str, dict[str, np.ndarray]] = field(default_factory=dict)
    #: problem -> backend -> trials each run actually evaluated (for ERT)
    evaluations: dict[str, dict[str, np.ndarray]] = field(default_factory=dict)
    opt: dict[str, float] = field(default_factory=dict)
    clip: dict[str, float] = field(default_factory=dict)
    #: Bayesmark's random baselines per problem, after each trial: the 1-(1/2)^(1/t) quantile of
    #: all random evaluations (median score) and the normalized expected minimum (normed mean)
    random_median_baseline: dict[str, np.ndarray] = field(default_factory=dict)
    random_mean_baseline: dict[str, np.ndarray] = field(default_factory=dict)
    #: problem -> backend -> Bayesmark's mean normalized score after each trial
    mean_score: dict[str, dict[str, np.ndarray]] = field(default_factory=dict)
    #: problem -> backend -> Bayesmark's median normalized score after each trial
    median_score: dict[str, dict[str, np.ndarray]] = field(default_factory=dict)
    #: problem -> backend -> unitune's variant: median best over random search's own median best
    random_relative_median: dict[str, dict[str, np.ndarray]] = field(default_factory=dict)
    regret: dict[str, dict[str, np.ndarray]] = field(default_factory=dict)
    log_regret: dict[str, dict[str, np.ndarray]] = field(default_factory=dict)
    #: problem -> backend -> (seeds, len(TARGETS)) evaluations to reach each COCO target
    runtimes: dict[str, dict[str, np.ndarray]] = field(default_factory=dict)
    #: problem -> the target Δf used for ERT (reached by half of all runs), or None
    ert_target: dict[str, float | None] = field(default_factory=dict)
    ert: dict[str, dict[str, float]] = field(default_factory=dict)
    #: problem -> "log10 regret" (known optimum) or "normalized score"
    measure: dict[str, str] = field(default_factory=dict)
    auc: dict[str, dict[str, np.ndarray]] = field(default_factory=dict)
    borda: dict[str, dict[str, int]] = field(default_factory=dict)
    wins: dict[str, dict[str, int]] = field(default_factory=dict)
    alpha: dict[str, float] = field(default_factory=dict)
    #: problem -> what the tests on final losses allow the report to say
    verdicts: dict[str, Verdict] = field(default_factory=dict)
    #: across problems: tests on within-problem ranks of the final losses
    overall: Verdict | None = None
    #: the two leading backends by mean score and the seeds a separation would need
    seeds_needed: tuple[str, str, float] | None = None
    #: backend -> aggregated numbers (see compute_scores)
    summary: dict[str, dict[str, Any]] = field(default_factory=dict)
    failures: list[dict[str, Any]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def compute_scores(runs: Sequence[Mapping[str, Any]], problem_info: Mapping[str, Mapping[str, Any]],
                   budget: int, *, baseline: str = BASELINE, seed: int = 0) -> Scores:
    """Score ``runs`` (records from runs.jsonl at this ``budget``) against the random baseline."""
    runs = [r for r in runs if r["budget"] == budget and r["problem"] in problem_info]
    backends = sorted({r["backend"] for r in runs}, key=lambda b: (b != baseline, b))
    problems = [p for p in problem_info if any(r["problem"] == p for r in runs)]
    sc = Scores(budget=budget, backends=backends, problems=problems, baseline=baseline)
    rng = np.random.default_rng(seed)
    sc.failures = [r for r in runs if r["status"] not in OK_STATUSES]
    for p in problems:
        prs = sorted((r for r in runs if r["problem"] == p), key=lambda r: r["seed"])
        _score_problem(sc, p, problem_info[p], prs, baseline)
    _summarize(sc, rng, runs, baseline)
    return sc


def _score_problem(sc: Scores, p: str, info: Mapping[str, Any], prs: list[Mapping[str, Any]],
                   baseline: str) -> None:
    budget = sc.budget
    sign = 1.0 if info["direction"] == "minimize" else -1.0
    sc.curves[p] = {b: np.array([run_curve(r, sign, budget) for r in prs if r["backend"] == b])
                    .reshape(-1, budget) for b in sc.backends}
    sc.evaluations[p] = {b: np.array([min(len(r["trials"]), budget) for r in prs if r["backend"] == b])
                         for b in sc.backends}
    all_losses = [sign * t["value"] for r in prs for t in r["trials"][:budget] if t.get("value") is not None]
    random_losses = np.array([sign * t["value"] for r in prs if r["backend"] == baseline
                              for t in r["trials"][:budget] if t.get("value") is not None])
    optimum = info.get("optimum")
    sc.measure[p] = "log10 regret" if optimum is not None else "normalized score"
    sc.mean_score[p], sc.median_score[p], sc.random_relative_median[p] = {}, {}, {}
    sc.regret[p], sc.log_regret[p], sc.runtimes[p], sc.ert[p], sc.auc[p] = {}, {}, {}, {}, {}
    if not all_losses:
        sc.notes.append(f"{p}: no trial completed on any backend; not scored")
        return
    opt = _pad_below(min(all_losses))
    sc.opt[p] = opt
    trials = np.arange(1, budget + 1)
    if len(random_losses):
        clip = float(bayesmark_quantile(random_losses, 0.5))
        sc.clip[p] = clip
        r_med = np.array([float(bayesmark_quantile(random_losses, 1.0 - 0.5 ** (1.0 / t))) for t in trials])
        sc.random_median_baseline[p] = r_med
        clipped = np.minimum(clip, random_losses)
        r_mean = np.minimum.accumulate(np.minimum(clip, expected_min(clipped, trials)))
        with np.errstate(invalid="ignore", divide="ignore"):
            sc.random_mean_baseline[p] = (r_mean - opt) / (clip - opt)
        if np.any(r_med <= min(all_losses)):
            sc.notes.append(f"{p}: random search is also the best search at some budgets; Bayesmark "
                            "warns that the median score may be meaningless there")
    else:
        sc.notes.append(f"{p}: no completed random-search trial, so no normalized score")
    base = sc.curves[p].get(baseline)
    base_med = (bayesmark_quantile(base, 0.5, axis=0) if base is not None and len(base)
                else np.full(budget, np.nan))
    # unitune's variant divides by random search's own median best; where that *is* the best value
    # ever seen, the denominator is only the padding, so the variant is left undefined there.
    defined = np.isfinite(base_med) & (base_med > min(all_losses))
    if base is not None and len(base) and not defined.all():
        sc.notes.append(f"{p}: random search's median best is the best value seen at "
                        f"{int((~defined).sum())} of {budget} budgets; the random-relative median "
                        "is undefined there (n/a)")
    for b, curve in sc.curves[p].items():
        if len(curve) == 0:
            continue
        med = bayesmark_quantile(curve, 0.5, axis=0)
        if p in sc.clip:
            with np.errstate(invalid="ignore", divide="ignore"):
                normed = np.clip((curve - opt) / (sc.clip[p] - opt), -1.0, 1.0)
                sc.mean_score[p][b] = normed.mean(axis=0)
                sc.auc[p][b] = normed.mean(axis=1)
                sc.median_score[p][b] = (med - opt) / (sc.random_median_baseline[p] - opt)
                sc.random_relative_median[p][b] = np.where(defined, (med - opt) / (base_med - opt),
                                                           np.nan)
        if optimum is not None:
            sc.regret[p][b] = np.maximum(curve[:, -1] - sign * optimum, 0.0)
            sc.log_regret[p][b] = log10_regret(curve[:, -1], sign * optimum)
            sc.runtimes[p][b] = runtimes(curve, sign * optimum, TARGETS)
    if sc.runtimes[p]:
        target = reference_target(np.concatenate(list(sc.runtimes[p].values())))
        sc.ert_target[p] = target
        if target is not None:
            column = int(np.argmin(np.abs(TARGETS - target)))
            sc.ert[p] = {b: ert(rt[:, column], sc.evaluations[p][b]) for b, rt in sc.runtimes[p].items()}
    finals = {b: c[:, -1] for b, c in sc.curves[p].items() if len(c)}
    alpha = sidak_alpha(len(finals))
    sc.alpha[p] = alpha
    metrics = [finals] + ([sc.auc[p]] if sc.auc[p] else [])
    sc.wins[p], sc.borda[p] = dewancker_ranking(metrics, alpha)
    sc.verdicts[p] = verdict(finals, alpha)


def _within_problem_ranks(sc: Scores) -> dict[str, np.ndarray]:
    """Each run's final loss ranked among all runs of its problem, scaled to [0, 1] (ties share the
    mean rank): comparable across problems whatever their scales, and never saturated."""
    from scipy.stats import rankdata

    pooled: dict[str, list[float]] = {b: [] for b in sc.backends}
    for p in sc.problems:
        finals = {b: c[:, -1] for b, c in sc.curves[p].items() if len(c)}
        if not finals:
            continue
        values = np.concatenate(list(finals.values()))
        ranks = (rankdata(values) - 1) / max(1, len(values) - 1)
        start = 0
        for b, f in finals.items():
            pooled[b].extend(ranks[start:start + len(f)])
            start += len(f)
    return {b: np.array(v) for b, v in pooled.items()}


def _summarize(sc: Scores, rng: np.random.Generator, runs: Sequence[Mapping[str, Any]],
               baseline: str) -> None:
    scored = [p for p in sc.problems if p in sc.clip]
    known = [p for p in sc.problems if sc.runtimes.get(p)]
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
            normalizer = np.mean([sc.random_mean_baseline[p] for p in scored if b in sc.mean_score[p]],
                                 axis=0)
            with np.errstate(invalid="ignore", divide="ignore"):
                row["normed_mean_score"] = float(curve[-1] / normalizer[-1])
            med = np.array([sc.median_score[p][b] for p in scored if b in sc.median_score[p]])
            row["median_score_curve"] = bayesmark_quantile(med, 0.5, axis=0)
            row["median_score"] = float(row["median_score_curve"][-1])
            rr = np.array([sc.random_relative_median[p][b] for p in scored
                           if b in sc.random_relative_median[p]])
            with warnings.catch_warnings():  # a budget where every problem is undefined stays NaN
                warnings.simplefilter("ignore", RuntimeWarning)
                row["random_relative_median"] = float(np.nanmedian(rr[:, -1])) if len(rr) else math.nan
            row["auc"] = float(np.mean([np.mean(sc.auc[p][b]) for p in scored if b in sc.auc[p]]))
        sets = [sc.runtimes[p][b] for p in known if b in sc.runtimes[p]]
        if sets:
            row["ecdf"] = ecdf(sets, sc.budget)
            row["targets_solved"] = float(row["ecdf"][-1])
            row["median_log10_regret"] = float(np.median(np.concatenate(
                [sc.log_regret[p][b] for p in known if b in sc.log_regret[p]])))
        row["borda"] = sum(sc.borda[p].get(b, 0) for p in sc.borda)
        row["firsts"] = sum(1 for p in sc.borda if b in sc.borda[p]
                            and sc.borda[p][b] == max(sc.borda[p].values()))
        row["problem_wins"] = sum(1 for v in sc.verdicts.values() if v.kind == "winner" and b in v.members)
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
    pooled = _within_problem_ranks(sc)
    if sc.problems and any(len(v) for v in pooled.values()):
        alpha = sidak_alpha(sum(1 for v in pooled.values() if len(v)))
        sc.overall = verdict(pooled, alpha)
        for b, rank in sc.overall.ranks.items():
            sc.summary[b]["rank"] = rank
            sc.summary[b]["mean_within_rank"] = float(np.mean(pooled[b]))
        by_score = sorted((b for b in sc.backends if "mean_score" in sc.summary[b]),
                          key=lambda b: sc.summary[b]["mean_score"])
        if len(by_score) >= 2:
            a, b = by_score[:2]
            sc.seeds_needed = (a, b, seeds_needed(pooled[a], pooled[b], alpha,
                                                  per_seed=max(1, len(sc.problems))))


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
