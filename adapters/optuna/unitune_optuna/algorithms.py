"""The algorithms of the Optuna backend, declared once, and how to build each sampler.

Each :class:`OptunaAlgorithm` record names its Optuna sampler, says where Optuna falls back to
independent random sampling, and declares the sampler's keyword options with Optuna's own
defaults (the tests check them against the real signatures). One default differs on purpose:
``warn_independent_sampling`` is False where the sampler warns once per trial about a fallback
that the conversion report already states. Optuna is imported only inside the builders.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from unitune.backend import Algorithm, Capabilities

__all__ = ["ALGORITHMS", "OptunaAlgorithm", "build", "quiet_optuna_logging"]


@dataclass(frozen=True)
class OptunaAlgorithm(Algorithm):
    """An :class:`~unitune.backend.Algorithm` plus the Optuna sampler behind it.

    ``random_categorical`` / ``random_conditional`` say where Optuna falls back to its
    independent RandomSampler (with the reason); None means the sampler models it itself.
    """

    sampler: str = ""
    random_categorical: str | None = None
    random_conditional: str | None = None


_INTERSECTION = (
    "active only in some branches, so outside the sampler's intersection search space: "
    "Optuna samples it with its independent RandomSampler"
)
_GP_INSTALL = "pip install 'unitune-optuna[gp]'"

ALGORITHMS: Mapping[str, OptunaAlgorithm] = {
    "tpe": OptunaAlgorithm(
        "Tree-structured Parzen Estimator (optuna.samplers.TPESampler)",
        Capabilities(conditional=True, batch=True, multi_objective=True),
        options={"consider_prior": None, "prior_weight": None, "consider_magic_clip": None,
                 "consider_endpoints": None, "n_startup_trials": 10, "n_ei_candidates": 24,
                 "gamma": None, "weights": None, "multivariate": None, "group": False,
                 "warn_independent_sampling": None, "constant_liar": True, "constraints_func": None},
        sampler="TPESampler",
    ),
    "random": OptunaAlgorithm(
        "independent uniform sampling (optuna.samplers.RandomSampler)",
        Capabilities(conditional=True, batch=True, multi_objective=True),
        sampler="RandomSampler",
    ),
    "cmaes": OptunaAlgorithm(
        "CMA-ES evolution strategy on numeric parameters (optuna.samplers.CmaEsSampler)",
        Capabilities(conditional=False, batch=True, multi_objective=False, replay=False),
        requires=("cmaes",),
        options={"x0": None, "sigma0": None, "n_startup_trials": 1, "independent_sampler": None,
                 "warn_independent_sampling": False, "consider_pruned_trials": False,
                 "restart_strategy": None, "popsize": None, "inc_popsize": -1,
                 "use_separable_cma": False, "with_margin": False, "lr_adapt": False,
                 "source_trials": None},
        sampler="CmaEsSampler",
        random_categorical="CMA-ES cannot model categorical parameters: Optuna samples it with "
        "its independent RandomSampler",
        random_conditional=_INTERSECTION,
    ),
    "qmc": OptunaAlgorithm(
        "quasi-Monte Carlo low-discrepancy sequence, Sobol by default (optuna.samplers.QMCSampler)",
        Capabilities(conditional=False, batch=True, multi_objective=True),
        options={"qmc_type": "sobol", "scramble": False, "independent_sampler": None,
                 "warn_asynchronous_seeding": True, "warn_independent_sampling": False},
        sampler="QMCSampler",
        random_conditional="QMCSampler fixes its search space from the first trial: this "
        "parameter follows the QMC sequence only if the first trial took its branch, otherwise "
        "Optuna samples it with its independent RandomSampler",
    ),
    "nsga2": OptunaAlgorithm(
        "NSGA-II genetic algorithm, multi-objective (optuna.samplers.NSGAIISampler)",
        Capabilities(conditional=False, batch=True, multi_objective=True, replay=False),
        options={"population_size": 50, "mutation": None, "mutation_prob": None, "crossover": None,
                 "crossover_prob": 0.9, "swapping_prob": 0.5, "constraints_func": None,
                 "elite_population_selection_strategy": None, "child_generation_strategy": None,
                 "after_trial_strategy": None},
        sampler="NSGAIISampler",
        random_conditional=_INTERSECTION,
    ),
    "gp": OptunaAlgorithm(
        "Gaussian-process Bayesian optimization, needs torch (optuna.samplers.GPSampler)",
        Capabilities(conditional=False, batch=True, multi_objective=True),
        requires=("torch",),
        install=_GP_INSTALL,
        options={"independent_sampler": None, "n_startup_trials": 10, "deterministic_objective": False,
                 "constraints_func": None, "warn_independent_sampling": False},
        sampler="GPSampler",
        random_conditional=_INTERSECTION,
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


def build(algorithm: str, seed: int | None, options: Mapping[str, Any]) -> Any:
    """The sampler of ``algorithm`` with ``seed`` and the (validated, defaults-filled) options.

    Optuna's own errors for bad values propagate (the backend translates them through
    ``unitune.kit.library_errors``). ExperimentalWarnings about the sampler's interface are not
    shown: unitune's interface is what the user relies on.
    """
    import optuna

    cls = getattr(optuna.samplers, ALGORITHMS[algorithm].sampler)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        return cls(**options, seed=seed)
