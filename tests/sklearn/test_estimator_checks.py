"""SearchCV passes scikit-learn's own estimator checks, as GridSearchCV does."""

from __future__ import annotations

import pytest

pytest.importorskip("sklearn")

from scipy.stats import loguniform
from sklearn.decomposition import PCA
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.pipeline import Pipeline
from sklearn.utils.estimator_checks import parametrize_with_checks

from unitune import Float
from unitune.sklearn import SearchCV

# The same two checks scikit-learn itself marks as expected failures for GridSearchCV and
# RandomizedSearchCV (sklearn/utils/_test_common/instance_generator.py).
_SEARCH_XFAILS = {
    "check_supervised_y_2d": "DataConversionWarning not caught (as GridSearchCV)",
    "check_requires_y_none": "Doesn't fail gracefully (as GridSearchCV)",
}

# A regressor on a grid, a classifier on scipy distributions, a pipeline on a unitune space.
ESTIMATORS = [
    SearchCV(Ridge(), param_grid={"alpha": [0.1, 1.0]}, cv=2, error_score="raise"),
    SearchCV(LogisticRegression(), param_distributions={"C": loguniform(0.1, 10.0)}, n_iter=3,
             cv=2, random_state=0, error_score="raise"),
    SearchCV(Pipeline([("pca", PCA()), ("ridge", Ridge())]), {"ridge__alpha": Float(0.1, 10.0, log=True)},
             backend="random", n_trials=3, cv=2, random_state=0, error_score="raise"),
]


@pytest.mark.slow  # about 150 checks: two minutes on a loaded 2-core machine
@parametrize_with_checks(ESTIMATORS, expected_failed_checks=lambda est: _SEARCH_XFAILS)
def test_sklearn_estimator_checks(estimator, check):
    check(estimator)
