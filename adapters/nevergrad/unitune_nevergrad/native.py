"""Nevergrad's own ask/tell loop, the reference the adapter is measured against (benchmarks/scripts).

Every adapter has this module with the same :func:`run` and :data:`CASES`; the overhead script
finds it through the backend's entry point.

It does the same library work as the adapter, checked call by call: the same parametrization
(``NevergradCodec.native_space()``, a fresh ``ng.p.Dict``), the same ``random_state`` seeding,
the same optimizer class, ``budget`` and ``num_workers`` (the algorithm's declared defaults), one
``ask()`` and one ``tell(candidate, loss)`` per trial with the same loss (Rosenbrock values are
far inside the adapter's loss bound). What the adapter adds on top (decoding, trial bookkeeping,
the study's records) is the overhead being measured.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from unitune.space import Space
from unitune_nevergrad.algorithms import ALGORITHMS, NATIVE_NAMES
from unitune_nevergrad.codec import NevergradCodec

__all__ = ["CASES", "run"]

#: Algorithm -> trials per timed run.
CASES: Mapping[str, int] = {name: 200 for name in ALGORITHMS}


def run(algorithm: str, space: Space, objective: Callable[[dict[str, Any]], float], n_trials: int,
        seed: int) -> list[dict[str, Any]]:
    """``optimizer.ask()`` / ``tell(candidate, loss)`` on the ``ng.p.Dict`` of a flat space of
    floats, seeded through the parametrization's ``random_state`` and built with the algorithm's
    default options, the way a Nevergrad user writes it; returns the proposed params in order."""
    import nevergrad as ng
    import numpy as np

    parametrization = NevergradCodec(space).native_space()
    parametrization.random_state = np.random.RandomState(seed)
    options = ALGORITHMS[algorithm].options
    optimizer = ng.optimizers.registry[NATIVE_NAMES[algorithm]](
        parametrization=parametrization, budget=options.get("budget"), num_workers=options["num_workers"]
    )
    proposals = []
    for _ in range(n_trials):
        candidate = optimizer.ask()
        params = dict(candidate.value)
        optimizer.tell(candidate, objective(params))
        proposals.append(params)
    return proposals
