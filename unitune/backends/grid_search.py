"""Native grid search: every configuration of a discretized space, once, in a fixed order."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from unitune.backend import Backend, Capabilities, check_options, params_key
from unitune.errors import BackendError, SearchExhausted
from unitune.space import Grid, Space
from unitune.trial import Direction, Trial

__all__ = ["GridSearch"]


class GridSearch(Backend):
    """Walk :meth:`Space.grid` in order (or in a seeded shuffled order with ``shuffle=True``).

    Options: ``resolution`` (points per continuous range, default 10) and ``shuffle``.
    Configurations told from elsewhere are skipped when reached. When the grid is done,
    :meth:`ask` raises :class:`~unitune.errors.SearchExhausted`.
    """

    name = "grid"
    algorithms = {"grid": "exhaustive grid, continuous ranges cut to `resolution` points"}
    capabilities = Capabilities(conditional=True, batch=True, multi_objective=True, seeded=False)

    def __init__(
        self,
        space: Space | Mapping[str, Any],
        *,
        seed: int | None = None,
        directions: Sequence[str | Direction] = (Direction.MINIMIZE,),
        algorithm: str | None = None,
        **options: Any,
    ):
        super().__init__(space, seed=seed, directions=directions, algorithm=algorithm)
        check_options(self.name, options, {"resolution", "shuffle"})
        self.grid = Grid(self.space, options.get("resolution", 10))
        shuffle = options.get("shuffle", False)
        if not isinstance(shuffle, bool):
            raise BackendError(f"grid option 'shuffle' must be True or False, got {shuffle!r}")
        self._order = np.random.default_rng(seed).permutation(len(self.grid)) if shuffle else None
        self._cursor = 0
        self._done: set[tuple] = set()

    def __len__(self) -> int:
        return len(self.grid)

    @property
    def exhaustible(self) -> bool:
        return True

    def ask(self, n: int = 1) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        while len(out) < n and self._cursor < len(self.grid):
            index = self._cursor if self._order is None else int(self._order[self._cursor])
            self._cursor += 1
            params = self.grid[index]
            if params_key(params) not in self._done:
                out.append(params)
        if not out:
            raise SearchExhausted(f"grid search has proposed all {len(self.grid)} configurations")
        return out

    def tell(self, trial: Trial) -> None:
        self._done.add(params_key(trial.params))
