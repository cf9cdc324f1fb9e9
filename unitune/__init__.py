"""unitune: describe a search space and an objective once, run them on any optimizer backend.

>>> import unitune
>>> from unitune import Float
>>> study = unitune.optimize(lambda p: (p["x"] - 0.3) ** 2, {"x": Float(0.0, 1.0)},
...                          backend="random", n_trials=20, seed=0)
>>> round(study.best_params["x"], 1)
0.3
"""

from unitune.backend import Algorithm, Backend, Capabilities, Conversion, Fidelity, Proposal
from unitune.errors import (
    BackendError,
    BackendNotFoundError,
    BackendNotInstalledError,
    CapabilityError,
    ConversionError,
    ObjectiveResultError,
    SearchExhausted,
    SpaceError,
    TooManyFailuresError,
    UnituneError,
)
from unitune.objective import Result, TrialHandle, TrialPruned
from unitune.registry import conversion_report, list_backends, make_backend
from unitune.space import Categorical, Constant, Dimension, Float, Grid, Int, Space
from unitune.study import Study, optimize
from unitune.trial import Direction, Trial, TrialState

__version__ = "0.1.0"

__all__ = [
    "Algorithm",
    "Backend",
    "BackendError",
    "BackendNotFoundError",
    "BackendNotInstalledError",
    "Capabilities",
    "CapabilityError",
    "Categorical",
    "Constant",
    "Conversion",
    "ConversionError",
    "Dimension",
    "Direction",
    "Fidelity",
    "Float",
    "Grid",
    "Int",
    "ObjectiveResultError",
    "Proposal",
    "Result",
    "SearchExhausted",
    "Space",
    "SpaceError",
    "Study",
    "TooManyFailuresError",
    "Trial",
    "TrialHandle",
    "TrialPruned",
    "TrialState",
    "UnituneError",
    "__version__",
    "conversion_report",
    "list_backends",
    "make_backend",
    "optimize",
]
