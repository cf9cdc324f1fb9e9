"""unitune-skopt: scikit-optimize (GP, random forest, extra trees, GBRT, random) as a unitune backend.

Use it by name: ``unitune.optimize(objective, space, backend="skopt.gp")``. Importing this
package does not import scikit-optimize; building a backend does.
"""

from unitune_skopt.backend import SkoptBackend

__all__ = ["SkoptBackend"]
