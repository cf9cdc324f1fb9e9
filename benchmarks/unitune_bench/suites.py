"""The three suites: what ``--quick``, ``--suite standard`` and ``--suite full`` run.

A suite names problems (names, globs or ``tag:NAME``), a number of seeds, a trial budget, a
per-run time limit, and backend algorithms to add to the installed families' defaults.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["SUITES", "Suite"]


@dataclass(frozen=True)
class Suite:
    """One named benchmark configuration."""

    name: str
    problems: tuple[str, ...]
    seeds: int
    budget: int
    timeout: float
    extra_backends: tuple[str, ...] = ()
    all_algorithms: bool = False
    description: str = ""


SUITES: dict[str, Suite] = {
    "quick": Suite(
        name="quick",
        problems=("branin", "hartmann6", "mixed", "conditional", "ml-svm-wine-acc"),
        seeds=6,
        budget=30,
        timeout=120.0,
        description="every installed backend at its default algorithm, 5 problems (continuous, "
                    "mixed, conditional, one ML), 6 seeds, 30 trials; about 75 s on 2 cores",
    ),
    "standard": Suite(
        name="standard",
        problems=("tag:synthetic", "ml-dt-breast-acc", "ml-rf-wine-acc", "ml-mlp-iris-acc",
                  "ml-svm-wine-acc", "ml-knn-digits-acc", "ml-linear-diabetes-mse"),
        seeds=10,
        budget=50,
        timeout=900.0,
        extra_backends=("optuna.cmaes", "hyperopt.anneal"),
        description="10 synthetic and 6 ML problems, 10 seeds, 50 trials, plus CMA-ES and "
                    "annealing; about 20 minutes on 2 cores (scikit-optimize's GP dominates)",
    ),
    "full": Suite(
        name="full",
        problems=("tag:synthetic", "tag:ml"),
        seeds=10,
        budget=100,
        timeout=3600.0,
        all_algorithms=True,
        description="every problem (10 synthetic, 70 ML), 10 seeds, 100 trials, every algorithm "
                    "of every installed backend; many hours",
    ),
}
