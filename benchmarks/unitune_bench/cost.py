"""Cost on the resource axis: multi-fidelity runs scored by what they spent, from ``runs.jsonl``.

On a multi-fidelity problem each trial's trace line records the ``resource`` it spent (epochs:
its last reported step). Per run, :func:`run_resource_curve` is the best loss against cumulative
resource (:func:`unitune_bench.fidelity.best_by_resource`); per backend label, medians over
seeds of the total resource, of the final best value, and of the resource needed to reach
random search's level: the median final best of unpruned random search (the baseline) on the
problem (:func:`unitune_bench.fidelity.first_reach`, ``inf`` if never).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from unitune_bench.fidelity import best_by_resource, first_reach
from unitune_bench.pruning import split_label
from unitune_bench.scoring import BASELINE

__all__ = ["ResourceRow", "ResourceScores", "resource_scores", "run_resource_curve"]


@dataclass(frozen=True)
class ResourceRow:
    """One backend label on one multi-fidelity problem (medians over its runs)."""

    backend: str
    runs: int
    total: float
    #: the unpruned twin's median total divided by this one's (None without a twin)
    saved: float | None
    #: the median final best, in the problem's own sign
    best: float
    #: median resource to reach random search's level (inf when most runs never do)
    to_reach: float
    reached: int


@dataclass
class ResourceScores:
    """One multi-fidelity problem: the level to reach, a row and the curves of each backend."""

    problem: str
    resource: str
    #: the median final best loss of unpruned random search, or None when it did not run
    level: float | None
    rows: list[ResourceRow] = field(default_factory=list)
    #: label -> one (cumulative resource, best loss) curve per run, for the plot
    curves: dict[str, list[tuple[np.ndarray, np.ndarray]]] = field(default_factory=dict)


def run_resource_curve(run: Mapping[str, Any], sign: float, budget: int) -> tuple[np.ndarray, np.ndarray]:
    """``(cumulative resource, best loss so far)`` after each of the run's trials (at most ``budget``)."""
    trials = run["trials"][:budget]
    return best_by_resource(
        (t.get("resource", 0), None if t.get("value") is None else sign * t["value"]) for t in trials
    )


def resource_scores(
    runs: Sequence[Mapping[str, Any]],
    problem_info: Mapping[str, Mapping[str, Any]],
    budget: int,
    baseline: str = BASELINE,
) -> list[ResourceScores]:
    """Score every multi-fidelity problem of ``problem_info`` whose runs recorded resource."""
    out = []
    for p, info in problem_info.items():
        mine = [r for r in runs if r["problem"] == p and r["budget"] == budget and "resource" in r]
        if info.get("max_resource") is None or not mine:
            continue
        sign = 1.0 if info["direction"] == "minimize" else -1.0
        by_label: dict[str, list[Mapping[str, Any]]] = {}
        for r in sorted(mine, key=lambda r: r["seed"]):
            by_label.setdefault(r["backend"], []).append(r)
        curves = {b: [run_resource_curve(r, sign, budget) for r in rs] for b, rs in by_label.items()}
        finals = {b: [ys[-1] if ys.size else math.inf for _, ys in cs] for b, cs in curves.items()}
        base = finals.get(baseline)
        level = float(np.median(base)) if base else None
        totals = {
            b: float(np.median([xs[-1] if xs.size else 0.0 for xs, _ in cs])) for b, cs in curves.items()
        }
        scores = ResourceScores(p, info.get("resource", "steps"), level, curves=curves)
        for b, cs in curves.items():
            twin = split_label(b)[0] if split_label(b)[1] is not None else None
            reach = [first_reach(xs, ys, level) for xs, ys in cs] if level is not None else []
            scores.rows.append(
                ResourceRow(
                    backend=b,
                    runs=len(by_label[b]),
                    total=totals[b],
                    saved=totals[twin] / totals[b] if twin in totals and totals[b] > 0 else None,
                    best=sign * float(np.median(finals[b])),
                    to_reach=float(np.median(reach)) if reach else math.nan,
                    reached=sum(math.isfinite(x) for x in reach),
                )
            )
        scores.rows.sort(key=lambda row: _order(row.backend, baseline))
        out.append(scores)
    return out


def _order(label: str, baseline: str) -> tuple[bool, str, str]:
    """The baseline first, each backend followed by its pruned twins."""
    base, pruner = split_label(label)
    return (base != baseline, base, pruner or "")
