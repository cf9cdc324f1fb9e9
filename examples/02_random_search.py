"""Example 2: random search over learning rate, batch size, hidden units and epochs.

The same MLPClassifier on digits. ``param_distributions`` takes scipy.stats distributions, as in
RandomizedSearchCV: moving over is a one-name change (``n_iter`` is accepted too).

    uv run python examples/02_random_search.py
"""

from scipy.stats import loguniform, randint
from sklearn.datasets import load_digits
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from unitune.sklearn import SearchCV


def main() -> None:
    X, y = load_digits(return_X_y=True)
    X, y = X[:400], y[:400]
    model = make_pipeline(StandardScaler(), MLPClassifier(random_state=0))
    param_distributions = {
        "mlpclassifier__learning_rate_init": loguniform(1e-4, 1e-1),
        "mlpclassifier__batch_size": [16, 32, 64, 128],
        "mlpclassifier__hidden_layer_sizes": [(16,), (32,), (64,), (32, 16)],
        "mlpclassifier__max_iter": randint(5, 40),  # epochs
    }
    search = SearchCV(model, param_distributions=param_distributions, n_iter=8, cv=5, random_state=0)
    search.fit(X, y)  # backend "random" by default with distributions

    results = search.cv_results_
    order = results["rank_test_score"].argsort()
    print(f"{'lr':>9} {'batch':>5} {'hidden':>8} {'epochs':>6} {'cv accuracy':>11}")
    for i in order:
        p = results["params"][i]
        print(f"{p['mlpclassifier__learning_rate_init']:>9.2e} {p['mlpclassifier__batch_size']:>5} "
              f"{p['mlpclassifier__hidden_layer_sizes']!s:>8} {p['mlpclassifier__max_iter']:>6} "
              f"{results['mean_test_score'][i]:>11.3f}")
    print(f"best: {search.best_params_} cv accuracy {search.best_score_:.3f}")


if __name__ == "__main__":
    import warnings

    from sklearn.exceptions import ConvergenceWarning

    warnings.simplefilter("ignore", ConvergenceWarning)  # short training on purpose
    main()
