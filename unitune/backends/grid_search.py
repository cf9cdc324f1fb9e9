"""Native grid search: every configuration of a discretized space, once, in a fixed order."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from unitune.backend import Algorithm, Backend, Capabilities, Proposal, PrunedPolicy, params_key
from unitune.errors import BackendError, SearchExhausted
from unitune.space import Grid
from unitune.trial import Trial

__all__ = ["GridSearch"]


class GridSearch(Backend):
    """Walk :meth:`Space.grid` in order (or in a seeded shuffled order with ``shuffle=True``).

    Options: ``resolution`` (points per continuous range, default 10) and ``shuffle``.
    Replayed configurations are skipped when reached. When the grid is done, :meth:`ask`
    raises :class:`~unitune.errors.SearchExhausted`.
    """

    name = "grid"
    algorithms = {
        "grid": Algorithm(
            "exhaustive grid, continuous ranges cut to `resolution` points",
            Capabilities(conditional=True, batch=True, multi_objective=True, seeded=False),
            options={"resolution": 10, "shuffle": False},
        )
    }
    distributions = ("unitune",)
    pruned_policy = PrunedPolicy.NOT_USED
    proposals_in_space = True  # drawn on the dimensions

    def setup(self) -> None:
        self.grid = Grid(self.space, self.options["resolution"])
        shuffle = self.options["shuffle"]
        if not isinstance(shuffle, bool):
            raise BackendError(f"grid option 'shuffle' must be True or False, got {shuffle!r}")
        self._order = np.random.default_rng(self.seed).permutation(len(self.grid)) if shuffle else None
        self._cursor = 0
        self._done: set[tuple] = set()

    def __len__(self) -> int:
        return len(self.grid)

    @property
    def exhaustible(self) -> bool:
        return True

    def ask(self, numbers: Sequence[int]) -> list[Proposal]:
        out: list[Proposal] = []
        while len(out) < len(numbers) and self._cursor < len(self.grid):
            index = self._cursor if self._order is None else int(self._order[self._cursor])
            self._cursor += 1
            params = self.grid[index]
            if not self._done or params_key(params) not in self._done:
                out.append(Proposal(numbers[len(out)], params))
        if not out and numbers:
            raise SearchExhausted(f"grid search has proposed all {len(self.grid)} configurations")
        return out

    def tell(self, trial: Trial) -> None:
        """Nothing to learn: the grid walks on in its order."""

    def replay(self, trials: Sequence[Trial]) -> None:
        self._done.update(params_key(t.params) for t in trials)
