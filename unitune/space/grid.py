"""Grid enumeration of a space: sized, indexable and deterministic, branches included.

>>> from unitune import Categorical, Float, Space
>>> branches = Categorical({"a": {"y": Categorical([1, 2])}, "b": None})
>>> grid = Space({"x": Float(0.0, 1.0), "k": branches}).grid(3)
>>> len(grid)
9
>>> grid[0]
{'x': 0.0, 'k': 'a', 'y': 1}
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from unitune.errors import SpaceError
from unitune.space.dimensions import Categorical, Dimension
from unitune.space.space import Space

__all__ = ["Grid"]


class _Axis:
    """One top-level dimension's grid options: plain values, or (choice, branch grid) pairs."""

    __slots__ = ("dim", "name", "offsets", "size", "subgrids", "values")

    def __init__(self, name: str, dim: Dimension, resolution: int):
        self.name = name
        self.dim = dim
        self.values = dim.grid(resolution)
        self.offsets = [0]
        if type(dim) is Categorical and dim.is_conditional:
            self.subgrids = [None if b is None else Grid(b, resolution) for b in dim.branches]
            for sub in self.subgrids:
                self.offsets.append(self.offsets[-1] + (1 if sub is None else len(sub)))
            self.size = self.offsets[-1]
        else:  # one configuration per value; values may be a lazy sequence of billions
            self.subgrids = None
            self.size = len(self.values)

    def fill(self, index: int, params: dict[str, Any]) -> None:
        if self.subgrids is None:
            params[self.name] = self.values[index]
            return
        # Find the choice whose block of configurations holds ``index``.
        lo, hi = 0, len(self.values) - 1
        while lo < hi:
            mid = (lo + hi + 1) // 2
            if self.offsets[mid] <= index:
                lo = mid
            else:
                hi = mid - 1
        params[self.name] = self.values[lo]
        sub = self.subgrids[lo]
        if sub is not None:
            sub.fill(index - self.offsets[lo], params)


class Grid(Sequence[dict[str, Any]]):
    """All configurations of ``space`` with continuous ranges cut to ``resolution`` points.

    Floats without a step get ``resolution`` points (log-spaced on a log scale) including both
    bounds; Floats with a step get every step; Ints get every value when there are at most
    ``resolution`` of them, otherwise ``resolution`` spread values including both bounds.
    A conditional choice contributes the grid of its own sub-space, so inactive parameters never
    multiply the count. The first parameter varies slowest.
    """

    def __init__(self, space: Space | dict, resolution: int = 10):
        if isinstance(resolution, bool) or not isinstance(resolution, int) or resolution < 2:
            raise SpaceError(f"grid resolution must be an integer >= 2, got {resolution!r}")
        self.space = Space.coerce(space)
        self.resolution = resolution
        self._axes = [_Axis(name, dim, resolution) for name, dim in self.space.items()]
        self._size = 1
        for axis in self._axes:
            self._size *= axis.size

    def __len__(self) -> int:
        return self._size

    def __getitem__(self, index: int) -> dict[str, Any]:  # type: ignore[override]
        if isinstance(index, slice):
            raise TypeError("Grid does not support slicing; index it with integers")
        if index < 0:
            index += self._size
        if not 0 <= index < self._size:
            raise IndexError(f"grid index {index} out of range for a grid of {self._size}")
        params: dict[str, Any] = {}
        self.fill(index, params)
        return params

    def fill(self, index: int, params: dict[str, Any]) -> None:
        """Write configuration ``index`` into ``params`` (used for nested branch grids)."""
        for axis, position in zip(self._axes, self._digits(index)):
            axis.fill(position, params)

    def _digits(self, index: int) -> list[int]:
        digits = []
        for axis in reversed(self._axes):
            index, digit = divmod(index, axis.size)
            digits.append(digit)
        return digits[::-1]

    def __iter__(self) -> Iterator[dict[str, Any]]:
        for i in range(self._size):
            yield self[i]

    def __repr__(self) -> str:
        return f"Grid({len(self)} configurations, resolution={self.resolution})"
