"""skopt 0.10.2 on scikit-learn >= 1.6 and numpy 2: the repairs, and the optimizer builder.

Two things in scikit-optimize 0.10.2 break on current scikit-learn and numpy:

- ``base_estimator="dummy"``: ``Optimizer.__init__`` calls ``sklearn.base.is_regressor(None)``
  before testing for None; since scikit-learn 1.6 ``is_regressor`` reads ``get_tags(estimator)``,
  which raises AttributeError on None. We get the same algorithm (random points drawn from the
  optimizer's own RNG, no model) by never leaving skopt's initial phase: a tree estimator cooked
  by skopt (so the RNG advances exactly as for "dummy") and an unreachable ``n_initial_points``.
- ``base_estimator="GBRT"``: ``GradientBoostingQuantileRegressor`` derives from
  ``(BaseEstimator, RegressorMixin)``; with the new tags API the mixin must come first, so its
  ``estimator_type`` stays None and ``is_regressor`` says False. Its ``predict(return_std=True)``
  also calls ``np.in1d``, removed in numpy 2.4. :class:`QuantileGBRT` fixes both in a subclass, and
  we build it exactly as skopt's ``cook_estimator("GBRT")`` does, with the same RNG draws.

This module imports scikit-optimize: :mod:`unitune_skopt.algorithms` imports it only when a
backend is built.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
from sklearn.ensemble import GradientBoostingRegressor
from sklearn.utils import check_random_state
from skopt import Optimizer
from skopt.learning import GradientBoostingQuantileRegressor

__all__ = ["QuantileGBRT", "build_optimizer"]

_STRING_ESTIMATORS = {"gp": "GP", "rf": "RF", "et": "ET"}
_NEVER = 2**62  # n_initial_points that is never reached: skopt stays in its random phase


class QuantileGBRT(GradientBoostingQuantileRegressor):
    """skopt's GradientBoostingQuantileRegressor, tagged as a regressor and numpy-2 safe."""

    def __sklearn_tags__(self) -> Any:
        from sklearn.utils import RegressorTags

        tags = super().__sklearn_tags__()
        tags.estimator_type = "regressor"
        if tags.regressor_tags is None:
            tags.regressor_tags = RegressorTags()
        return tags

    def predict(self, X: Any, return_std: bool = False, return_quantiles: bool = False) -> Any:
        """Mean (median quantile), optionally with std = (q84 - q16) / 2, like skopt's."""
        if not return_std or return_quantiles:
            return super().predict(X, return_std=False, return_quantiles=return_quantiles)
        quantiles = list(self.quantiles)
        missing = [q for q in (0.16, 0.5, 0.84) if q not in quantiles]
        if missing:
            raise ValueError(
                f"return_std needs the quantiles 0.16, 0.5 and 0.84, missing {missing!r}"
            )
        low = self.regressors_[quantiles.index(0.16)].predict(X)
        high = self.regressors_[quantiles.index(0.84)].predict(X)
        mean = self.regressors_[quantiles.index(0.5)].predict(X)
        return mean, (high - low) / 2.0


def build_optimizer(
    algorithm: str, dimensions: list[Any], random_state: Any, options: Mapping[str, Any]
) -> Optimizer:
    """A ``skopt.Optimizer`` for ``algorithm``, proposing what skopt itself would.

    ``options`` are ``skopt.Optimizer`` keyword options. skopt's own errors for bad values
    propagate (the backend translates them through ``unitune.kit.library_errors``).
    """
    options = dict(options)
    if algorithm in _STRING_ESTIMATORS:
        return Optimizer(dimensions, base_estimator=_STRING_ESTIMATORS[algorithm],
                         random_state=random_state, **options)
    rng = check_random_state(random_state)
    if algorithm == "gbrt":
        # As skopt's Optimizer + cook_estimator("GBRT", random_state=rng.randint(...), n_jobs=...).
        seed = rng.randint(0, np.iinfo(np.int32).max)
        gbrt = GradientBoostingRegressor(n_estimators=30, loss="quantile")
        estimator = QuantileGBRT(base_estimator=gbrt, random_state=seed,
                                 n_jobs=options.pop("n_jobs", 1))
        return Optimizer(dimensions, base_estimator=estimator, random_state=rng, **options)
    if algorithm == "random":
        # "dummy": the RF string consumes the same one RNG draw that cook_estimator("dummy") does;
        # no model is ever fitted because the initial phase never ends.
        return Optimizer(dimensions, base_estimator="RF", random_state=rng,
                         n_initial_points=_NEVER, acq_optimizer="sampling", **options)
    raise ValueError(f"unknown skopt algorithm {algorithm!r}")
