"""Codecs: how a library expresses a unitune space, and how points cross over both ways.

- :class:`Codec`: the interface of a space translation (space -> native description, native
  point -> typed params, params -> native point, per-parameter conversion report).
- :class:`Column`: how one searched parameter crosses over (its raw value is the value itself,
  a step-grid index, or a category position), shared by every codec.
- :class:`FlatCodec`: the conditional-space emulation for libraries with flat spaces only,
  written once: one column per parameter of every branch, only active parameters decoded,
  inactive columns told at a fixed filler.

Every name here is also importable from :mod:`unitune.kit`, the adapter kit.
"""

from __future__ import annotations

import abc
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from unitune.backend import Conversion, Fidelity
from unitune.space import Categorical, Constant, Dimension, Float, Int, Space
from unitune.space.dimensions import expit, logit

__all__ = ["Codec", "Column", "FlatCodec", "describe_condition"]

Native = TypeVar("Native")


class Codec(abc.ABC, Generic[Native]):
    """How one library expresses a unitune space, and how points cross over both ways."""

    def __init__(self, space: Space):
        self.space = space

    @abc.abstractmethod
    def native_space(self) -> Any:
        """The library's description of the space."""

    @abc.abstractmethod
    def decode(self, point: Native) -> dict[str, Any]:
        """A native point as typed, plain-Python params holding only the active parameters."""

    @abc.abstractmethod
    def encode(self, params: dict[str, Any]) -> Native:
        """Params (from any backend) as a native point."""

    @abc.abstractmethod
    def report(self) -> list[Conversion]:
        """How each parameter is expressed: exact, approximated or emulated, and why."""

    def round_trip(self, params: dict[str, Any]) -> dict[str, Any]:
        """``params`` encoded as a native point and decoded back (the conformance suite checks
        that this gives ``params`` again)."""
        return self.decode(self.encode(params))


@dataclass(frozen=True)
class Column:
    """How one searched parameter crosses between unitune and a library, in a raw form.

    ``kind`` says what the raw value is:

    - ``"value"``: the value itself (a float or int on a continuous or log range, or on a step
      grid the library expresses natively); decoding clips and snaps it onto the dimension;
    - ``"index"``: the position ``k`` on the step grid, value ``low + k * step``
      (``0 <= k <= n_steps``), for libraries whose grids cannot start at ``low``;
    - ``"category"``: the position of the choice in ``dim.choices``;
    - ``"logit"``: ``z = log(x / (1 - x))`` for a ``Float(logit=True)``, uniform on
      ``[logit(low), logit(high)]``, value ``expit(z)``: the same prior, on any library that
      has a uniform float.

    The library's codec turns raw values into its own types (labels, floats, numpy ints).
    """

    name: str
    dim: Dimension
    kind: str

    @classmethod
    def of(cls, name: str, dim: Dimension, *, index_steps: bool = True) -> Column | None:
        """The column of a dimension, or None when nothing is searched (constants, one choice).

        ``index_steps``: express every stepped dimension (an Int with step > 1, a Float with a
        step) as a grid index; otherwise the library takes the raw value and snaps it.
        """
        if type(dim) is Float:
            if getattr(dim, "logit", False):
                return cls(name, dim, "logit")
            return cls(name, dim, "index" if dim.step is not None and index_steps else "value")
        if type(dim) is Int:
            return cls(name, dim, "index" if dim.step != 1 and index_steps else "value")
        if type(dim) is Categorical:
            return None if len(dim.choices) == 1 else cls(name, dim, "category")
        return None

    @property
    def size(self) -> int:
        """The largest raw index (for ``index`` and ``category`` columns)."""
        if self.kind == "category":
            return len(self.dim.choices) - 1
        return self.dim.n_steps

    def decode(self, raw: Any) -> Any:
        """A raw value -> the plain Python value the objective receives (on the dimension)."""
        dim = self.dim
        if self.kind == "category":
            return dim.choices[int(raw)]
        if self.kind == "index":
            return dim.snap(dim.low + round(float(raw)) * dim.step)
        if self.kind == "logit":
            return dim.snap(expit(float(raw)))
        return dim.snap(float(raw))

    def encode(self, value: Any) -> Any:
        """A parameter value -> its raw value (an int for index and category columns)."""
        dim = self.dim
        if self.kind == "category":
            return dim.index(value)
        if self.kind == "index":
            return round((float(value) - dim.low) / dim.step)
        if self.kind == "logit":
            return logit(float(value))
        return value

    @property
    def filler(self) -> Any:
        """The fixed raw value that stands for this parameter while it is inactive."""
        dim = self.dim
        if self.kind == "category":
            return 0
        if self.kind == "index":
            return dim.n_steps // 2
        if self.kind == "logit":
            return (logit(dim.low) + logit(dim.high)) / 2
        centre = math.sqrt(dim.low * dim.high) if dim.log else (dim.low + dim.high) / 2
        if type(dim) is Int:
            return min(max(round(centre), dim.low), dim.high)
        return float(centre)


