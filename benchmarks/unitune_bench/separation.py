"""When may the report name a winner? Pairwise one-sided Mann-Whitney U tests with Šidák's
correction, the groups they separate, and how many seeds a separation would need.

A backend's *tested rank* is 1 + the number of backends that beat it significantly, so backends
that no test separates share a rank (shown as ``1=``). A *winner* is a backend that beats every
other one; a *tie group* is a set of backends that each beat every backend outside the set, while
no test separates them from each other. Anything else is "not separated".

>>> v = verdict({"a": np.arange(10.0), "b": np.arange(10.0) + 100}, alpha=0.05)
>>> v.kind, v.members
('winner', ('a',))
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
from scipy.stats import mannwhitneyu, norm

__all__ = ["POWER", "Verdict", "beats", "seeds_needed", "sidak_alpha", "superiority", "verdict"]

#: The power asked of a future benchmark when estimating the seeds it needs.
POWER = 0.8


def sidak_alpha(k: int, family: float = 0.05) -> float:
    """Per-pair level for ``k`` backends, ``1 - (1 - family)^(1/m)`` with ``m = k(k-1)/2`` pairs."""
    return 1 - (1 - family) ** (1 / max(1, k * (k - 1) // 2))


def beats(x: np.ndarray, y: np.ndarray, alpha: float) -> bool:
    """True when a one-sided Mann-Whitney U test says ``x`` is stochastically smaller than ``y``."""
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    if len(x) == 0 or len(y) == 0 or np.array_equal(np.sort(x), np.sort(y)):
        return False
    return bool(mannwhitneyu(x, y, alternative="less").pvalue < alpha)


def superiority(x: np.ndarray, y: np.ndarray) -> float:
    """``P(X < Y) + P(X = Y) / 2`` estimated from the samples (the U statistic over ``n m``)."""
    x, y = np.asarray(x, dtype=float)[:, None], np.asarray(y, dtype=float)[None, :]
    return float(((x < y) + 0.5 * (x == y)).mean())


def seeds_needed(x: np.ndarray, y: np.ndarray, alpha: float, per_seed: int = 1,
                 power: float = POWER) -> float:
    """Seeds per backend that a one-sided Mann-Whitney test at ``alpha`` would need to separate
    ``x`` from ``y`` with probability ``power``, if the effect seen here is the true one
    (Noether 1987, equal groups: ``n = (z_{1-α} + z_power)² / (6 (p - 1/2)²)`` samples per group,
    ``p`` = :func:`superiority`); ``per_seed`` samples come from each seed (one per problem).
    ``inf`` when the samples show no difference at all.
    """
    p = superiority(x, y)
    if abs(p - 0.5) < 1e-12:
        return math.inf
    n = (norm.ppf(1 - alpha) + norm.ppf(power)) ** 2 / (6 * (p - 0.5) ** 2)
    return float(math.ceil(n / per_seed))


@dataclass(frozen=True)
class Verdict:
    """What the tests allow the report to say about one comparison."""

    kind: str  # "winner", "tie" or "not separated"
    members: tuple[str, ...]
    alpha: float
    ranks: Mapping[str, int] = field(default_factory=dict)
    beaten_by: Mapping[str, tuple[str, ...]] = field(default_factory=dict)


def verdict(samples: Mapping[str, np.ndarray], alpha: float) -> Verdict:
    """Test every ordered pair of ``samples`` (lower is better) at ``alpha`` and say who leads."""
    names = [n for n in samples if len(samples[n])]
    better = {(a, b) for a, b in itertools.permutations(names, 2) if beats(samples[a], samples[b], alpha)}
    beaten_by = {b: tuple(a for a in names if (a, b) in better) for b in names}
    ranks = {b: 1 + len(beaten_by[b]) for b in names}
    top = tuple(b for b in names if ranks[b] == 1)
    rest = [b for b in names if b not in top]
    if len(names) >= 2 and top and rest and all((a, b) in better for a in top for b in rest):
        kind = "winner" if len(top) == 1 else "tie"
    else:
        kind = "not separated"
    return Verdict(kind, top, alpha, ranks, beaten_by)
