"""PNG plots of a scored benchmark (matplotlib, Agg backend: no display needed)."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import numpy as np

from unitune_bench.scoring import Scores, bayesmark_quantile

__all__ = ["plot_all", "plot_resource"]

_BAND_BOOT = 200


def _pyplot():
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    return plt


def _colors(backends: list[str], baseline: str) -> dict[str, Any]:
    plt = _pyplot()
    cmap = plt.get_cmap("tab10")
    return {b: ("0.35" if b == baseline else cmap((i + 1) % 10)) for i, b in enumerate(backends)}


def plot_all(sc: Scores, problem_info: dict[str, dict[str, Any]], order: list[str],
             out_dir: Path) -> dict[str, Any]:
    """Write every plot under ``out_dir/plots``; return their paths relative to ``out_dir``."""
    plt = _pyplot()
    plots = out_dir / "plots"
    (plots / "convergence").mkdir(parents=True, exist_ok=True)
    colors = _colors(sc.backends, sc.baseline)
    paths: dict[str, Any] = {"convergence": {}}
    scored = [b for b in order if "mean_score" in sc.summary[b]]
    if scored:
        paths["scores"] = _scores_plot(plt, sc, scored, colors, plots / "scores.png")
        paths["score_vs_budget"] = _budget_plot(plt, sc, scored, colors, plots / "score_vs_budget.png")
    with_ecdf = [b for b in order if "ecdf" in sc.summary[b]]
    if with_ecdf:
        paths["ecdf"] = _ecdf_plot(plt, sc, with_ecdf, colors, plots / "ecdf.png")
    paths["overhead"] = _overhead_plot(plt, sc, order, plots / "overhead.png")
    rng = np.random.default_rng(0)
    for p in sc.problems:
        target = plots / "convergence" / f"{p}.png"
        _convergence_plot(plt, sc, p, problem_info[p], order, colors, rng, target)
        paths["convergence"][p] = f"plots/convergence/{p}.png"
    return paths


def plot_resource(cost: list[Any], out_dir: Path) -> dict[str, str]:
    """Best value against cumulative resource, one plot per multi-fidelity problem
    (``plots/resource/<problem>.png``, drawn by :func:`unitune_bench.fidelity.plot_best_vs_resource`);
    ``cost`` is :func:`unitune_bench.cost.resource_scores`'s. Returns paths relative to ``out_dir``."""
    from unitune_bench.fidelity import plot_best_vs_resource

    paths = {}
    for item in cost:
        relative = f"plots/resource/{item.problem}.png"
        curves = {row.backend: item.curves[row.backend] for row in item.rows}
        plot_best_vs_resource(curves, out_dir / relative,
                              title=f"{item.problem}: best loss against cumulative {item.resource}")
        paths[item.problem] = relative
    return paths


def _scores_plot(plt, sc: Scores, order: list[str], colors, path: Path) -> str:
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 0.5 * len(order) + 1.6), sharey=True)
    y = np.arange(len(order))[::-1]
    means = [sc.summary[b]["mean_score"] for b in order]
    lo = [sc.summary[b]["mean_score"] - sc.summary[b]["mean_score_ci"][0] for b in order]
    hi = [sc.summary[b]["mean_score_ci"][1] - sc.summary[b]["mean_score"] for b in order]
    ax1.barh(y, means, xerr=[lo, hi], color=[colors[b] for b in order], capsize=3)
    ax1.set_yticks(y, order)
    ax1.axvline(0, color="black", lw=0.8)
    ax1.set_xlabel("mean normalized score (lower is better; 95% bootstrap CI)")
    ax2.barh(y, [sc.summary[b]["borda"] for b in order], color=[colors[b] for b in order])
    ax2.set_xlabel("Borda points (higher is better)")
    fig.suptitle(f"Normalized score and rank after {sc.budget} trials")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return "plots/scores.png"


