"""Render a report directory from saved results: ``summary.md``, CSV tables and PNG plots.

Only ``manifest.json`` and ``runs.jsonl`` are read, so a finished (or interrupted) benchmark can
be re-reported any time without re-running: ``unitune bench report DIR``.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from unitune.errors import UnituneError
from unitune_bench.manifest import read_manifest
from unitune_bench.runner import read_runs
from unitune_bench.scoring import OK_STATUSES, Scores, bayesmark_quantile, bootstrap_ci, compute_scores

__all__ = ["leaderboard_order", "render_report", "summary_table"]

DOCS = "docs/benchmarks.md"


def _f(x: float, digits: int = 3) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "n/a"
    if math.isinf(x):
        return "inf" if x > 0 else "-inf"
    if x != 0 and (abs(x) >= 1e5 or abs(x) < 10 ** -(digits)):
        return f"{x:.{digits - 1}e}"
    return f"{x:.{digits}f}"


def _duration(seconds: float) -> str:
    seconds = round(seconds)
    return f"{seconds // 60}m {seconds % 60:02d}s" if seconds >= 60 else f"{seconds}s"


def leaderboard_order(sc: Scores) -> list[str]:
    """Backends best first: by mean score, then Borda points, then name."""
    def key(b: str) -> tuple:
        row = sc.summary[b]
        score = row.get("mean_score", math.inf)
        return (not row.get("complete", False), score, -row["borda"], b)

    return sorted(sc.backends, key=key)


def summary_table(sc: Scores, order: Sequence[str]) -> str:
    """The leaderboard as a Markdown table."""
    lines = ["| # | Backend | Leaderboard ↑ | Mean score ↓ [95% CI] | Median score ↓ | Borda ↑ "
             "| Firsts ↑ | Backend ms/trial | Failed runs |",
             "|--:|:--|--:|:--|--:|--:|--:|--:|--:|"]
    for i, b in enumerate(order, 1):
        r = sc.summary[b]
        if "mean_score" in r:
            lo, hi = r["mean_score_ci"]
            mean = f"{_f(r['mean_score'])} [{_f(lo)}, {_f(hi)}]"
            board, med = f"{r['leaderboard']:.1f}", _f(r["median_score"])
        else:
            mean, board, med = "n/a", "n/a", "n/a"
        if r.get("problems") and not r.get("complete"):
            mean += f" ({r['problems']} problems only)"
        failed = f"**{r['failed']}/{r['runs']}**" if r["failed"] else f"0/{r['runs']}"
        lines.append(f"| {i} | {b} | {board} | {mean} | {med} | {r['borda']} | {r['firsts']} "
                     f"| {_f(r['backend_ms'], 2)} | {failed} |")
    return "\n".join(lines)


def _headline(sc: Scores, order: list[str]) -> str:
    if not order or "mean_score" not in sc.summary[order[0]]:
        return "**No winner:** no backend could be scored (see the notes below)."
    win = order[0]
    r = sc.summary[win]
    lo, hi = r["mean_score_ci"]
    text = (f"**Winner: `{win}`**, mean normalized score {_f(r['mean_score'])} "
            f"(95% CI {_f(lo)} to {_f(hi)}; leaderboard {r['leaderboard']:.1f} of 100), "
            f"first or tied first on {r['firsts']} of {len(sc.borda)} problems.")
    if len(order) > 1 and "mean_score" in sc.summary[order[1]]:
        second = order[1]
        s_lo = sc.summary[second]["mean_score_ci"][0]
        overlap = s_lo <= hi
        text += (f" Runner-up: `{second}` ({_f(sc.summary[second]['mean_score'])})"
                 + ("; their intervals overlap, so the lead is not clear-cut." if overlap
                    else "; the intervals do not overlap."))
    best_borda = max(order, key=lambda b: sc.summary[b]["borda"])
    if sc.summary[best_borda]["borda"] > sc.summary[win]["borda"]:
        text += f" By significance-tested rank (Borda) `{best_borda}` leads."
    rnd = sc.summary.get("random", {})
    if "mean_score" in rnd:
        text += f" Random search: {_f(rnd['mean_score'])}."
    return text


def _problem_section(sc: Scores, p: str, info: dict[str, Any], order: list[str],
                     plot: str | None, rng: np.random.Generator) -> list[str]:
    sign = 1.0 if info["direction"] == "minimize" else -1.0
    optimum = info.get("optimum")
    head = f"### {p}\n\n{info.get('description', '')} ({info['direction']}"
    head += f", optimum {optimum:.6g})" if optimum is not None else ", optimum unknown)"
    head += f". Significance level per pair α = {sc.alpha.get(p, float('nan')):.4f}."
    lines = [head, "",
             "| Backend | Median best [95% CI] | Median simple regret | Mean score ↓ | AUC ↓ "
             "| Wins | Borda |",
             "|:--|:--|--:|--:|--:|--:|--:|"]
    def rank(b: str) -> tuple:
        score = sc.mean_score.get(p, {}).get(b)
        return (-sc.borda.get(p, {}).get(b, 0), math.inf if score is None else float(score[-1]))

    for b in sorted(order, key=rank):
        curve = sc.curves[p].get(b)
        if curve is None or len(curve) == 0:
            continue
        best = sign * curve[:, -1]
        med = float(sign * bayesmark_quantile(curve[:, -1], 0.5))
        lo, hi = bootstrap_ci(best, np.median, rng=rng)
        if sign < 0:
            lo, hi = min(lo, hi), max(lo, hi)
        regret = _f(float(np.median(sc.regret[p][b]))) if b in sc.regret.get(p, {}) else "n/a"
        score = _f(float(sc.mean_score[p][b][-1])) if b in sc.mean_score.get(p, {}) else "n/a"
        auc = _f(float(np.mean(sc.auc[p][b]))) if b in sc.auc.get(p, {}) else "n/a"
        lines.append(f"| {b} | {_f(med, 4)} [{_f(lo, 4)}, {_f(hi, 4)}] | {regret} | {score} | {auc} "
                     f"| {sc.wins.get(p, {}).get(b, 0)} | {sc.borda.get(p, {}).get(b, 0)} |")
    if plot:
        lines += ["", f"![{p}]({plot})"]
    return [*lines, ""]


def _write_csvs(sc: Scores, order: list[str], runs: list[dict[str, Any]], out: Path) -> None:
    with open(out / "leaderboard.csv", "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["rank", "backend", "leaderboard", "mean_score", "mean_score_ci_low",
                    "mean_score_ci_high", "median_score", "auc", "borda", "firsts",
                    "backend_ms_per_trial", "objective_ms_per_trial", "runs", "failed_runs"])
        for i, b in enumerate(order, 1):
            r = sc.summary[b]
            ci = r.get("mean_score_ci", (math.nan, math.nan))
            w.writerow([i, b, r.get("leaderboard"), r.get("mean_score"), ci[0], ci[1],
                        r.get("median_score"), r.get("auc"), r["borda"], r["firsts"],
                        r["backend_ms"], r["objective_ms"], r["runs"], r["failed"]])
    with open(out / "problems.csv", "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["problem", "backend", "opt", "clip", "mean_score", "median_score", "auc",
                    "median_regret", "wins", "borda"])
        for p in sc.problems:
            for b in order:
                if b not in sc.mean_score.get(p, {}) and b not in sc.regret.get(p, {}):
                    continue
                w.writerow([p, b, sc.opt.get(p), sc.clip.get(p),
                            _last(sc.mean_score[p].get(b)), _last(sc.median_score[p].get(b)),
                            float(np.mean(sc.auc[p][b])) if b in sc.auc[p] else None,
                            float(np.median(sc.regret[p][b])) if b in sc.regret[p] else None,
                            sc.wins[p].get(b), sc.borda[p].get(b)])
    with open(out / "runs.csv", "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["backend", "problem", "seed", "budget", "status", "trials", "best",
                    "backend_s", "objective_s", "wall_s", "error"])
        for r in runs:
            best = next((t["best"] for t in reversed(r["trials"]) if t.get("best") is not None), None)
            w.writerow([r["backend"], r["problem"], r["seed"], r["budget"], r["status"],
                        len(r["trials"]), best, sum(t["ask"] + t["tell"] for t in r["trials"]),
                        sum(t["objective"] for t in r["trials"]), r["wall"],
                        (r["error"] or "").strip().splitlines()[-1] if r["error"] else ""])


def _last(curve: Any) -> float | None:
    return None if curve is None else float(curve[-1])


def render_report(out_dir: str | Path, *, plots: bool = True) -> Path:
    """Score the runs in ``out_dir`` and write summary.md, CSVs and plots; return summary.md."""
    out = Path(out_dir)
    manifest = read_manifest(out)
    if manifest is None:
        raise UnituneError(f"{out} holds no benchmark results (no manifest.json)")
    runs = [r for r in read_runs(out) if r["budget"] == manifest["budget"]]
    info = manifest["problems"]
    sc = compute_scores(runs, info, manifest["budget"])
    order = leaderboard_order(sc)
    rng = np.random.default_rng(1)
    paths = plot_paths = {}
    if plots and sc.problems:
        from unitune_bench.plots import plot_all

        plot_paths = plot_all(sc, info, order, out)
        paths = plot_paths
    _write_csvs(sc, order, runs, out)
    wall = sum(inv.get("wall_time", 0.0) for inv in manifest.get("invocations", []))
    n_failed = sum(r["status"] not in OK_STATUSES for r in runs)
    env = manifest.get("machine", {})
    versions = manifest.get("versions", {})
    libs = ", ".join(f"{k} {v}" for k, v in versions.items() if v and k in (
        "python", "unitune", "optuna", "hyperopt", "scikit-optimize", "scikit-learn", "numpy"))
    lines = [
        f"# unitune benchmark: {manifest['suite']} suite", "",
        _headline(sc, order), "",
        summary_table(sc, order), "",
        f"{len(sc.backends)} backends × {len(sc.problems)} problems × {len(manifest['seeds'])} seeds "
        f"× {manifest['budget']} trials: {len(runs)} runs ({n_failed} failed). "
        f"Wall time {_duration(wall)} on {env.get('cpus', '?')} CPUs ({env.get('processor', '?')}). "
        f"{libs}.", "",
        "Scores are Bayesmark's normalized scores after the full budget: 0 is the best value any "
        "backend found on the problem, 1 the median single random-search evaluation (mean score) "
        "or random search's own median best at the same budget (median score, so random is 1). "
        f"Borda and Firsts come from pairwise Mann-Whitney U tests per problem. Formulas: {DOCS}.",
        "",
    ]
    if "scores" in paths:
        lines += [f"![scores]({paths['scores']})", "", f"![score vs budget]({paths['score_vs_budget']})", ""]
    lines += ["## Per problem", ""]
    for p in sc.problems:
        lines += _problem_section(sc, p, info[p], order, plot_paths.get("convergence", {}).get(p), rng)
    lines += ["## Backend overhead", "",
              "| Backend | Backend ms/trial, median [95% CI] | Objective ms/trial, median |",
              "|:--|:--|--:|"]
    for b in order:
        r = sc.summary[b]
        lo, hi = r["backend_ms_ci"]
        lines.append(f"| {b} | {_f(r['backend_ms'], 2)} [{_f(lo, 2)}, {_f(hi, 2)}] "
                     f"| {_f(r['objective_ms'], 2)} |")
    if "overhead" in paths:
        lines += ["", f"![overhead]({paths['overhead']})"]
    lines += ["", "## Failed runs", ""]
    if sc.failures:
        lines += ["| Backend | Problem | Seed | Status | Trials done | Reason |", "|:--|:--|--:|:--|--:|:--|"]
        for r in sc.failures:
            reason = (r["error"] or "").strip().splitlines()
            lines.append(f"| {r['backend']} | {r['problem']} | {r['seed']} | {r['status']} "
                         f"| {len(r['trials'])} | {(reason[-1] if reason else '').replace('|', '/')[:160]} |")
        lines += ["", "A failed run keeps the best value it found before it stopped for the rest of "
                  "the budget (nothing found after the failure)."]
    else:
        lines.append("None.")
    if sc.notes:
        lines += ["", "## Notes", "", *(f"- {n}" for n in sc.notes)]
    commands = [" ".join(inv["command"]) for inv in manifest.get("invocations", [])]
    lines += ["", "## How this was run", "",
              f"- seeds: {manifest['seeds']} (the same for every backend); budget {manifest['budget']} "
              f"trials; per-run limit {manifest.get('timeout')} s",
              *(f"- command: `{c}`" for c in commands),
              f"- machine: {env.get('platform')}, {env.get('cpus')} CPUs",
              f"- versions: {', '.join(f'{k} {v}' for k, v in versions.items() if v)}",
              "- raw data: `runs.jsonl` (one line per run, one entry per trial), `manifest.json`; "
              "tables: `leaderboard.csv`, `problems.csv`, `runs.csv`", ""]
    summary = out / "summary.md"
    summary.write_text("\n".join(lines), encoding="utf-8")
    return summary
