"""The algorithms of the Hyperopt backend, declared once, and their suggest functions.

Declarations import nothing heavy; :func:`build` imports Hyperopt. Each algorithm's options are
its suggest function's keyword arguments with Hyperopt's own defaults (checked against the real
signatures by the tests), bound with ``functools.partial``.
"""

from __future__ import annotations

import functools
import importlib
import numbers
import random
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from unitune.backend import Algorithm, Capabilities
from unitune.errors import BackendError

__all__ = ["ALGORITHMS", "SUGGEST_MODULES", "SeedStream", "build"]

_CAPABILITIES = Capabilities(conditional=True, batch=True, multi_objective=False, replay=True, seeded=True)
ATPE_INSTALL = "pip install 'unitune-hyperopt[atpe]'"

ALGORITHMS: Mapping[str, Algorithm] = {
    "tpe": Algorithm(
        "Tree-structured Parzen Estimator (hyperopt.tpe.suggest)", _CAPABILITIES,
        options={"prior_weight": 1.0, "n_startup_jobs": 20, "n_EI_candidates": 24, "gamma": 0.25,
                 "verbose": True},
    ),
    "random": Algorithm("independent random sampling from the prior (hyperopt.rand.suggest)",
                        _CAPABILITIES),
    "anneal": Algorithm(
        "simulated annealing around the best trials (hyperopt.anneal.suggest)", _CAPABILITIES,
        options={"avg_best_idx": 2.0, "shrink_coef": 0.1},
    ),
    "atpe": Algorithm(
        "Adaptive TPE (hyperopt.atpe.suggest); needs the 'atpe' extra: lightgbm, scikit-learn",
        _CAPABILITIES, requires=("lightgbm", "sklearn"), install=ATPE_INSTALL,
    ),
}

#: The Hyperopt module whose ``suggest`` each algorithm calls.
SUGGEST_MODULES: Mapping[str, str] = {"tpe": "hyperopt.tpe", "random": "hyperopt.rand",
                                      "anneal": "hyperopt.anneal", "atpe": "hyperopt.atpe"}

# Value rules for the declared options.
_REAL = (numbers.Real,)
_RULES: dict[str, tuple[tuple[type, ...], Callable[[Any], bool], str]] = {
    "n_startup_jobs": ((numbers.Integral,), lambda v: v >= 0, "an integer >= 0"),
    "n_EI_candidates": ((numbers.Integral,), lambda v: v >= 1, "an integer >= 1"),
    "gamma": (_REAL, lambda v: 0 < v <= 1, "a number in (0, 1]"),
    "prior_weight": (_REAL, lambda v: v > 0, "a number > 0"),
    "verbose": ((bool,), lambda v: True, "True or False"),
    "avg_best_idx": (_REAL, lambda v: v > 0, "a number > 0"),
    "shrink_coef": (_REAL, lambda v: v > 0, "a number > 0"),
}


def _check_values(algorithm: str, options: Mapping[str, Any]) -> None:
    for name, value in options.items():
        types, ok, what = _RULES[name]
        wrong_type = not isinstance(value, types) or (isinstance(value, bool) and bool not in types)
        if wrong_type or not ok(value):
            raise BackendError(f"hyperopt.{algorithm}: option {name!r} must be {what}, got {value!r}")


def build(algorithm: str, options: Mapping[str, Any]) -> Callable[..., list]:
    """The suggest function ``algo(new_ids, domain, trials, seed)`` with ``options`` bound."""
    _check_values(algorithm, options)
    suggest = importlib.import_module(SUGGEST_MODULES[algorithm]).suggest
    if options:
        suggest = functools.partial(suggest, **options)
    if algorithm == "atpe":
        suggest = _atpe(suggest)
    return suggest


def _atpe(suggest: Callable[..., list]) -> Callable[..., list]:
    """Two workarounds for hyperopt.atpe.suggest (0.3.0).

    It ignores its ``seed`` and draws from the global ``random`` and ``numpy.random``: both are
    seeded from it for the call and restored afterwards. It crashes (``min()`` of an empty
    sequence) when trials exist but none has a loss yet (only failures or pending ones): then
    Hyperopt's random search proposes, as ATPE itself does until it has enough results.
    """
    from hyperopt import rand

    @functools.wraps(suggest)
    def run(new_ids: list, domain: Any, trials: Any, seed: int) -> list:
        docs = trials.trials
        if docs and all(doc["result"].get("loss") is None for doc in docs):
            return rand.suggest(new_ids, domain, trials, seed)
        py_state, np_state = random.getstate(), np.random.get_state()
        random.seed(seed)
        np.random.seed(seed)
        try:
            return suggest(new_ids, domain, trials, seed)
        finally:
            random.setstate(py_state)
            np.random.set_state(np_state)

    return run


class SeedStream:
    """The seeds ``fmin`` would hand to successive suggest calls, by position.

    ``fmin(rstate=np.random.default_rng(s))`` draws ``rstate.integers(2**31 - 1)`` once per call.
    Here the seed of a call is the draw at position k, the number of trials Hyperopt already
    holds: a fresh run reproduces fmin exactly, and a backend rebuilt from k replayed trials
    continues the stream at k instead of re-proposing the first points again.
    """

    def __init__(self, seed: int | None):
        self._rng = np.random.default_rng(seed)
        self._drawn: list[int] = []

    def at(self, position: int) -> int:
        """The seed at ``position`` (0-based), drawing the stream that far if needed."""
        while len(self._drawn) <= position:
            self._drawn.append(int(self._rng.integers(2**31 - 1)))
        return self._drawn[position]
