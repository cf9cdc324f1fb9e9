"""unitune-optuna: Optuna's samplers (TPE, random, CMA-ES, QMC, NSGA-II, GP) as a unitune backend.

Pick one by name: ``unitune.optimize(objective, space, backend="optuna.cmaes", ...)``.
Importing this package does not import Optuna; building a backend does.
"""

from unitune_optuna.backend import OptunaBackend

__all__ = ["OptunaBackend"]
