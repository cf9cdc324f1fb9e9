"""Which Optuna sampler each unitune algorithm name stands for, and how to build it.

This module is plain data plus builders; Optuna itself is imported only inside the builders,
so listing algorithms stays cheap.
"""

from __future__ import annotations

import importlib.util
import inspect
import logging
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from unitune.backend import Capabilities, check_options
from unitune.errors import BackendError, BackendNotInstalledError

__all__ = ["ALGORITHMS", "AlgorithmSpec", "build_sampler", "derive_seed", "quiet_optuna_logging"]


@dataclass(frozen=True)
class AlgorithmSpec:
    """One unitune algorithm: the Optuna sampler behind it and what it models natively.

    ``random_categorical`` / ``random_conditional`` say where Optuna falls back to its
    independent RandomSampler (with the reason); None means the sampler models it itself.
    """

    sampler: str
    description: str
    capabilities: Capabilities
    random_categorical: str | None = None
    random_conditional: str | None = None
    modules: tuple[str, ...] = ()
    extra: str | None = None
    #: Defaults that silence Optuna's per-trial "falling back to independent sampling" warnings
    #: (the conversion report already says so once); a user option overrides them.
    quiet: Mapping[str, Any] = field(default_factory=dict)


_QUIET = {"warn_independent_sampling": False}
_INTERSECTION = (
    "active only in some branches, so outside the sampler's intersection search space: "
    "Optuna samples it with its independent RandomSampler"
)

ALGORITHMS: dict[str, AlgorithmSpec] = {
    "tpe": AlgorithmSpec(
        "TPESampler",
        "Tree-structured Parzen Estimator (optuna.samplers.TPESampler)",
        Capabilities(conditional=True, batch=True, multi_objective=True),
    ),
    "random": AlgorithmSpec(
        "RandomSampler",
        "independent uniform sampling (optuna.samplers.RandomSampler)",
        Capabilities(conditional=True, batch=True, multi_objective=True),
    ),
    "cmaes": AlgorithmSpec(
        "CmaEsSampler",
        "CMA-ES evolution strategy on numeric parameters (optuna.samplers.CmaEsSampler)",
        Capabilities(conditional=False, batch=True, multi_objective=False, replay=False),
        random_categorical="CMA-ES cannot model categorical parameters: Optuna samples it with "
        "its independent RandomSampler",
        random_conditional=_INTERSECTION,
        modules=("cmaes",),
        quiet=_QUIET,
    ),
    "qmc": AlgorithmSpec(
        "QMCSampler",
        "quasi-Monte Carlo low-discrepancy sequence, Sobol by default (optuna.samplers.QMCSampler)",
        Capabilities(conditional=False, batch=True, multi_objective=True),
        random_conditional="QMCSampler fixes its search space from the first trial: this "
        "parameter follows the QMC sequence only if the first trial took its branch, otherwise "
        "Optuna samples it with its independent RandomSampler",
        quiet=_QUIET,
    ),
    "nsga2": AlgorithmSpec(
        "NSGAIISampler",
        "NSGA-II genetic algorithm, multi-objective (optuna.samplers.NSGAIISampler)",
        Capabilities(conditional=False, batch=True, multi_objective=True, replay=False),
        random_conditional=_INTERSECTION,
    ),
    "gp": AlgorithmSpec(
        "GPSampler",
        "Gaussian-process Bayesian optimization, needs torch (optuna.samplers.GPSampler)",
        Capabilities(conditional=False, batch=True, multi_objective=True),
        random_conditional=_INTERSECTION,
        modules=("torch",),
        extra="gp",
        quiet=_QUIET,
    ),
}

_logging_quieted = False


def quiet_optuna_logging() -> None:
    """Lower Optuna's per-trial INFO chatter to WARNING, once per process.

    Called when the first Optuna backend is built (never at import). Only the default INFO
    level is changed; a level the user chose before (or sets afterwards) is left alone.
    """
    global _logging_quieted
    if _logging_quieted:
        return
    _logging_quieted = True
    import optuna

    if optuna.logging.get_verbosity() <= logging.INFO:
        optuna.logging.set_verbosity(optuna.logging.WARNING)


def derive_seed(seed: int, history: int) -> int:
    """A seed for a backend warmed with ``history`` replayed trials (deterministic, distinct)."""
    return int(np.random.SeedSequence([seed, history]).generate_state(1)[0])


def _accepted_options(cls: type) -> list[str]:
    params = inspect.signature(cls.__init__).parameters.values()
    return sorted(
        p.name for p in params
        if p.name not in ("self", "seed") and p.kind in (p.KEYWORD_ONLY, p.POSITIONAL_OR_KEYWORD)
    )


def sampler_class(algorithm: str) -> type:
    """The Optuna sampler class of ``algorithm``, checking its optional modules are installed."""
    spec = ALGORITHMS[algorithm]
    missing = [m for m in spec.modules if importlib.util.find_spec(m) is None]
    if missing:
        hint = f"pip install 'unitune-optuna[{spec.extra}]'" if spec.extra else "pip install unitune-optuna"
        raise BackendNotInstalledError(
            f"backend 'optuna.{algorithm}' needs the missing module(s) {missing!r}; install with: {hint}"
        )
    import optuna

    return getattr(optuna.samplers, spec.sampler)


def build_sampler(algorithm: str, seed: int | None, options: Mapping[str, Any]) -> Any:
    """Build the sampler of ``algorithm`` with ``seed`` and pass-through keyword ``options``.

    Unknown options are rejected with a BackendError naming the accepted ones; Optuna's own
    validation errors become BackendError too. ExperimentalWarnings about the sampler's
    interface are not shown: unitune's interface is what the user relies on.
    """
    import optuna

    cls = sampler_class(algorithm)
    accepted = _accepted_options(cls)
    check_options(f"optuna.{algorithm}", options, accepted)
    kwargs = {k: v for k, v in ALGORITHMS[algorithm].quiet.items() if k in accepted}
    kwargs.update(options)
    kwargs["seed"] = seed
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        try:
            return cls(**kwargs)
        except (TypeError, ValueError) as exc:
            raise BackendError(
                f"optuna.{algorithm}: invalid sampler options {dict(options)!r}: {exc}"
            ) from exc
