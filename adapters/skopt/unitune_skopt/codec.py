"""The skopt codec: a unitune Space <-> one flat list of scikit-optimize dimensions.

Built on :class:`unitune.kit.FlatCodec` (the shared conditional-space emulation). Each searched
parameter becomes one skopt column:

- ``Float``            -> ``Real(low, high, prior="uniform" | "log-uniform")``
- ``Float(step=s)``    -> ``Integer(0, n)`` grid index, value ``low + k * s``
- ``Int``              -> ``Integer(low, high, prior="uniform" | "log-uniform")``
- ``Int(step=s > 1)``  -> ``Integer(0, n)`` grid index, value ``low + k * s``
- ``Categorical``      -> ``Categorical(labels)``; the objective gets the original values back
- constants and single-choice categoricals are not searched.

skopt has no conditional spaces: every branch parameter gets its own column in one flat space
(see :class:`~unitune.kit.FlatCodec`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from unitune.kit import Column, FlatCodec
from unitune.space import Int, Space

__all__ = ["SkoptCodec"]


def _labels(choices: Sequence[Any]) -> tuple[str, ...]:
    """String labels for skopt: the values themselves when all are str, else their repr."""
    if all(type(c) is str for c in choices):
        return tuple(choices)
    return tuple(repr(c) for c in choices)


class SkoptCodec(FlatCodec):
    """Translate between a unitune Space and points of one flat skopt space."""

    library = "skopt"

    def __init__(self, space: Space):
        super().__init__(space)
        self._labels = {c.name: _labels(c.dim.choices) for c in self.columns if c.kind == "category"}

    def native_column(self, column: Column) -> Any:
        """A fresh skopt dimension (skopt mutates transformers, so never share one)."""
        from skopt.space import Categorical, Integer, Real

        dim = column.dim
        if column.kind == "category":
            return Categorical(list(self._labels[column.name]), name=column.name)
        if column.kind == "index":
            return Integer(0, dim.n_steps, name=column.name)
        prior = "log-uniform" if dim.log else "uniform"
        if type(dim) is Int:
            return Integer(dim.low, dim.high, prior=prior, name=column.name)
        return Real(dim.low, dim.high, prior=prior, name=column.name)

    def to_native(self, column: Column, raw: Any) -> Any:
        if column.kind == "category":
            return self._labels[column.name][raw]
        if column.kind == "index" or type(column.dim) is Int:
            return int(raw)
        return float(raw)

    def from_native(self, column: Column, value: Any) -> Any:
        if column.kind == "category":
            return self._labels[column.name].index(str(value))
        return value

    def describe(self, column: Column) -> str:
        dim = column.dim
        if column.kind == "category":
            return (
                f"skopt Categorical over the labels {list(self._labels[column.name])!r}; the "
                f"objective receives the original values {list(dim.choices)!r}"
            )
        if column.kind == "index":
            return (
                f"skopt Integer(0, {dim.n_steps}) grid index k, value = {dim.low!r} + k * {dim.step!r} "
                "(same grid, same uniform prior; exact by emulation)"
            )
        prior = "log-uniform" if dim.log else "uniform"
        kind = "Integer" if type(dim) is Int else "Real"
        return f"skopt {kind}({dim.low!r}, {dim.high!r}, prior={prior!r})"
