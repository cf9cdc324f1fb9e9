"""The suites: what ``--quick``, ``--suite standard``, ``--suite full`` and ``--suite fidelity`` run.

A suite names problems (names, globs or ``tag:NAME``), a number of seeds, a trial budget, a
per-run time limit, and backend algorithms to add to the installed families' defaults (or the
backends to run, when it names them), and harness pruners whose pruned twins join the run.
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
    #: When set, exactly these backends (those installed) instead of every installed family.
    backends: tuple[str, ...] = ()
    #: Harness pruners (unitune_bench.pruning.PRUNERS): each adds a pruned twin of every backend.
    pruners: tuple[str, ...] = ()


SUITES: dict[str, Suite] = {
    "quick": Suite(
        name="quick",
        problems=("branin", "hartmann6", "mixed", "conditional", "ml-svm-wine-acc"),
        seeds=6,
        budget=30,
        timeout=120.0,
        description="every installed backend at its default algorithm, 5 problems (continuous, "
                    "mixed, conditional, one ML), 6 seeds, 30 trials; about 4 min on 2 cores",
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
    "fidelity": Suite(
        name="fidelity",
        problems=("mf-branin", "mf-sgd-digits"),
        seeds=3,
        budget=30,
        timeout=600.0,
        backends=("random", "optuna.tpe", "hyperopt.tpe"),
        pruners=("asha",),
        description="pruning on two multi-fidelity problems (a synthetic curve, SGD on digits): "
                    "random, optuna.tpe and hyperopt.tpe with and without ASHA, 3 seeds, 30 "
                    "trials, scored on value and on resource (epochs)",
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
