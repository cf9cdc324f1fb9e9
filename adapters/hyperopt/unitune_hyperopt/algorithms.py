"""Hyperopt's suggest functions, their keyword options, and a per-call seed stream.

Options are checked against the real signature of the library function (unknown ones raise
BackendError) and bound with ``functools.partial``.
"""

from __future__ import annotations

import functools
import importlib
import importlib.util
import inspect
import numbers
import random
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from unitune.errors import BackendError, BackendNotInstalledError

__all__ = ["ALGORITHMS", "SeedStream", "build_suggest", "option_names"]

#: algorithm -> one-line description (the first is the default).
ALGORITHMS: Mapping[str, str] = {
    "tpe": "Tree-structured Parzen Estimator (hyperopt.tpe.suggest)",
    "random": "independent random sampling from the prior (hyperopt.rand.suggest)",
    "anneal": "simulated annealing around the best trials (hyperopt.anneal.suggest)",
    "atpe": "Adaptive TPE (hyperopt.atpe.suggest); needs the 'atpe' extra: lightgbm, scikit-learn",
}

_MODULES = {"tpe": "hyperopt.tpe", "random": "hyperopt.rand", "anneal": "hyperopt.anneal",
            "atpe": "hyperopt.atpe"}
_POSITIONAL = {"self", "new_ids", "domain", "trials", "seed"}
ATPE_INSTALL = 'pip install "unitune-hyperopt[atpe]"  (lightgbm and scikit-learn)'

# Value rules for the options we know; other options of a newer Hyperopt pass through unchecked.
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


def _module(algorithm: str) -> Any:
    if algorithm == "atpe":
        missing = [m for m in ("lightgbm", "sklearn") if importlib.util.find_spec(m) is None]
        if missing:
            raise BackendNotInstalledError(
                f"backend 'hyperopt.atpe' needs {missing!r}, which Hyperopt's ATPE loads its models "
                f"with; install with: {ATPE_INSTALL}"
            )
    try:
        return importlib.import_module(_MODULES[algorithm])
    except ImportError as exc:
        raise BackendNotInstalledError(
            f"backend 'hyperopt.{algorithm}' could not import {_MODULES[algorithm]} ({exc}); "
            "install with: pip install unitune-hyperopt"
        ) from exc


def option_names(algorithm: str, module: Any) -> tuple[str, ...]:
    """Keyword options the algorithm's suggest function (or annealing class) accepts."""
    target = module.AnnealingAlgo.__init__ if algorithm == "anneal" else module.suggest
    params = inspect.signature(target).parameters.values()
    return tuple(
        p.name for p in params
        if p.name not in _POSITIONAL and p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)
    )


def _check_values(algorithm: str, options: Mapping[str, Any]) -> None:
    for name, value in options.items():
        if name not in _RULES:
            continue
        types, ok, what = _RULES[name]
        wrong_type = not isinstance(value, types) or (isinstance(value, bool) and bool not in types)
        if wrong_type or not ok(value):
            raise BackendError(f"hyperopt.{algorithm}: option {name!r} must be {what}, got {value!r}")


def build_suggest(algorithm: str, options: Mapping[str, Any]) -> Callable[..., list]:
    """The suggest function ``algo(new_ids, domain, trials, seed)`` with ``options`` bound."""
    from unitune.backend import check_options

    module = _module(algorithm)
    check_options(f"hyperopt.{algorithm}", options, option_names(algorithm, module))
    _check_values(algorithm, options)
    suggest = module.suggest
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
