"""Example 1: exhaustive grid search over learning rate x batch size x hidden units, 5-fold CV.

A scikit-learn MLPClassifier on the bundled digits images (a 400-image subset keeps it fast).
Moving from GridSearchCV is a one-name change: ``GridSearchCV(...)`` -> ``SearchCV(...)``.

    uv run python examples/01_grid_search.py
"""

from sklearn.datasets import load_digits
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from unitune.sklearn import SearchCV


def main() -> None:
    X, y = load_digits(return_X_y=True)
    X, y = X[:400], y[:400]
    model = make_pipeline(StandardScaler(), MLPClassifier(max_iter=25, random_state=0))
    param_grid = {
        "mlpclassifier__learning_rate_init": [1e-3, 1e-2],
        "mlpclassifier__batch_size": [32, 128],
        "mlpclassifier__hidden_layer_sizes": [(16,), (64,)],
    }
    search = SearchCV(model, param_grid=param_grid, cv=5, n_jobs=1)  # backend "grid" by default
    search.fit(X, y)

    results = search.cv_results_
    print(f"{'lr':>7} {'batch':>5} {'hidden':>7} {'cv accuracy':>16} {'rank':>4}")
    for params, mean, std, rank in zip(results["params"], results["mean_test_score"],
                                       results["std_test_score"], results["rank_test_score"]):
        print(f"{params['mlpclassifier__learning_rate_init']:>7g} {params['mlpclassifier__batch_size']:>5} "
              f"{params['mlpclassifier__hidden_layer_sizes']!s:>7} {mean:>9.3f} ± {std:.3f} {rank:>4}")
    print(f"evaluated {len(results['params'])} configurations x {search.n_splits_} folds")
    print(f"best: {search.best_params_} cv accuracy {search.best_score_:.3f}")


if __name__ == "__main__":
    import warnings

    from sklearn.exceptions import ConvergenceWarning

    warnings.simplefilter("ignore", ConvergenceWarning)  # short training on purpose
    main()
