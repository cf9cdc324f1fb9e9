"""The algorithms of the skopt backend, declared once (no scikit-optimize import here)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from unitune.backend import Algorithm, Capabilities

__all__ = ["ALGORITHMS", "BATCH_STRATEGIES", "build"]

#: ``batch_strategy`` values: skopt's constant-liar strategies for ``ask(n)``.
BATCH_STRATEGIES = ("cl_min", "cl_mean", "cl_max")

_CAPABILITIES = Capabilities(conditional=False, batch=True, multi_objective=False, replay=True,
                             seeded=True)
#: ``skopt.Optimizer``'s own defaults (0.10.2), plus the adapter's ``batch_strategy``.
_MODEL_OPTIONS: Mapping[str, Any] = {
    "n_initial_points": 10,
    "initial_point_generator": "random",
    "acq_func": "gp_hedge",
    "acq_optimizer": "auto",
    "acq_func_kwargs": None,
    "acq_optimizer_kwargs": None,
    "n_jobs": 1,
    "model_queue_size": None,
    "avoid_duplicates": True,
    "batch_strategy": "cl_min",
}

ALGORITHMS: Mapping[str, Algorithm] = {
    "gp": Algorithm("Gaussian process surrogate (skopt base_estimator='GP', gp_minimize)",
                    _CAPABILITIES, options=_MODEL_OPTIONS),
    "rf": Algorithm("random forest surrogate (skopt base_estimator='RF', forest_minimize)",
                    _CAPABILITIES, options=_MODEL_OPTIONS),
    "et": Algorithm("extra trees surrogate (skopt base_estimator='ET', forest_minimize)",
                    _CAPABILITIES, options=_MODEL_OPTIONS),
    "gbrt": Algorithm("gradient-boosted quantile trees surrogate (skopt 'GBRT', gbrt_minimize)",
                      _CAPABILITIES, options=_MODEL_OPTIONS),
    "random": Algorithm("random sampling from skopt's RNG (skopt base_estimator='dummy')",
                        _CAPABILITIES, options={"batch_strategy": "cl_min"}),
}


def build(algorithm: str, dimensions: list[Any], random_state: Any, options: Mapping[str, Any]) -> Any:
    """The ``skopt.Optimizer`` of ``algorithm`` (imports scikit-optimize)."""
    from unitune_skopt.gbrt import build_optimizer

    return build_optimizer(algorithm, dimensions, random_state, options)
