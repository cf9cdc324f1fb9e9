"""Hyperopt's own loop, the reference the adapter is measured against (benchmarks/scripts).

Every adapter has this module with the same :func:`run` and :data:`CASES`; the overhead script
finds it through the backend's entry point.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import Any

from unitune.space import Space
from unitune_hyperopt.algorithms import SUGGEST_MODULES
from unitune_hyperopt.codec import HyperoptCodec

__all__ = ["CASES", "run"]

#: Algorithm -> trials per timed run.
CASES: Mapping[str, int] = {"tpe": 200, "random": 200, "anneal": 200}


def run(algorithm: str, space: Space, objective: Callable[[dict[str, Any]], float], n_trials: int,
        seed: int) -> list[dict[str, Any]]:
    """``fmin`` with a seeded ``rstate`` on the space's ``hp`` expression (a flat space of
    floats); returns the proposed params in order."""
    import numpy as np
    from hyperopt import Trials, fmin

    suggest = importlib.import_module(SUGGEST_MODULES[algorithm]).suggest
    trials = Trials()
    fmin(objective, HyperoptCodec(space).native_space(), algo=suggest, max_evals=n_trials,
         trials=trials, rstate=np.random.default_rng(seed), show_progressbar=False, verbose=False)
    return [{k: v[0] for k, v in doc["misc"]["vals"].items()} for doc in trials.trials]
