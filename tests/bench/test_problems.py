"""Built-in problems: every synthetic function at its known optimum, user problems, selection."""

from __future__ import annotations

import math
import sys
import textwrap

import numpy as np
import pytest
from unitune_bench import Problem, ProblemError
from unitune_bench.problem import all_problems, load_problem_path, select_problems
from unitune_bench.synthetic import (
    STYBLINSKI_X,
    ackley,
    branin,
    hartmann3,
    hartmann6,
    levy,
    rosenbrock,
    six_hump_camel,
    styblinski_tang,
    synthetic_problems,
)

from unitune import Float

# Known minimizers from the literature, by problem name.
MINIMIZERS = {
    "branin": [{"x1": -math.pi, "x2": 12.275}, {"x1": math.pi, "x2": 2.275},
               {"x1": 9.42478, "x2": 2.475}],
    "hartmann3": [dict(zip(["x0", "x1", "x2"], [0.114614, 0.555649, 0.852547]))],
    "hartmann6": [dict(zip([f"x{i}" for i in range(6)],
                           [0.20169, 0.150011, 0.476874, 0.275332, 0.311652, 0.6573]))],
    "rosenbrock4": [{f"x{i}": 1.0 for i in range(4)}],
    "ackley5": [{f"x{i}": 0.0 for i in range(5)}],
    "levy5": [{f"x{i}": 1.0 for i in range(5)}],
    "styblinski_tang5": [{f"x{i}": STYBLINSKI_X for i in range(5)}],
    "six_hump_camel": [{"x1": 0.0898, "x2": -0.7126}, {"x1": -0.0898, "x2": 0.7126}],
    "mixed": [{"units": 16, "lr": 0.01, "dropout": 0.3, "activation": "relu"}],
    "conditional": [{"family": "branin", "x1": math.pi, "x2": 2.275}],
}


@pytest.mark.parametrize("problem", synthetic_problems(), ids=lambda p: p.name)
def test_synthetic_function_reaches_its_known_optimum(problem: Problem) -> None:
    assert problem.optimum is not None
    for point in MINIMIZERS[problem.name]:
        assert problem.space.contains(point)
        assert problem.objective(point) == pytest.approx(problem.optimum, abs=1e-4)


@pytest.mark.parametrize("problem", synthetic_problems(), ids=lambda p: p.name)
def test_no_random_point_beats_the_known_optimum(problem: Problem) -> None:
    rng = np.random.default_rng(0)
    values = [problem.objective(problem.space.sample(rng)) for _ in range(500)]
    assert min(values) >= problem.optimum - 1e-9
    assert all(math.isfinite(v) for v in values)


def test_functions_away_from_the_optimum_are_worse() -> None:
    assert branin(0.0, 0.0) > 0.398
    assert hartmann3(np.zeros(3)) > -3.86
    assert hartmann6(np.zeros(6)) > -3.32
    assert rosenbrock(np.zeros(4)) == pytest.approx(3.0)
    assert ackley(np.ones(5)) > 0.0
    assert levy(np.zeros(5)) > 0.0
    assert styblinski_tang(np.zeros(5)) == 0.0
    assert six_hump_camel(0.0, 0.0) == 0.0


def test_every_space_feature_is_exercised() -> None:
    dims = [dim for p in synthetic_problems() for _, dim, _ in p.space.walk()]
    kinds = {type(d).__name__ for d in dims}
    assert {"Float", "Int", "Categorical"} <= kinds
    assert any(getattr(d, "log", False) for d in dims)
    assert any(getattr(d, "step", None) not in (None, 1) for d in dims)
    assert any(p.space.is_conditional for p in synthetic_problems())


def test_ml_problem_scores_by_cross_validation() -> None:
    factories = all_problems()
    problem = factories["ml-knn-iris-acc"]()
    value = problem.objective({"n_neighbors": 5, "weights": "uniform", "p": 2})
    assert problem.direction == "maximize"
    assert 0.9 < value <= 1.0
    mse = factories["ml-linear-diabetes-mse"]()
    assert mse.direction == "minimize"
    assert 2000 < mse.objective({"alpha": 0.1, "fit_intercept": True}) < 5000


