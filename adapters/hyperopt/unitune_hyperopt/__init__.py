"""unitune-hyperopt: Hyperopt's TPE, random search, annealing and ATPE as a unitune backend.

Use it by name: ``unitune.optimize(objective, space, backend="hyperopt")`` (TPE) or
``"hyperopt.random"``, ``"hyperopt.anneal"``, ``"hyperopt.atpe"``. Importing this package does
not import Hyperopt.
"""

from unitune_hyperopt.backend import HyperoptBackend

__all__ = ["HyperoptBackend"]
