"""Example 5: tuning under a time budget.

``timeout=`` stops asking for new candidates once the budget is spent (candidates already
running finish), whatever the backend. Here Optuna's TPE gets 15 seconds.

    uv run python examples/05_time_budget.py
"""

import time

from sklearn.datasets import load_digits
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from unitune import Categorical, Float, Int
from unitune.sklearn import SearchCV

BUDGET_SECONDS = 15.0


def main() -> None:
    X, y = load_digits(return_X_y=True)
    X, y = X[:300], y[:300]
    model = make_pipeline(StandardScaler(), MLPClassifier(random_state=0))
    space = {
        "mlpclassifier__learning_rate_init": Float(1e-4, 1e-1, log=True),
        "mlpclassifier__batch_size": Categorical([16, 32, 64, 128]),
        "mlpclassifier__hidden_layer_sizes": Categorical([16, 32, 64]),
        "mlpclassifier__max_iter": Int(5, 40),  # epochs
    }
    # hidden_layer_sizes accepts an int for a single hidden layer, so the space stays plain JSON.
    search = SearchCV(model, space, backend="optuna.tpe", timeout=BUDGET_SECONDS, cv=3, random_state=0)
    start = time.perf_counter()
    search.fit(X, y)
    elapsed = time.perf_counter() - start
    trials = search.study_.trials
    print(f"budget {BUDGET_SECONDS:.0f} s: {len(trials)} candidates evaluated in {elapsed:.1f} s "
          f"(search and refit)")
    print(f"states: {sorted({t.state.value for t in trials})}")
    print(f"best: {search.best_params_} cv accuracy {search.best_score_:.3f}")


if __name__ == "__main__":
    import warnings

    from sklearn.exceptions import ConvergenceWarning

    warnings.simplefilter("ignore", ConvergenceWarning)  # short training on purpose
    main()
