"""unitune-nevergrad: Nevergrad (NGOpt, CMA, TwoPointsDE, PSO, OnePlusOne, random and quasi-random
search) as a unitune backend.

Use it by name: ``unitune.optimize(objective, space, backend="nevergrad.cma")``. Importing this
package does not import Nevergrad; building a backend does.
"""

from unitune_nevergrad.backend import NevergradBackend

__all__ = ["NevergradBackend"]
