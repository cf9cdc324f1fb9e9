"""Pruned variants in the harness: a backend label with a pruner suffix, ``optuna.tpe+asha``.

A label ``BACKEND+PRUNER`` runs ``BACKEND`` with the harness pruner ``PRUNER`` (one of
:data:`PRUNERS`) on the multi-fidelity problems, whose objectives report a value per unit of
resource (epoch) and stop when told to. The label is the run's identity in ``runs.jsonl``, so a
pruned run and its unpruned twin are distinct runs, resumed separately.

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
    "SEPARATOR",
    "is_multi_fidelity",
    "make_harness_pruner",
    "pruned_twins",
    "split_label",
]

SEPARATOR = "+"

#: The harness pruners, by name: each is built for a problem's full resource ``R``
#: (``problem.meta["max_resource"]``). The knobs are fixed so that every run of a name is alike.
PRUNERS: Mapping[str, Callable[[int], Pruner]] = {
    # Li et al. 2020's defaults: rungs at 1, 3, 9 (< R = 27), one trial in 3 goes on.
    "asha": lambda r: ASHA(min_resource=1, reduction_factor=3, max_resource=r),
    # Li et al. 2018 with eta = 3 from 1 to R, brackets run asynchronously.
    "hyperband": lambda r: Hyperband(min_resource=1, max_resource=r, reduction_factor=3),
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
