"""Render a report directory from saved results: ``summary.md``, CSV tables and PNG plots.

Only ``manifest.json`` and ``runs.jsonl`` are read, so a finished (or interrupted) benchmark can
be re-reported any time without re-running: ``unitune bench report DIR``.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from unitune.errors import UnituneError
from unitune_bench.cost import ResourceScores, resource_scores
from unitune_bench.coverage import coverage, identical_seeds
from unitune_bench.manifest import read_manifest
from unitune_bench.runner import read_runs
from unitune_bench.scoring import OK_STATUSES, Scores, bootstrap_ci, compute_scores
from unitune_bench.separation import Verdict

__all__ = ["leaderboard_order", "render_report", "summary_table"]

DOCS = "docs/benchmarks.md"
#: The mark of a backend whose seeds all gave the same run on a problem.
SAME_RUNS = "†"


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
    """Backends best first: by tested rank (1 + backends that beat it significantly), then mean
    score, then Borda points, then name."""
    def key(b: str) -> tuple:
        row = sc.summary[b]
        score = row.get("mean_score", math.inf)
        return (not row.get("complete", False), row.get("rank", 1), score, -row["borda"], b)

    return sorted(sc.backends, key=key)


def _rank_labels(sc: Scores, order: Sequence[str]) -> dict[str, str]:
    ranks = [sc.summary[b].get("rank") for b in order]
    return {b: ("?" if r is None else f"{r}=" if ranks.count(r) > 1 else str(r))
            for b, r in zip(order, ranks)}


def summary_table(sc: Scores, order: Sequence[str], marks: Mapping[str, str] | None = None) -> str:
    """The leaderboard as a Markdown table (tied ranks shown as ``1=``; ``marks`` follow a
    backend's name, e.g. :data:`SAME_RUNS`)."""
    labels = _rank_labels(sc, order)
    marks = marks or {}
    lines = ["| Rank | Backend | Leaderboard ↑ | Mean score ↓ [95% CI] | Normed mean ↓ | Median score ↓ "
             "| Targets solved ↑ | Median log10 regret ↓ | Borda ↑ | Backend ms/trial | Failed runs |",
             "|--:|:--|--:|:--|--:|--:|--:|--:|--:|--:|--:|"]
    for b in order:
        r = sc.summary[b]
        if "mean_score" in r:
            lo, hi = r["mean_score_ci"]
            mean = f"{_f(r['mean_score'])} [{_f(lo)}, {_f(hi)}]"
            board, med, normed = f"{r['leaderboard']:.1f}", _f(r["median_score"]), _f(r["normed_mean_score"])
        else:
            mean, board, med, normed = "n/a", "n/a", "n/a", "n/a"
        if r.get("problems") and not r.get("complete"):
            mean += f" ({r['problems']} problems only)"
        solved = f"{100 * r['targets_solved']:.1f}%" if "targets_solved" in r else "n/a"
        regret = _f(r["median_log10_regret"], 2) if "median_log10_regret" in r else "n/a"
        failed = f"**{r['failed']}/{r['runs']}**" if r["failed"] else f"0/{r['runs']}"
        name = f"{b} {marks[b]}" if marks.get(b) else b
        lines.append(f"| {labels[b]} | {name} | {board} | {mean} | {normed} | {med} | {solved} | {regret} "
                     f"| {r['borda']} | {_f(r['backend_ms'], 2)} | {failed} |")
    return "\n".join(lines)


def _seeds_sentence(sc: Scores, n_seeds: int) -> str:
    if sc.seeds_needed is None:
        return ""
    a, b, n = sc.seeds_needed
    if math.isinf(n):
        return (f" The two best by mean score, `{a}` and `{b}`, show no difference at all in the ranks, "
                "so more seeds are not expected to separate them.")
    return (f" The two best by mean score, `{a}` and `{b}`, would need about {int(n)} seeds per backend "
            f"(this run has {n_seeds}) for such a test to separate them with 80% power, if the "
            "difference seen here is real (Noether's approximation).")


def _headline(sc: Scores, order: list[str], n_seeds: int) -> str:
    if not order or sc.overall is None:
        return "**No winner:** no backend could be scored (see the notes below)."
    v = sc.overall
    how = (f"one-sided Mann-Whitney U tests on the final results ranked within each problem, "
           f"α = {v.alpha:.4f} per pair (Šidák, 5% family-wise)")
    overlap = _overlapping(sc, v.members) if v.kind in ("winner", "tie") else None
    if overlap:
        a, b = overlap
        text = (f"**No winner named**: the rank tests put {', '.join(f'`{m}`' for m in v.members)} "
                f"ahead ({how}), but the 95% interval of `{a}`'s mean score overlaps that of `{b}`, "
                "so the two measures do not agree that the lead is clear.")
        text += _seeds_sentence(sc, n_seeds)
    elif v.kind == "winner":
        text = f"**Winner: `{v.members[0]}`**: it beats every other backend ({how})."
    elif v.kind == "tie":
        names = ", ".join(f"`{b}`" for b in v.members)
        text = (f"**Tie for first: {names}**: each beats every other backend, but no test separates "
                f"them from each other ({how}).")
    else:
        text = f"**No winner: the backends are not separated** ({how})."
        text += _seeds_sentence(sc, n_seeds)
    scored = [b for b in order if "mean_score" in sc.summary[b]]
    if scored:
        parts = []
        for b in sorted(scored, key=lambda b: sc.summary[b]["mean_score"])[:3]:
            r = sc.summary[b]
            lo, hi = r["mean_score_ci"]
            parts.append(f"`{b}` {_f(r['mean_score'])} [{_f(lo)}, {_f(hi)}]")
        text += " Best mean scores (95% CI): " + ", ".join(parts) + "."
        rnd = sc.summary.get(sc.baseline, {})
        if "mean_score" in rnd:
            text += f" Random search: {_f(rnd['mean_score'])}."
    return text


def _overlapping(sc: Scores, members: Sequence[str]) -> tuple[str, str] | None:
    """A (member, outsider) pair whose mean-score intervals overlap, or None."""
    for a in members:
        for b in sc.backends:
            if b in members or "mean_score_ci" not in sc.summary[a] or "mean_score_ci" not in sc.summary[b]:
                continue
            if sc.summary[a]["mean_score_ci"][1] >= sc.summary[b]["mean_score_ci"][0]:
                return a, b
    return None


def _verdict_text(v: Verdict | None) -> str:
    if v is None:
        return "not tested"
    if v.kind == "winner":
        return f"winner `{v.members[0]}`"
    if v.kind == "tie":
        return "tie for first between " + ", ".join(f"`{b}`" for b in v.members)
    return "not separated"


def _same_runs_notes(identical: Mapping[str, Mapping[str, int]], order: Sequence[str],
                     setup: Mapping[str, Any], n_problems: int) -> list[str]:
    """The footnotes of the backends whose seeds all gave the same run on some problem."""
    notes = []
    for b in (b for b in order if b in identical):
        problems = identical[b]
        declared = setup.get(b, {}).get("seeded")
        why = {False: "; it is declared not seeded, see `unitune backends`",
               True: "; although it is declared seeded"}.get(declared, "")
        of = f"{len(problems)} of {n_problems} problem{'s' if n_problems != 1 else ''}"
        notes.append(
            f"{SAME_RUNS} `{b}`: its seeds gave identical runs on {', '.join(problems)} ({of}{why}). "
            f"There its 95% interval has no spread and its tests rest on one distinct run, not "
            f"{max(problems.values())}; it is ranked all the same.")
    return notes


def _problem_section(sc: Scores, p: str, info: dict[str, Any], order: list[str],
                     plot: str | None, rng: np.random.Generator,
                     same: Mapping[str, int] | None = None) -> list[str]:
    sign = 1.0 if info["direction"] == "minimize" else -1.0
    optimum = info.get("optimum")
    head = f"### {p}\n\n{info.get('description', '')} ({info['direction']}"
    head += f", optimum {optimum:.6g})" if optimum is not None else ", optimum unknown)"
    head += (f". Measure: **{sc.measure.get(p, 'n/a')}**. Verdict on the final values "
             f"(α = {sc.alpha.get(p, float('nan')):.4f} per pair): {_verdict_text(sc.verdicts.get(p))}.")
    target = sc.ert_target.get(p)
    known = optimum is not None
    cols = ["Backend", "Median best [95% CI]"]
    if known:
        ert_col = f"ERT to Δf={target:.3g} ↓" if target else "ERT"
        cols += ["Median log10 regret ↓", ert_col, "Targets solved ↑"]
    cols += ["Mean score ↓", "Median score ↓", "AUC ↓", "Wins", "Borda"]
    lines = [head, "", "| " + " | ".join(cols) + " |", "|:--|:--|" + "--:|" * (len(cols) - 2)]

    def rank(b: str) -> tuple:
        score = sc.mean_score.get(p, {}).get(b)
        return (-sc.borda.get(p, {}).get(b, 0), math.inf if score is None else float(score[-1]))

    for b in sorted(order, key=rank):
        curve = sc.curves[p].get(b)
        if curve is None or len(curve) == 0:
            continue
        best = sign * curve[:, -1]
        med = float(np.median(best))  # the statistic its interval is for, as the cost table's
        lo, hi = bootstrap_ci(best, np.median, rng=rng)
        if sign < 0:
            lo, hi = min(lo, hi), max(lo, hi)
        cells = [f"{b} {SAME_RUNS}" if b in (same or {}) else b, f"{_f(med, 4)} [{_f(lo, 4)}, {_f(hi, 4)}]"]
        if known:
            lr = sc.log_regret[p].get(b)
            cells.append(_f(float(np.median(lr)), 2) if lr is not None else "n/a")
            cells.append(_f(sc.ert[p][b], 3) if target and b in sc.ert.get(p, {}) else "n/a")
            rt = sc.runtimes[p].get(b)
            cells.append(f"{100 * float(np.isfinite(rt).mean()):.1f}%" if rt is not None else "n/a")
        for table in (sc.mean_score, sc.median_score):
            cells.append(_f(float(table[p][b][-1])) if b in table.get(p, {}) else "n/a")
        cells.append(_f(float(np.mean(sc.auc[p][b]))) if b in sc.auc.get(p, {}) else "n/a")
        cells += [str(sc.wins.get(p, {}).get(b, 0)), str(sc.borda.get(p, {}).get(b, 0))]
        lines.append("| " + " | ".join(cells) + " |")
    for b, n in (same or {}).items():
        lines += ["", f"{SAME_RUNS} `{b}`: its {n} seeds gave identical runs here, so its interval has "
                  "no spread and its tests rest on one distinct run."]
    if plot:
        lines += ["", f"![{p}]({plot})"]
    return [*lines, ""]


def _resource_section(cost: list[ResourceScores], plots: dict[str, str]) -> list[str]:
    """Multi-fidelity problems scored on what they spent (see unitune_bench.cost)."""
    lines = ["## Cost on the resource axis", "",
             "Multi-fidelity problems, where a trial reports its value per unit of resource (epoch) "
             "and a pruned label (`backend+asha`) stops hopeless trials early. Per backend, medians "
             "over seeds: the **resource** spent (summed over trials), how many times less than its "
             "unpruned twin (**saved**), the final **best value**, and the cumulative resource after "
             "which the best first reached **random search's level** (the median final best of "
             "unpruned random search; `never` when most runs did not reach it).", ""]
    for item in cost:
        level = "n/a (random search did not run)" if item.level is None else _f(item.level, 4)
        lines += [f"### {item.problem} (resource: {item.resource})", "",
                  f"Random search's level (as a loss): {level}.", "",
                  "| Backend | Runs | Resource ↓ | Saved ↑ | Median best | To reach random's level ↓ "
                  "| Runs reaching it |", "|:--|--:|--:|--:|--:|--:|--:|"]
        for row in item.rows:
            saved = f"{row.saved:.2f}x" if row.saved is not None else ""
            reach = "n/a" if math.isnan(row.to_reach) else "never" if math.isinf(row.to_reach) else (
                f"{row.to_reach:.0f}")
            lines.append(f"| {row.backend} | {row.runs} | {row.total:.0f} | {saved} | {_f(row.best, 4)} "
                         f"| {reach} | {row.reached}/{row.runs} |")
        if item.problem in plots:
            lines += ["", f"![{item.problem}: best against resource]({plots[item.problem]})"]
        lines.append("")
    return lines


def _setup_section(manifest: dict[str, Any]) -> list[str]:
    setup = manifest.get("backend_setup", {})
    lines = ["## Setup", "",
             "What shapes the comparison besides the algorithm: each backend's declared defaults "
             "(initial random points, startup trials, ...) and every option passed with "
             "`--backend-options`; for a pruned label, its pruner and what the backend learns from a "
             "PRUNED trial (its declared policy: `native`, `last_value`, `worst_value`, `not_used`; "
             "docs/pruning.md).", "",
             "| Backend | Options passed | Declared defaults | Pruner | Library versions |",
             "|:--|:--|:--|:--|:--|"]
    for label in manifest.get("backends", []):
        entry = setup.get(label, {})
        given = entry.get("options") or {}
        defaults = entry.get("defaults")
        if defaults:  # options left to the library (None) shape nothing the report can state
            defaults = {k: v for k, v in defaults.items() if v is not None}
        versions = entry.get("versions") or {}
        shown = (_kv(defaults) or "none declared") if defaults is not None else "not declared by the backend"
        pruner = "; ".join(entry.get("pruner_setup") or ()) or entry.get("pruner") or "none"
        if entry.get("pruner"):
            pruner += f"; PRUNED trials: {entry.get('pruned_trials') or 'policy not declared'}"
        planned = _kv(entry.get("harness_options"))
        passed = ", ".join(filter(None, [_kv(given), planned and f"{planned} (the run's budget)"]))
        lines.append(f"| {label} | {passed or 'none'} | {shown} | {pruner} | {_kv(versions) or 'n/a'} |")
    return [*lines, ""]


def _kv(mapping: Any) -> str:
    if not mapping:
        return ""
    return ", ".join(f"{k}={v}" for k, v in mapping.items())


def _write_csvs(sc: Scores, order: list[str], runs: list[dict[str, Any]], out: Path,
                identical: Mapping[str, Mapping[str, int]]) -> None:
    with open(out / "leaderboard.csv", "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["rank", "backend", "leaderboard", "mean_score", "mean_score_ci_low",
                    "mean_score_ci_high", "normed_mean_score", "median_score", "random_relative_median",
                    "targets_solved", "median_log10_regret", "auc", "borda", "firsts",
                    "backend_ms_per_trial", "objective_ms_per_trial", "runs", "failed_runs"])
        labels = _rank_labels(sc, order)
        for b in order:
            r = sc.summary[b]
            ci = r.get("mean_score_ci", (math.nan, math.nan))
            w.writerow([labels[b], b, r.get("leaderboard"), r.get("mean_score"), ci[0], ci[1],
                        r.get("normed_mean_score"), r.get("median_score"), r.get("random_relative_median"),
                        r.get("targets_solved"), r.get("median_log10_regret"), r.get("auc"), r["borda"],
                        r["firsts"], r["backend_ms"], r["objective_ms"], r["runs"], r["failed"]])
    with open(out / "problems.csv", "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["problem", "measure", "backend", "opt", "clip", "mean_score", "median_score",
                    "random_relative_median", "auc", "median_regret", "median_log10_regret",
                    "ert_target", "ert", "targets_solved", "wins", "borda", "verdict", "runs",
                    "identical_runs"])
        for p in sc.problems:
            for b in order:
                if b not in sc.mean_score.get(p, {}) and b not in sc.regret.get(p, {}):
                    continue
                rt = sc.runtimes[p].get(b)
                w.writerow([p, sc.measure[p], b, sc.opt.get(p), sc.clip.get(p),
                            _last(sc.mean_score[p].get(b)), _last(sc.median_score[p].get(b)),
                            _last(sc.random_relative_median[p].get(b)),
                            float(np.mean(sc.auc[p][b])) if b in sc.auc[p] else None,
                            float(np.median(sc.regret[p][b])) if b in sc.regret[p] else None,
                            float(np.median(sc.log_regret[p][b])) if b in sc.log_regret[p] else None,
                            sc.ert_target.get(p), sc.ert[p].get(b),
                            float(np.isfinite(rt).mean()) if rt is not None else None,
                            sc.wins[p].get(b), sc.borda[p].get(b), _verdict_text(sc.verdicts.get(p)),
                            len(sc.curves[p].get(b, ())), p in identical.get(b, {})])
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


