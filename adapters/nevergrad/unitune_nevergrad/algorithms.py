"""The algorithms of the nevergrad backend, declared once, and how each optimizer is built.

Every algorithm is a Nevergrad optimizer from ``ng.optimizers.registry``, built exactly as a
Nevergrad user builds it: ``registry[name](parametrization=..., budget=..., num_workers=...)``
on a parametrization whose ``random_state`` is seeded from the study seed.

Options (validated here, with clear errors, before Nevergrad sees them):

- ``budget``: the number of trials the optimizer plans for (Nevergrad's ``budget``). NGOpt needs it
  to pick its sub-optimizer (None is refused here), so its default is 100: give your
  ``n_trials``. The others accept None (no plan). Nevergrad does not stop at the budget; unitune's
  ``n_trials`` does.
- ``num_workers``: how many trials Nevergrad expects to run at once (its ``num_workers``); set it to
  the study's ``batch_size`` for parallel runs. Asking more trials at once than this still works.

The quasi-random search is scrambled Halton (``ScrHaltonSearch``): an endless sequence. Nevergrad's
scrambled Hammersley needs the budget in advance and fails once it is used up, so it is not offered.

Importing this module does not import Nevergrad; :func:`build` does.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from unitune.backend import Algorithm, Capabilities
from unitune.errors import BackendError

__all__ = ["ALGORITHMS", "NATIVE_NAMES", "build", "check_option_values"]

_CAPABILITIES = Capabilities(conditional=False, batch=True, multi_objective=False, replay=True, seeded=True)
# NGOpt may pick a deterministic sub-optimizer (Cobyla starts at the centre whatever the seed) or
# one that ignores points it did not ask for: neither the seed nor replay is guaranteed to count.
_META = Capabilities(conditional=False, batch=True, multi_objective=False, replay=False, seeded=False)
_BUDGETED = {"budget": None, "num_workers": 1}

#: unitune algorithm name -> (Nevergrad optimizer name, description, options with defaults).
_TABLE: dict[str, tuple[str, str, Mapping[str, Any]]] = {
    "ngopt": ("NGOpt", "Nevergrad's meta-optimizer: picks a sub-optimizer from the space, budget and "
              "num_workers (NGOpt)", {"budget": 100, "num_workers": 1}),
    "cma": ("CMA", "covariance matrix adaptation evolution strategy (CMA)", _BUDGETED),
    "de": ("TwoPointsDE", "differential evolution with two-points crossover, a genetic algorithm "
           "(TwoPointsDE)", _BUDGETED),
    "pso": ("PSO", "particle swarm optimization (PSO)", _BUDGETED),
    "oneplusone": ("OnePlusOne", "(1+1) evolution strategy with one-fifth rule step size (OnePlusOne)",
                   _BUDGETED),
    "random": ("RandomSearch", "random search from Nevergrad's sampler (RandomSearch)", _BUDGETED),
    "halton": ("ScrHaltonSearch", "quasi-random search: scrambled Halton sequence (ScrHaltonSearch)",
               {"num_workers": 1}),
}

#: unitune algorithm name -> Nevergrad optimizer name (in ``ng.optimizers.registry``).
NATIVE_NAMES: Mapping[str, str] = {name: native for name, (native, _, _) in _TABLE.items()}

#: The declared algorithms (NGOpt first: the default).
ALGORITHMS: Mapping[str, Algorithm] = {
    name: Algorithm(description, _META if name == "ngopt" else _CAPABILITIES, options=options)
    for name, (_, description, options) in _TABLE.items()
}


def check_option_values(backend: str, options: Mapping[str, Any], *, needs_budget: bool = False) -> None:
    """Raise BackendError unless ``budget`` is a positive int (or None, unless ``needs_budget``:
    NGOpt's) and ``num_workers`` a positive int."""
    for name, allow_none in (("budget", not needs_budget), ("num_workers", False)):
        if name not in options:
            continue
        value = options[name]
        if value is None and allow_none:
            continue
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            expected = "a positive integer or None" if allow_none else "a positive integer"
            raise BackendError(f"backend {backend!r}: option {name!r} must be {expected}, got {value!r}")


def build(
    algorithm: str, parametrization: Any, seed: int | None, options: Mapping[str, Any]
) -> Any:
    """A Nevergrad optimizer for ``algorithm`` on ``parametrization``, seeded as a user would seed it.

    The parametrization's ``random_state`` is set before the optimizer exists, so every draw the
    optimizer makes comes from it. Nevergrad's own errors propagate (the caller translates them).
    """
    import nevergrad as ng
    import numpy as np

    if seed is not None:
        parametrization.random_state = np.random.RandomState(seed)
    cls = ng.optimizers.registry[NATIVE_NAMES[algorithm]]
    return cls(parametrization=parametrization, budget=options.get("budget"),
               num_workers=options["num_workers"])
