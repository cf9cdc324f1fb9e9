"""Native random search: seeded, reproducible, and without repeats in finite spaces."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from unitune.backend import Algorithm, Backend, Capabilities, Proposal, PrunedPolicy, params_key
from unitune.errors import SearchExhausted
from unitune.kit import derive_seed
from unitune.trial import Trial

__all__ = ["RandomSearch"]

# Rejection sampling gives up after this many repeats in a row and enumerates what is left.
_MAX_REJECTIONS = 32


class RandomSearch(Backend):
    """Independent uniform draws per dimension (log-uniform on log scales).

    In a finite space (every dimension discrete) no configuration is proposed twice while an
    unseen one remains, counting replayed configurations; once all are seen it raises
    :class:`~unitune.errors.SearchExhausted`. A backend that replayed history before its first
    ask draws from a generator seeded by ``(seed, number of replayed trials)``, so a resumed
    study does not propose the original run's points again.
    """

    name = "random"
    algorithms = {
        "random": Algorithm(
            "uniform random sampling, no repeats in finite spaces",
            Capabilities(conditional=True, batch=True, multi_objective=True),
        )
    }
    distributions = ("unitune",)
    pruned_policy = PrunedPolicy.NOT_USED
    proposals_in_space = True  # drawn on the dimensions

    def setup(self) -> None:
        self._rng = np.random.default_rng(self.seed)
        self._replayed = 0
        self._asked = False
        self._size = self.space.cardinality
        self._seen: set[tuple] | None = set() if self._size is not None else None

    @property
    def exhaustible(self) -> bool:
        return self._seen is not None

    def ask(self, numbers: Sequence[int]) -> list[Proposal]:
        if not self._asked:
            self._asked = True
            if self._replayed and self.seed is not None:
                self._rng = np.random.default_rng(derive_seed(self.seed, self._replayed))
        if self._seen is None:
            rng = self._rng
            draw = self.space.sample_by
            return [Proposal(n, draw(lambda _name, dim: dim.sample(rng))) for n in numbers]
        out = []
        for number in numbers:
            params = self._draw_unseen()
            if params is None:
                if out:
                    return out
                raise SearchExhausted(f"random search has proposed all {self._size} configurations")
            out.append(Proposal(number, params))
        return out

    def _draw_unseen(self) -> dict[str, Any] | None:
        if len(self._seen) >= self._size:
            return None
        for _ in range(_MAX_REJECTIONS):
            params = self.space.sample(self._rng)
            key = params_key(params)
            if key not in self._seen:
                self._seen.add(key)
                return params
        # Mostly seen: pick uniformly among the configurations that are left.
        remaining = [p for p in self.space.grid(max(2, self._size)) if params_key(p) not in self._seen]
        params = remaining[int(self._rng.integers(0, len(remaining)))]
        self._seen.add(params_key(params))
        return params

    def tell(self, trial: Trial) -> None:
        """Nothing to learn: the configuration was marked seen when proposed."""

    def replay(self, trials: Sequence[Trial]) -> None:
        self._replayed += len(trials)
        if self._seen is not None:
            self._seen.update(params_key(t.params) for t in trials)
