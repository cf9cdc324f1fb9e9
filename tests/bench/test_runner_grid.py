"""Grid search inside the harness: the coarsest grid that covers the budget, shuffled."""

from __future__ import annotations

from unitune_bench.runner import grid_options

from unitune import Categorical, Float, Space


def test_grid_resolution_fits_the_budget_and_order_is_shuffled():
    space = Space({"x": Float(0.0, 1.0), "y": Float(0.0, 1.0)})
    options = grid_options(space, 20)
    assert options == {"resolution": 5, "shuffle": True}
    assert len(space.grid(options["resolution"] - 1)) < 20 <= len(space.grid(options["resolution"]))


def test_grid_larger_than_the_budget_keeps_the_coarsest_resolution():
    space = Space({f"x{i}": Float(0.0, 1.0) for i in range(6)} | {"c": Categorical(["a", "b"])})
    assert grid_options(space, 20) == {"resolution": 2, "shuffle": True}