def test_every_model_and_dataset_is_registered() -> None:
    names = set(all_problems())
    for model in ("dt", "rf", "mlp", "svm", "knn", "ada", "linear"):
        for dataset, metrics in (("iris", "acc nll"), ("wine", "acc nll"), ("digits", "acc nll"),
                                 ("breast", "acc nll"), ("diabetes", "mse mae")):
            for metric in metrics.split():
                assert f"ml-{model}-{dataset}-{metric}" in names


def test_select_by_name_glob_and_tag() -> None:
    factories = all_problems()
    assert [p.name for p in select_problems(["branin", "hartmann*"], factories)] == [
        "branin", "hartmann3", "hartmann6"]
    assert len(select_problems(["tag:synthetic"], factories)) == 10
    assert {p.name for p in select_problems(["ml-*-iris-acc"], factories)} == {
        f"ml-{m}-iris-acc" for m in ("dt", "rf", "mlp", "svm", "knn", "ada", "linear")}
    with pytest.raises(ProblemError, match="no problem matches 'nope'"):
        select_problems(["nope"], factories)


def test_problem_validates_itself() -> None:
    with pytest.raises(ProblemError, match="direction must be"):
        Problem("p", {"x": Float(0.0, 1.0)}, lambda p: 0.0, direction="up")
    with pytest.raises(ProblemError, match="problem name must be"):
        Problem("bad name", {"x": Float(0.0, 1.0)}, lambda p: 0.0)
    with pytest.raises(ProblemError, match="objective must be callable"):
        Problem("p", {"x": Float(0.0, 1.0)}, 3.0)


def test_user_problems_load_from_a_python_path(tmp_path, monkeypatch) -> None:
    (tmp_path / "my_problems.py").write_text(textwrap.dedent("""
        from unitune import Float
        from unitune_bench import Problem

        def square(p):
            return (p["x"] - 0.25) ** 2

        ONE = Problem("my-square", {"x": Float(0.0, 1.0)}, square, optimum=0.0)

        def several():
            return [ONE, Problem("my-neg", {"x": Float(0.0, 1.0)}, square, direction="maximize")]
    """))
    monkeypatch.syspath_prepend(str(tmp_path))
    assert [p.name for p in load_problem_path("my_problems:ONE")] == ["my-square"]
    assert [p.name for p in load_problem_path("my_problems:several")] == ["my-square", "my-neg"]
    with pytest.raises(ProblemError, match="has no attribute 'missing'"):
        load_problem_path("my_problems:missing")
    with pytest.raises(ProblemError, match=r"looks like 'package\.module:attribute'"):
        load_problem_path("my_problems")
    with pytest.raises(ProblemError, match=r"'my_problems:square' is a callable that takes arguments"):
        load_problem_path("my_problems:square")  # an objective named by mistake: was a bare TypeError
    with pytest.raises(ProblemError, match="two problems are named 'branin'"):
        all_problems([Problem("branin", {"x": Float(0.0, 1.0)}, lambda p: 0.0)])
    sys.modules.pop("my_problems", None)


def test_entry_point_problems_join_the_registry(monkeypatch) -> None:
    import unitune_bench.problem as problem_module

    class FakeEntryPoint:
        name = "plugin"

        def load(self):
            return [Problem("plugin-bowl", {"x": Float(0.0, 1.0)}, lambda p: p["x"] ** 2, optimum=0.0)]

    def fake_entry_points(*, group):
        assert group == "unitune.problems"
        return [FakeEntryPoint()]

    monkeypatch.setattr(problem_module, "entry_points", fake_entry_points)
    factories = all_problems()
    assert factories["plugin-bowl"]().optimum == 0.0
    assert [p.name for p in select_problems(["plugin-*"], factories)] == ["plugin-bowl"]