def _budget_plot(plt, sc: Scores, order: list[str], colors, path: Path) -> str:
    fig, ax = plt.subplots(figsize=(7, 4.2))
    t = np.arange(1, sc.budget + 1)
    for b in order:
        ax.plot(t, sc.summary[b]["mean_score_curve"], label=b, color=colors[b],
                lw=2.2 if b == order[0] else 1.4, ls="--" if b == sc.baseline else "-")
    ax.set_xlabel("trials")
    ax.set_ylabel("mean normalized score (lower is better)")
    ax.set_title("Mean score over problems vs budget")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return "plots/score_vs_budget.png"


def _ecdf_plot(plt, sc: Scores, order: list[str], colors, path: Path) -> str:
    """COCO's runtime ECDF: fraction of (problem, target, seed) triples solved vs evaluations."""
    fig, ax = plt.subplots(figsize=(7, 4.2))
    t = np.arange(1, sc.budget + 1)
    for b in order:
        ax.step(t, sc.summary[b]["ecdf"], where="post", label=b, color=colors[b],
                ls="--" if b == sc.baseline else "-")
    known = sum(1 for p in sc.problems if sc.runtimes.get(p))
    ax.set_xscale("log")
    ax.set_ylim(0, 1)
    ax.set_xlabel("evaluations (log scale)")
    ax.set_ylabel("fraction of (problem, target) pairs solved")
    ax.set_title(f"Runtime ECDF: {known} problems with a known optimum, 51 targets 1e2..1e-8")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return "plots/ecdf.png"


def _overhead_plot(plt, sc: Scores, order: list[str], path: Path) -> str:
    fig, ax = plt.subplots(figsize=(7, 0.45 * len(order) + 1.5))
    y = np.arange(len(order))[::-1]
    backend = [max(sc.summary[b]["backend_ms"], 1e-3) for b in order]
    objective = [max(sc.summary[b]["objective_ms"], 1e-3) for b in order]
    ax.barh(y + 0.2, backend, height=0.4, label="backend (ask + tell)", color="tab:red")
    ax.barh(y - 0.2, objective, height=0.4, label="objective", color="tab:blue")
    ax.set_xscale("log")
    ax.set_yticks(y, order)
    ax.set_xlabel("median milliseconds per trial (log scale)")
    ax.set_title("Where the time goes")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return "plots/overhead.png"


def _convergence_plot(plt, sc: Scores, problem: str, info: dict[str, Any], order: list[str],
                      colors, rng: np.random.Generator, path: Path) -> None:
    sign = 1.0 if info["direction"] == "minimize" else -1.0
    optimum = info.get("optimum")
    fig, ax = plt.subplots(figsize=(6.4, 4))
    t = np.arange(1, sc.budget + 1)
    for b in order:
        curve = sc.curves[problem].get(b)
        if curve is None or len(curve) == 0:
            continue
        y = curve - sign * optimum if optimum is not None else sign * curve
        med = bayesmark_quantile(y, 0.5, axis=0)
        idx = rng.integers(0, len(y), size=(_BAND_BOOT, len(y)))
        boots = np.array([bayesmark_quantile(y[i], 0.5, axis=0) for i in idx])
        with warnings.catch_warnings():  # bands stay empty where no seed has a value yet
            warnings.simplefilter("ignore", RuntimeWarning)
            lo, hi = np.nanpercentile(np.where(np.isfinite(boots), boots, np.nan), [2.5, 97.5], axis=0)
        ax.plot(t, med, label=b, color=colors[b], ls="--" if b == sc.baseline else "-")
        ax.fill_between(t, lo, hi, color=colors[b], alpha=0.15, lw=0)
    if optimum is not None:
        ax.set_yscale("symlog", linthresh=1e-4)
        ax.set_ylabel("simple regret (median over seeds)")
    else:
        ax.set_ylabel(f"best value so far (median; {info['direction']})")
    ax.set_xlabel("trials")
    ax.set_title(f"{problem}: median with 95% bootstrap band")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
