"""scikit-optimize's own loop, the reference the adapter is measured against (benchmarks/scripts).

Every adapter has this module with the same :func:`run` and :data:`CASES`; the overhead script
finds it through the backend's entry point.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from unitune.space import Categorical, Int, Space
from unitune_skopt.codec import SkoptCodec

__all__ = ["CASES", "run"]

#: Algorithm -> trials per timed run.
CASES: Mapping[str, int] = {"gp": 60, "rf": 40, "et": 40, "gbrt": 40, "random": 60}
_ESTIMATORS = {"gp": "GP", "rf": "RF", "et": "ET"}


def run(algorithm: str, space: Space, objective: Callable[[dict[str, Any]], float], n_trials: int,
        seed: int) -> list[dict[str, Any]]:
    """``Optimizer.ask`` / ``tell`` on a flat space, the way a skopt user writes it ("gbrt" and
    "random" use the repaired estimators, which skopt 0.10.2 cannot build on current
    scikit-learn); returns the proposed params in order."""
    from skopt import Optimizer

    from unitune_skopt.gbrt import build_optimizer

    dimensions = SkoptCodec(space).native_space()
    if algorithm in _ESTIMATORS:
        opt = Optimizer(dimensions, base_estimator=_ESTIMATORS[algorithm], random_state=seed)
    else:
        opt = build_optimizer(algorithm, dimensions, seed, {})
    casts = [str if type(d) is Categorical else int if type(d) is Int else float for d in space.values()]
    names = list(space)
    proposals = []
    for _ in range(n_trials):
        x = opt.ask()
        params = {name: cast(v) for name, cast, v in zip(names, casts, x)}
        opt.tell(x, objective(params))
        proposals.append(params)
    return proposals
