"""Tune scikit-learn's MLPClassifier epoch by epoch (``partial_fit``) with ASHA: no extra
dependency. The objective takes a ``budget``: the study calls it at each rung of ASHA's schedule
(1, 3, 9 and 27 epochs) with the total number of epochs to reach, and the objective continues
training the model it kept from the previous call of the same trial (the study runs trials
one at a time here; with a process pool, keep the model per worker the same way).

    python examples/pruning_sklearn_mlp.py random
    python examples/pruning_sklearn_mlp.py optuna.tpe
"""

from __future__ import annotations

import sys
import warnings

import numpy as np
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier
from sklearn.preprocessing import StandardScaler

import unitune
from unitune import Float, Int
from unitune.pruners import ASHA

MAX_EPOCHS = 27
SPACE = {
    "hidden_layer_sizes": Int(8, 64, log=True),
    "alpha": Float(1e-6, 1e-1, log=True),
    "learning_rate_init": Float(1e-4, 1e-1, log=True),
}


def make_objective():
    x, y = load_digits(return_X_y=True)
    x_train, x_val, y_train, y_val = train_test_split(x, y, test_size=0.3, stratify=y, random_state=0)
    scaler = StandardScaler().fit(x_train)
    x_train, x_val = scaler.transform(x_train), scaler.transform(x_val)
    classes = np.unique(y)

    models: dict[int, MLPClassifier] = {}  # the model of the running trial, by trial number

    def objective(params, trial, budget):
        if trial.number not in models:
            models.clear()  # trials run one at a time here: a new trial, a new model
            models[trial.number] = MLPClassifier(random_state=0, batch_size=64, **params)
        model = models[trial.number]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for _ in range(trial.user_attrs.get("epochs", 0), budget):
                model.partial_fit(x_train, y_train, classes=classes)
        trial.set_user_attr("epochs", budget)
        return 1.0 - model.score(x_val, y_val)

    return objective


def tune(backend: str = "random", n_trials: int = 30, seed: int = 0,
         max_epochs: int = MAX_EPOCHS) -> unitune.Study:
    """Run the search on ``backend``."""
    return unitune.optimize(make_objective(), SPACE, backend, n_trials=n_trials, seed=seed,
                            pruner=ASHA(min_resource=1, reduction_factor=3, max_resource=max_epochs))


if __name__ == "__main__":
    study = tune(sys.argv[1] if len(sys.argv) > 1 else "random")
    epochs = sum(t.user_attrs["epochs"] for t in study.trials)
    print(f"best validation error {study.best_value:.4f} with {study.best_params}")
    print(f"{epochs} epochs trained instead of {MAX_EPOCHS * len(study.trials)}")
