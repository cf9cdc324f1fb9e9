"""Pruned variants in the harness: a backend label with a pruner suffix, ``optuna.tpe+asha``.

A label ``BACKEND+PRUNER`` runs ``BACKEND`` with the harness pruner ``PRUNER`` (one of
:data:`PRUNERS`) on the multi-fidelity problems, whose objectives report a value per unit of
resource (epoch) and stop when told to. The label is the run's identity in ``runs.jsonl``, so a
pruned run and its unpruned twin are distinct runs, resumed separately. ``+asha`` puts its
first rung at ``max(1, R // 9)`` of the problem's full resource ``R`` (docs/pruning.md's rule,
:func:`asha_min_resource`); the manifest records each pruner as built.

>>> split_label("optuna.tpe+asha")
('optuna.tpe', 'asha')
>>> split_label("random")
('random', None)
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from unitune.errors import UnituneError
from unitune.pruners import ASHA, Hyperband, MedianPruner, Pruner
from unitune_bench.problem import Problem

__all__ = [
    "PRUNERS",
    "REDUCTION_FACTOR",
    "SEPARATOR",
    "asha_min_resource",
    "is_multi_fidelity",
    "make_harness_pruner",
    "pruned_twins",
    "split_label",
]

SEPARATOR = "+"

#: ASHA's reduction factor in the harness (``+asha``), and Hyperband's (``+hyperband``).
REDUCTION_FACTOR = 3


def asha_min_resource(max_resource: int) -> int:
    """The first rung of the harness's ``+asha`` for a full resource ``R``: ``max(1, R // 9)``.

    docs/pruning.md's rule (measured by benchmarks/scripts/pruning_savings.py): put ASHA's
    first rung where a learning curve begins to rank its configuration, ``R / eta**2`` with
    ``eta = 3``, so that two rungs (``R/9`` and ``R/3``) decide. With 27 epochs that is 3: the
    target (2x less resource, no loss) was met on 9 of 9 problem x backend pairs, against 3 of 9
    with the first rung at 1 epoch. Under 18 the first rung is 1 (under 9, ``R // 9`` is 0).

    >>> [asha_min_resource(r) for r in (1, 8, 9, 26, 27, 81)]
    [1, 1, 1, 2, 3, 9]
    """
    return max(1, int(max_resource) // REDUCTION_FACTOR**2)


#: The harness pruners, by name: each is built for a problem's full resource ``R``
#: (``problem.meta["max_resource"]``). The knobs are fixed so that every run of a name is alike;
#: the manifest records each pruner as built (``backend_setup[label]["pruner_setup"]``) and the
#: report's setup table shows it.
PRUNERS: Mapping[str, Callable[[int], Pruner]] = {
    # Li et al. 2020 with eta = 3 and the first rung at R // 9 (docs/pruning.md's rule, see
    # asha_min_resource): rungs at 3 and 9 for R = 27, one trial in 3 goes on.
    "asha": lambda r: ASHA(min_resource=asha_min_resource(r), reduction_factor=REDUCTION_FACTOR,
                           max_resource=r),
    # Li et al. 2018 with eta = 3 from 1 to R, brackets run asynchronously. Its first rung stays
    # at 1: Hyperband hedges over the first rung itself (its brackets start at 1, 3, 9 and R for
    # R = 27), and docs/pruning.md measured it so, with optuna.tpe, losing nothing measurable.
    "hyperband": lambda r: Hyperband(min_resource=1, max_resource=r, reduction_factor=REDUCTION_FACTOR),
    # Optuna's MedianPruner defaults: 5 startup trials, no warm-up, every step.
    "median": lambda r: MedianPruner(max_resource=r),
}


def split_label(label: str) -> tuple[str, str | None]:
    """``"optuna.tpe+asha"`` -> ``("optuna.tpe", "asha")``; a label without a suffix -> ``(label, None)``.

    A suffix that is not one of :data:`PRUNERS` is an error that names the choices.
    """
    base, sep, pruner = label.partition(SEPARATOR)
    if not sep:
        return label, None
    if not base or pruner not in PRUNERS:
        raise UnituneError(
            f"backend label {label!r}: expected BACKEND{SEPARATOR}PRUNER with PRUNER one of "
            f"{sorted(PRUNERS)} (e.g. 'optuna.tpe{SEPARATOR}asha'), got the pruner {pruner!r}"
        )
    return base, pruner


def pruned_twins(labels: Iterable[str], pruners: Iterable[str]) -> list[str]:
    """``labels`` followed by a ``label+pruner`` twin of each unpruned label for each pruner."""
    labels = list(labels)
    pruners = list(pruners)
    for name in pruners:
        if name not in PRUNERS:
            raise UnituneError(f"unknown harness pruner {name!r}; choose from {sorted(PRUNERS)}")
    twins = [
        f"{label}{SEPARATOR}{name}" for name in pruners for label in labels if split_label(label)[1] is None
    ]
    return list(dict.fromkeys([*labels, *twins]))


def is_multi_fidelity(problem: Problem | Mapping[str, Any]) -> bool:
    """True for a problem that reports per unit of resource: its ``meta`` (or, in a manifest's
    problem description, the entry itself) has ``max_resource``, and its objective takes
    ``(params, trial)`` (see :mod:`unitune_bench.fidelity`)."""
    meta = problem.meta if isinstance(problem, Problem) else problem
    return meta.get("max_resource") is not None


def make_harness_pruner(name: str, problem: Problem) -> Pruner:
    """The harness pruner ``name`` for ``problem`` (a multi-fidelity problem)."""
    if name not in PRUNERS:
        raise UnituneError(f"unknown harness pruner {name!r}; choose from {sorted(PRUNERS)}")
    if not is_multi_fidelity(problem):
        raise UnituneError(
            f"problem {problem.name!r} reports no intermediate values (no meta['max_resource']), "
            f"so the pruner {name!r} has nothing to judge; pruned variants run on multi-fidelity "
            "problems only (tag:fidelity)"
        )
    return PRUNERS[name](int(problem.meta["max_resource"]))
