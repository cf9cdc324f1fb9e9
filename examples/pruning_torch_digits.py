"""Tune a small PyTorch MLP on scikit-learn's digits (CPU) with per-epoch reports and ASHA.

The objective trains one epoch at a time, reports the validation error at ``step=epoch`` and
stops when ASHA says so. Switching optimizer is one word: the backend name.

    python examples/pruning_torch_digits.py random
    python examples/pruning_torch_digits.py optuna.tpe
    python examples/pruning_torch_digits.py hyperopt.tpe
"""

from __future__ import annotations

import sys

import numpy as np
import torch
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler

import unitune
from unitune import Float, Int
from unitune.pruners import ASHA

EPOCHS = 27
SPACE = {
    "hidden": Int(16, 128, log=True),
    "lr": Float(1e-4, 1e-1, log=True),
    "weight_decay": Float(1e-6, 1e-2, log=True),
    "batch_size": Int(16, 128, log=True),
}


def load_data() -> tuple[torch.Tensor, ...]:
    x, y = load_digits(return_X_y=True)
    x_train, x_val, y_train, y_val = train_test_split(x, y, test_size=0.3, stratify=y, random_state=0)
    scaler = StandardScaler().fit(x_train)
    as_x = lambda a: torch.tensor(scaler.transform(a), dtype=torch.float32)  # noqa: E731
    return as_x(x_train), as_x(x_val), torch.tensor(y_train), torch.tensor(y_val)


def make_objective(epochs: int = EPOCHS):
    x_train, x_val, y_train, y_val = load_data()

    def objective(params, trial):
        torch.manual_seed(0)
        model = torch.nn.Sequential(torch.nn.Linear(64, params["hidden"]), torch.nn.ReLU(),
                                    torch.nn.Linear(params["hidden"], 10))
        optimizer = torch.optim.Adam(model.parameters(), lr=params["lr"],
                                     weight_decay=params["weight_decay"])
        order = np.random.default_rng(0)
        error = 1.0
        for epoch in range(1, epochs + 1):
            model.train()
            for batch in np.array_split(order.permutation(len(x_train)),
                                        max(1, len(x_train) // params["batch_size"])):
                optimizer.zero_grad()
                loss = torch.nn.functional.cross_entropy(model(x_train[batch]), y_train[batch])
                loss.backward()
                optimizer.step()
            model.eval()
            with torch.no_grad():
                error = float((model(x_val).argmax(1) != y_val).float().mean())
            trial.report(error, step=epoch)
            if trial.should_prune():
                raise unitune.TrialPruned()
        return error

    return objective


def tune(backend: str = "random", n_trials: int = 30, epochs: int = EPOCHS, seed: int = 0) -> unitune.Study:
    """Run the search on ``backend``; the only line that names the optimizer."""
    torch.set_num_threads(1)
    return unitune.optimize(make_objective(epochs), SPACE, backend, n_trials=n_trials, seed=seed,
                            pruner=ASHA(min_resource=1, reduction_factor=3, max_resource=epochs))


if __name__ == "__main__":
    study = tune(sys.argv[1] if len(sys.argv) > 1 else "random")
    epochs = sum(max(t.intermediate, default=0) for t in study.trials)
    pruned = sum(t.state is unitune.TrialState.PRUNED for t in study.trials)
    print(f"best validation error {study.best_value:.4f} with {study.best_params}")
    print(f"{pruned} of {len(study.trials)} trials pruned; {epochs} epochs trained "
          f"instead of {EPOCHS * len(study.trials)}")
