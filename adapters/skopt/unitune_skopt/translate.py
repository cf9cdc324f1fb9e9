"""Space translation: a unitune Space <-> one flat list of scikit-optimize dimensions.

Each searched parameter becomes one skopt column:

- ``Float``            -> ``Real(low, high, prior="uniform" | "log-uniform")``
- ``Float(step=s)``    -> ``Integer(0, n)`` grid index, value ``low + k * s``
- ``Int``              -> ``Integer(low, high, prior="uniform" | "log-uniform")``
- ``Int(step=s > 1)``  -> ``Integer(0, n)`` grid index, value ``low + k * s``
- ``Categorical``      -> ``Categorical(labels)``; the objective gets the original values back
- constants and single-choice categoricals are not searched.

skopt has no conditional spaces: every branch parameter gets its own column in one flat space.
On ask only the active parameters are decoded; on tell the inactive columns get a fixed filler
(the centre of the column) so that skopt's model always sees them at the same place.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from unitune.backend import Conversion, Fidelity
from unitune.space import Categorical, Constant, Dimension, Float, Int, Space

__all__ = ["Column", "SpaceCodec"]


@dataclass(frozen=True)
class Column:
    """One skopt dimension and how its raw values map to and from a unitune dimension."""

    name: str
    dim: Dimension
    kind: str  # "real", "integer", "index" or "categorical"
    labels: tuple[str, ...] = ()

    def to_skopt(self) -> Any:
        """A fresh skopt dimension (skopt mutates transformers, so never share one)."""
        from skopt.space import Categorical as SkCategorical
        from skopt.space import Integer, Real

        dim = self.dim
        if self.kind == "real":
            return Real(dim.low, dim.high, prior="log-uniform" if dim.log else "uniform", name=self.name)
        if self.kind == "integer":
            return Integer(dim.low, dim.high, prior="log-uniform" if dim.log else "uniform", name=self.name)
        if self.kind == "index":
            return Integer(0, dim.n_steps, name=self.name)
        return SkCategorical(list(self.labels), name=self.name)

    def decode(self, raw: Any) -> Any:
        """skopt's raw value -> the plain Python value the objective receives."""
        dim = self.dim
        if self.kind == "categorical":
            return dim.choices[self.labels.index(str(raw))]
        if self.kind == "index":
            return dim.snap(dim.low + round(float(raw)) * dim.step)
        return dim.snap(float(raw))

    def encode(self, value: Any) -> Any:
        """A parameter value -> the raw skopt value it corresponds to."""
        dim = self.dim
        if self.kind == "categorical":
            return self.labels[dim.index(value)]
        if self.kind == "index":
            return round((float(value) - dim.low) / dim.step)
        if self.kind == "integer":
            return int(value)
        return float(value)

    @property
    def filler(self) -> Any:
        """The fixed raw value told for this column when its parameter is inactive."""
        dim = self.dim
        if self.kind == "categorical":
            return self.labels[0]
        if self.kind == "index":
            return dim.n_steps // 2
        centre = math.sqrt(dim.low * dim.high) if dim.log else (dim.low + dim.high) / 2
        if self.kind == "integer":
            return min(max(round(centre), dim.low), dim.high)
        return float(centre)

    def describe(self) -> str:
        """What skopt sees, in words (for the conversion report)."""
        dim = self.dim
        if self.kind == "real":
            prior = "log-uniform" if dim.log else "uniform"
            return f"skopt Real({dim.low!r}, {dim.high!r}, prior={prior!r})"
        if self.kind == "integer":
            prior = "log-uniform" if dim.log else "uniform"
            return f"skopt Integer({dim.low!r}, {dim.high!r}, prior={prior!r})"
        if self.kind == "index":
            return (
                f"skopt Integer(0, {dim.n_steps}) grid index k, value = {dim.low!r} + k * {dim.step!r} "
                "(same grid, same uniform prior; exact by emulation)"
            )
        return (
            f"skopt Categorical over the labels {list(self.labels)!r}; the objective receives "
            f"the original values {list(dim.choices)!r}"
        )


def _labels(choices: Sequence[Any]) -> tuple[str, ...]:
    """String labels for skopt: the values themselves when all are str, else their repr."""
    if all(type(c) is str for c in choices):
        return tuple(choices)
    return tuple(repr(c) for c in choices)


def _column(name: str, dim: Dimension) -> Column | None:
    if type(dim) is Float:
        return Column(name, dim, "real" if dim.step is None else "index")
    if type(dim) is Int:
        return Column(name, dim, "integer" if dim.step == 1 else "index")
    if type(dim) is Categorical:
        if len(dim.choices) == 1:
            return None
        return Column(name, dim, "categorical", _labels(dim.choices))
    return None


class SpaceCodec:
    """Translate between a unitune Space and points of one flat skopt space."""

    def __init__(self, space: Space):
        self.space = space
        self.columns: list[Column] = []
        self._conditions: dict[str, tuple] = {}
        for name, dim, condition in space.walk():
            self._conditions[name] = condition
            column = _column(name, dim)
            if column is not None:
                self.columns.append(column)
        self._index = {c.name: i for i, c in enumerate(self.columns)}

    @property
    def empty(self) -> bool:
        """True when nothing is searched (only constants and single choices)."""
        return not self.columns

    def dimensions(self) -> list[Any]:
        """Fresh skopt dimensions, one per column, in column order."""
        return [c.to_skopt() for c in self.columns]

    def decode(self, point: Sequence[Any]) -> dict[str, Any]:
        """A skopt point -> a params dict with exactly the active parameters."""
        def suggest(name: str, dim: Dimension) -> Any:
            if name in self._index:
                return self.columns[self._index[name]].decode(point[self._index[name]])
            return dim.choices[0]  # single-choice categorical: not searched

        return self.space.sample_by(suggest)

    def encode(self, params: Mapping[str, Any]) -> list[Any]:
        """A params dict -> a full skopt point (inactive columns get their filler)."""
        return [
            c.encode(params[c.name]) if c.name in params else c.filler for c in self.columns
        ]

    def report(self) -> list[Conversion]:
        """Per parameter: exact, or emulated for everything inside (or owning) a branch."""
        out = []
        for name, dim, condition in self.space.walk():
            column = self.columns[self._index[name]] if name in self._index else None
            if type(dim) is Constant:
                detail = "constant: not searched, passed to the objective unchanged"
            elif column is None:
                detail = f"single choice {dim.choices[0]!r}: not searched"
            else:
                detail = column.describe()
            if condition:
                where = " and ".join(f"{p}={c!r}" for p, c in condition)
                out.append(Conversion(name, Fidelity.EMULATED, (
                    f"{detail}; conditional (active only when {where}): skopt has no conditional "
                    "spaces, so it is flattened into one skopt space, dropped from the params when "
                    "inactive and told to skopt at a fixed filler value"
                )))
            elif type(dim) is Categorical and dim.is_conditional:
                out.append(Conversion(name, Fidelity.EMULATED, (
                    f"{detail}; branch point: its sub-spaces are flattened into one skopt space "
                    "(skopt does not model the condition)"
                )))
            else:
                out.append(Conversion(name, Fidelity.EXACT, detail))
        return out
