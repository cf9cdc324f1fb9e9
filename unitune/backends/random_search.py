"""Native random search: seeded, reproducible, and without repeats in finite spaces."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from unitune.backend import Backend, Capabilities, params_key
from unitune.errors import SearchExhausted
from unitune.space import Space
from unitune.trial import Direction, Trial

__all__ = ["RandomSearch"]

# Rejection sampling gives up after this many repeats in a row and enumerates what is left.
_MAX_REJECTIONS = 32


class RandomSearch(Backend):
    """Independent uniform draws per dimension (log-uniform on log scales).

    In a finite space (every dimension discrete) no configuration is proposed twice while an
    unseen one remains, counting configurations told from elsewhere; once all are seen it raises
    :class:`~unitune.errors.SearchExhausted`.
    """

    name = "random"
    algorithms = {"random": "uniform random sampling, no repeats in finite spaces"}
    capabilities = Capabilities(conditional=True, batch=True, multi_objective=True)

    def __init__(
        self,
        space: Space | Mapping[str, Any],
        *,
        seed: int | None = None,
        directions: Sequence[str | Direction] = (Direction.MINIMIZE,),
        algorithm: str | None = None,
    ):
        super().__init__(space, seed=seed, directions=directions, algorithm=algorithm)
        self._rng = np.random.default_rng(seed)
        self._size = self.space.cardinality
        self._seen: set[tuple] | None = set() if self._size is not None else None

    @property
    def exhaustible(self) -> bool:
        return self._seen is not None

    def ask(self, n: int = 1) -> list[dict[str, Any]]:
        if self._seen is None:
            rng = self._rng
            draw = self.space.sample_by
            return [draw(lambda _name, dim: dim.sample(rng)) for _ in range(n)]
        out = []
        for _ in range(n):
            params = self._draw_unseen()
            if params is None:
                if out:
                    return out
                raise SearchExhausted(f"random search has proposed all {self._size} configurations")
            out.append(params)
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
        if self._seen is not None:
            self._seen.add(params_key(trial.params))
