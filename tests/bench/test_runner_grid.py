"""Grid search inside the harness: a grid that fits the budget, or a shuffled one."""

from __future__ import annotations

from unitune_bench.runner import grid_options

from unitune import Categorical, Float, Space


def test_grid_resolution_fits_the_budget_and_order_is_shuffled():
    space = Space({"x": Float(0.0, 1.0), "y": Float(0.0, 1.0)})
    options = grid_options(space, 20)
    assert options == {"resolution": 4, "shuffle": True}
    assert len(space.grid(options["resolution"])) <= 20 < len(space.grid(options["resolution"] + 1))


def test_grid_larger_than_the_budget_keeps_the_coarsest_resolution():
    space = Space({f"x{i}": Float(0.0, 1.0) for i in range(6)} | {"c": Categorical(["a", "b"])})
    assert grid_options(space, 20) == {"resolution": 2, "shuffle": True}
