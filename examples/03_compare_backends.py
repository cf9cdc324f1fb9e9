"""Example 3: the same study on TPE, a Gaussian process, annealing and Nevergrad.

Only the backend name changes. Backends that are not installed are skipped (Nevergrad's adapter
is ``pip install unitune-nevergrad``). Prints a small comparison table.

    uv run python examples/03_compare_backends.py
"""

import time

from sklearn.datasets import load_digits
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import unitune
from unitune import Categorical, Float, Int
from unitune.sklearn import SearchCV

SPACE = {
    "mlpclassifier__learning_rate_init": Float(1e-4, 1e-1, log=True),
    "mlpclassifier__batch_size": Categorical([16, 32, 64, 128]),
    "mlpclassifier__alpha": Float(1e-6, 1e-1, log=True),
    "mlpclassifier__max_iter": Int(5, 30),  # epochs
}
BACKENDS = [
    ("optuna.tpe", "Optuna TPE"),
    ("skopt.gp", "scikit-optimize Gaussian process"),
    ("hyperopt.anneal", "Hyperopt annealing"),
    ("nevergrad", "Nevergrad (default algorithm)"),
]


def main(n_trials: int = 8) -> None:
    X, y = load_digits(return_X_y=True)
    X, y = X[:300], y[:300]
    installed = {b.name for b in unitune.list_backends() if b.installed}
    rows = []
    for backend, label in BACKENDS:
        if backend.split(".")[0] not in installed:
            print(f"skipping {backend}: not installed")
            continue
        model = make_pipeline(StandardScaler(), MLPClassifier(hidden_layer_sizes=(32,), random_state=0))
        search = SearchCV(model, SPACE, backend=backend, n_trials=n_trials, cv=3, random_state=0)
        start = time.perf_counter()
        search.fit(X, y)
        rows.append((backend, label, search.best_score_, time.perf_counter() - start))
    print(f"\n{'backend':<17} {'algorithm':<34} {'best cv accuracy':>16} {'seconds':>8}")
    for backend, label, score, seconds in sorted(rows, key=lambda r: -r[2]):
        print(f"{backend:<17} {label:<34} {score:>16.3f} {seconds:>8.1f}")
    print(f"({n_trials} candidates x 3 folds each; same space, same data, same seed)")


if __name__ == "__main__":
    import warnings

    from sklearn.exceptions import ConvergenceWarning

    warnings.simplefilter("ignore", ConvergenceWarning)  # short training on purpose
    main()