def describe_condition(condition: Sequence[tuple[str, Any]]) -> str:
    """``a='x' and b='y'``: when a branch parameter is active."""
    return " and ".join(f"{p}={c!r}" for p, c in condition)


class FlatCodec(Codec[list]):
    """The conditional-space emulation for libraries that only know flat spaces, written once.

    Every searched parameter of every branch gets its own :class:`Column` in one flat native
    space, in the order of ``space.walk()``. Decoding a native point keeps only the parameters
    its branch choices activate; encoding params gives inactive columns their fixed
    :attr:`Column.filler`, so the library's model always sees them at the same place. The
    conversion report says which parameters are emulated this way.

    A subclass names the ``library`` and says how a column looks there: :meth:`native_column`
    (the native dimension), :meth:`describe` (words for the report) and, when the library's raw
    values differ from the column's, :meth:`to_native` / :meth:`from_native`.
    """

    library: str = "the library"
    #: Passed to :meth:`Column.of`: whether stepped dimensions become grid indices.
    index_steps: bool = True

    def __init__(self, space: Space):
        super().__init__(space)
        self.columns: list[Column] = []
        self._conditions: dict[str, tuple] = {}
        for name, dim, condition in space.walk():
            self._conditions[name] = condition
            column = Column.of(name, dim, index_steps=self.index_steps)
            if column is not None:
                self.columns.append(column)
        self._index = {c.name: i for i, c in enumerate(self.columns)}
        self._fixed = {
            name: dim.choices[0]
            for name, dim, _ in space.walk()
            if type(dim) is Categorical and name not in self._index
        }
        # A flat space (one column per parameter, in order; no constants, no branches) decodes
        # without walking the space: decoding runs on every ask.
        self._flat = [c.name for c in self.columns] == list(space) and not any(
            type(dim) is Categorical and dim._conditional for dim in space.values()
        )
        self._decoders = [(c.name, self._decoder(c)) for c in self.columns]
        # A flat space of plain floats (no step, values the library hands back unchanged), the
        # commonest continuous search: decoded in one loop (:meth:`clipped`), each value clipped
        # into its bounds exactly as Float.snap does, with no Python call per column.
        plain = self._flat and type(self).from_native is FlatCodec.from_native and all(
            c.kind == "value" and type(c.dim) is Float and c.dim.step is None for c in self.columns)
        self._names = [c.name for c in self.columns]
        self._bounds = [(c.name, c.dim.low, c.dim.high) for c in self.columns] if plain else None

    def _decoder(self, column: Column) -> Any:
        """One column's native value -> its param value, as one call (the flat decode's per-column
        step): the dimension's own ``snap`` for a value the library hands back unchanged."""
        if column.kind == "value" and type(self).from_native is FlatCodec.from_native:
            return column.dim.snap  # what Column.decode does for a "value" column
        from_native = self.from_native
        return lambda raw: column.decode(from_native(column, raw))

    @property
    def empty(self) -> bool:
        """True when nothing is searched (only constants and single choices)."""
        return not self.columns

    # What a subclass provides.
    @abc.abstractmethod
    def native_column(self, column: Column) -> Any:
        """The library's dimension for one column (a fresh object each call)."""

    @abc.abstractmethod
    def describe(self, column: Column) -> str:
        """What the library sees for one column, in words."""

    def to_native(self, column: Column, raw: Any) -> Any:
        """A column's raw value as the library's value (default: unchanged)."""
        return raw

    def from_native(self, column: Column, value: Any) -> Any:
        """The library's value as the column's raw value (default: unchanged)."""
        return value

    # The codec.
    def native_space(self) -> list[Any]:
        """One native dimension per column, in column order."""
        return [self.native_column(c) for c in self.columns]

    def decode(self, point: Sequence[Any]) -> dict[str, Any]:
        """A native point (one value per column) -> params with exactly the active parameters."""
        columns = self.columns
        if self._flat and len(point) == len(columns):
            if self._bounds is not None:
                return self.clipped(point)
            return {name: decode(v) for (name, decode), v in zip(self._decoders, point)}
        index, fixed = self._index, self._fixed

        def value(name: str, _dim: Dimension) -> Any:
            i = index.get(name)
            if i is None:
                return fixed[name]
            column = columns[i]
            return column.decode(self.from_native(column, point[i]))

        return self.space.sample_by(value)

    def clipped(self, values: Iterable[Any]) -> dict[str, Any]:
        """A flat space of plain floats only (``_bounds`` set): one value per column, in column
        order -> params, each ``float`` clipped into its bounds (NaN passes, as in Float.snap)."""
        return self.clipped_by_name(dict(zip(self._names, values)))

    def clipped_by_name(self, point: Mapping[str, Any]) -> dict[str, Any]:
        """:meth:`clipped` for a library whose point is a mapping by parameter name (Nevergrad's
        ``candidate.value``), read by name. Comparisons in one loop, not ``min(max(...))``
        mapped over the columns: builtin min and max build an argument tuple a call, 5x slower
        for five columns (it runs at every ask)."""
        params = {}
        for name, low, high in self._bounds:
            value = float(point[name])
            params[name] = low if value < low else high if value > high else value
        return params

    def encode(self, params: Mapping[str, Any]) -> list[Any]:
        """Params -> a full native point; inactive columns get their filler."""
        return [
            self.to_native(c, c.encode(params[c.name]) if c.name in params else c.filler)
            for c in self.columns
        ]

    def report(self) -> list[Conversion]:
        """Per parameter: exact, or emulated for everything inside (or owning) a branch."""
        out = []
        for name, dim, condition in self.space.walk():
            i = self._index.get(name)
            if type(dim) is Constant:
                detail = "constant: not searched, passed to the objective unchanged"
            elif i is None:
                detail = f"single choice {dim.choices[0]!r}: not searched"
            else:
                detail = self.describe(self.columns[i])
            if condition:
                out.append(
                    Conversion(
                        name,
                        Fidelity.EMULATED,
                        (
                            f"{detail}; conditional (active only when {describe_condition(condition)}): "
                            f"{self.library} has no conditional spaces, so it is flattened into one "
                            f"{self.library} space, dropped from the params when inactive and told to "
                            f"{self.library} at a fixed filler value"
                        ),
                    )
                )
            elif type(dim) is Categorical and dim.is_conditional:
                out.append(
                    Conversion(
                        name,
                        Fidelity.EMULATED,
                        (
                            f"{detail}; branch point: its sub-spaces are flattened into one {self.library} "
                            f"space ({self.library} does not model the condition)"
                        ),
                    )
                )
            else:
                out.append(Conversion(name, Fidelity.EXACT, detail))
        return out
