"""Example 4: cross-validated tuning against overfitting.

Choosing a configuration by its training score rewards memorizing: with noisy labels, a big
network without regularization fits the noise and wins on training data. Choosing by
cross-validated score does not. One search evaluates every candidate on both (with
``return_train_score=True``); each choice is then measured on held-out data the search never saw.

    uv run python examples/04_overfitting.py
"""

import numpy as np
from sklearn.base import clone
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from unitune.sklearn import SearchCV


def main() -> None:
    X, y = load_digits(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(X[:600], y[:600], test_size=0.5, random_state=0)
    rng = np.random.default_rng(0)
    noisy = rng.random(len(y_train)) < 0.25  # a quarter of the training labels are wrong
    y_train = np.where(noisy, rng.integers(0, 10, len(y_train)), y_train)

    model = make_pipeline(StandardScaler(), MLPClassifier(max_iter=150, random_state=0))
    grid = {
        "mlpclassifier__hidden_layer_sizes": [(8,), (128,)],
        "mlpclassifier__alpha": [1e-5, 1.0, 10.0],
    }
    search = SearchCV(model, param_grid=grid, cv=5, return_train_score=True)
    search.fit(X_train, y_train)  # refits the cross-validated choice
    results = search.cv_results_
    naive_index = int(np.argmax(results["mean_train_score"]))
    naive = clone(model).set_params(**results["params"][naive_index]).fit(X_train, y_train)

    print(f"{'chosen':<18} {'hidden':>7} {'alpha':>6} {'train':>6} {'cv':>6} {'held-out test':>13}")
    for label, index, fitted in (("by cv score", search.best_index_, search.best_estimator_),
                                 ("by training score", naive_index, naive)):
        params = results["params"][index]
        print(f"{label:<18} {params['mlpclassifier__hidden_layer_sizes']!s:>7} "
              f"{params['mlpclassifier__alpha']:>6g} {results['mean_train_score'][index]:>6.3f} "
              f"{results['mean_test_score'][index]:>6.3f} {fitted.score(X_test, y_test):>13.3f}")
    gap = search.best_estimator_.score(X_test, y_test) - naive.score(X_test, y_test)
    print(f"held-out accuracy, cv choice minus training-score choice: {gap:+.3f}")


if __name__ == "__main__":
    import warnings

    from sklearn.exceptions import ConvergenceWarning

    warnings.simplefilter("ignore", ConvergenceWarning)  # short training on purpose
    main()