def _write_resource_csv(cost: list[ResourceScores], out: Path) -> None:
    with open(out / "resource.csv", "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["problem", "resource", "backend", "runs", "median_resource", "saved_vs_unpruned",
                    "median_best", "random_level_loss", "median_resource_to_reach", "runs_reaching"])
        for item in cost:
            for row in item.rows:
                w.writerow([item.problem, item.resource, row.backend, row.runs, row.total, row.saved,
                            row.best, item.level, row.to_reach, row.reached])


def _last(curve: Any) -> float | None:
    return None if curve is None else float(curve[-1])


def _title(manifest: dict[str, Any]) -> str:
    suite = manifest["suite"]
    if suite == "custom":
        base = manifest.get("base_suite")
        title = "# unitune benchmark: custom run" + (f" (defaults of the {base} suite)" if base else "")
    else:
        title = f"# unitune benchmark: {suite} suite"
    published = manifest.get("published_problems", [])
    if published:
        plural = "s" if len(published) > 1 else ""
        title += f", plus {len(published)} published problem{plural}: " + ", ".join(published)
    return title


def render_report(out_dir: str | Path, *, plots: bool = True) -> Path:
    """Score the runs in ``out_dir`` and write summary.md, CSVs and plots; return summary.md."""
    out = Path(out_dir)
    manifest = read_manifest(out)
    if manifest is None:
        raise UnituneError(f"{out} holds no benchmark results (no manifest.json)")
    info = manifest["problems"]
    runs = [r for r in read_runs(out) if r["budget"] == manifest["budget"] and r["problem"] in info]
    held = coverage(manifest, runs)
    identical = identical_seeds(runs)
    sc = compute_scores(runs, info, manifest["budget"])
    order = leaderboard_order(sc)
    rng = np.random.default_rng(1)
    paths: dict[str, Any] = {}
    cost = resource_scores(runs, info, manifest["budget"])
    if plots and sc.problems:
        from unitune_bench.plots import plot_all, plot_resource

        paths = plot_all(sc, info, order, out)
        paths["resource"] = plot_resource(cost, out)
    _write_csvs(sc, order, runs, out, identical)
    if cost:
        _write_resource_csv(cost, out)
    wall = sum(inv.get("wall_time", 0.0) for inv in manifest.get("invocations", []))
    n_failed = sum(r["status"] not in OK_STATUSES for r in runs)
    env = manifest.get("machine", {})
    known = [p for p in sc.problems if sc.measure.get(p) == "log10 regret"]
    warning = held.warning(manifest["budget"])
    lines = [
        _title(manifest), "",
        *([warning, ""] if warning else []),
        _headline(sc, order, len(held.seeds)), "",
        summary_table(sc, order, dict.fromkeys(identical, SAME_RUNS)), "",
        *(line for note in _same_runs_notes(identical, order, manifest.get("backend_setup", {}),
                                            len(sc.problems)) for line in (note, "")),
        f"{held.count_line(manifest['budget'], len(runs), n_failed)} "
        f"Wall time {_duration(wall)} on {env.get('cpus', '?')} CPUs ({env.get('processor', '?')}).", "",
        "**Rank** is 1 + the number of backends that beat this one significantly (tied ranks share "
        "a number, `1=`). **Mean score**, **normed mean** and **median score** are Bayesmark's, "
        "computed as Bayesmark computes them: 0 is the best value any backend found on a problem "
        "and 1 the median single random-search evaluation (mean score; random search itself "
        "scores well below 1), or the expected best of random search at the same budget (normed "
        "mean, median score); lower is better; leaderboard = 100 × (1 - mean score). "
        f"**Targets solved** and **log10 regret** are COCO's measures, on the {len(known)} "
        "problems with a known optimum, where normalized scores saturate; each problem below says "
        f"which measure it is judged by. Formulas: {DOCS}.",
        "",
    ]
    if "scores" in paths:
        lines += [f"![scores]({paths['scores']})", "", f"![score vs budget]({paths['score_vs_budget']})", ""]
    if "ecdf" in paths:
        lines += [f"![runtime ECDF]({paths['ecdf']})", ""]
    lines += _setup_section(manifest)
    lines += ["## Per problem", ""]
    for p in sc.problems:
        same = {b: problems[p] for b, problems in identical.items() if p in problems}
        lines += _problem_section(sc, p, info[p], order, paths.get("convergence", {}).get(p), rng, same)
    if cost:
        lines += _resource_section(cost, paths.get("resource", {}))
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
    skipped = manifest.get("skipped", [])
    if skipped:
        lines += ["", "## Skipped problems and packs", "",
                  *(f"- {s['source']}: {s['reason']}" for s in skipped)]
    if sc.notes:
        lines += ["", "## Notes", "", *(f"- {n}" for n in sc.notes)]
    commands = [" ".join(inv["command"]) for inv in manifest.get("invocations", [])]
    versions = manifest.get("versions", {})
    lines += ["", "## How this was run", "",
              f"- seeds: {manifest['seeds']} (the same for every backend); budget {manifest['budget']} "
              f"trials; per-run limit {manifest.get('timeout')} s",
              *(f"- command: `{c}`" for c in commands),
              f"- machine: {env.get('platform')}, {env.get('cpus')} CPUs",
              f"- versions: {', '.join(f'{k} {v}' for k, v in versions.items() if v)}",
              "- raw data: `runs.jsonl` (one line per run, one entry per trial), `manifest.json`; "
              "tables: `leaderboard.csv`, `problems.csv`, `runs.csv`"
              + (", `resource.csv`" if cost else ""), ""]
    summary = out / "summary.md"
    summary.write_text("\n".join(lines), encoding="utf-8")
    return summary
