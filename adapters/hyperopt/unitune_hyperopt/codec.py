"""The Hyperopt codec: a unitune Space <-> a Hyperopt search expression, values both ways.

Every searchable parameter becomes one ``hp`` node labelled with its (tree-unique) name;
conditional branches become nested ``hp.choice`` dicts (Hyperopt models them natively). Each
parameter crosses over as a :class:`unitune.kit.Column` (its value, a step-grid index, or a
category position). Hyperopt stores a trial as ``misc["vals"] = {label: [raw] or []}``:
:meth:`HyperoptCodec.decode` turns that into the flat dict of active parameters and
:meth:`HyperoptCodec.encode` does the reverse for replayed trials.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from unitune.backend import Conversion, Fidelity
from unitune.errors import BackendError
from unitune.kit import Codec, Column
from unitune.space import Categorical, Constant, Float, Int, Space
from unitune.space.dimensions import Dimension

__all__ = ["HyperoptCodec"]

_GRID_TOLERANCE = 1e-9


def _on_zero_grid(low: float, step: float) -> bool:
    """True when ``low`` is a multiple of ``step``: hp.quniform's grid (multiples of q) fits."""
    k = low / step
    return abs(k - round(k)) <= _GRID_TOLERANCE * max(1.0, abs(k))


def _column(name: str, dim: Dimension) -> Column:
    if type(dim) is Categorical:
        return Column(name, dim, "category")  # one choice too: hp.choice carries its branch
    stepped = (type(dim) is Float and dim.step is not None) or (type(dim) is Int and not dim.log)
    if stepped and not _on_zero_grid(dim.low, dim.step):
        return Column(name, dim, "index")
    return Column(name, dim, "value")


class HyperoptCodec(Codec[dict]):
    """A Space expressed for Hyperopt: the ``hp`` expression and ``misc["vals"]`` both ways.

    >>> from unitune import Categorical, Int, Space
    >>> codec = HyperoptCodec(Space({"n": Int(1, 9), "k": Categorical(["a", "b"])}))
    >>> codec.decode({"n": [4.0], "k": [1]})
    {'n': 4, 'k': 'b'}
    >>> codec.encode({"n": 4, "k": "b"})
    {'n': [4.0], 'k': [1]}
    """

    def __init__(self, space: Space):
        super().__init__(space)
        self._columns: dict[str, Column] = {}
        for name, dim, _ in space.walk():
            if isinstance(dim, (Float, Int, Categorical)):
                self._columns[name] = _column(name, dim)
            elif not isinstance(dim, Constant):
                raise BackendError(f"hyperopt: parameter {name!r} has an unknown dimension {dim!r}")
        self.labels: tuple[str, ...] = tuple(self._columns)

    def native_space(self) -> dict[str, Any]:
        """The Hyperopt search space: a dict of ``hp`` nodes, branches as nested hp.choice."""
        from hyperopt import hp

        return self._expression(self.space, hp)

    def _expression(self, space: Space, hp: Any) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name, dim in space.items():
            if isinstance(dim, Constant):
                continue
            out[name] = self._node(self._columns[name], space, hp)
        return out

    def _node(self, column: Column, space: Space, hp: Any) -> Any:
        name, dim = column.name, column.dim
        if column.kind == "category":
            if dim.is_conditional:
                return hp.choice(name, [{} if b is None else self._expression(b, hp) for b in dim.branches])
            return hp.choice(name, list(dim.choices))
        if column.kind == "index":
            return hp.quniform(name, -0.5, dim.n_steps + 0.5, 1)
        low, high = dim.low, dim.high
        if type(dim) is Float and dim.step is None:
            if dim.log:
                return hp.loguniform(name, math.log(low), math.log(high))
            return hp.uniform(name, low, high)
        if type(dim) is Int and dim.log:
            return hp.qloguniform(name, math.log(low - 0.5), math.log(high + 0.5), 1)
        half = dim.step / 2
        return hp.quniform(name, low - half, high + half, dim.step)

    def decode(self, point: Mapping[str, list]) -> dict[str, Any]:
        """Hyperopt's ``misc["vals"]`` -> the flat dict of active parameters (plain values)."""
        columns = self._columns

        def value(name: str, dim: Dimension) -> Any:
            raw = point.get(name)
            if not raw:
                raise BackendError(
                    f"hyperopt proposed no value for the active parameter {name!r} (vals={dict(point)!r})"
                )
            return columns[name].decode(raw[0])

        return self.space.sample_by(value)

    def encode(self, params: Mapping[str, Any]) -> dict[str, list]:
        """Flat active parameters -> Hyperopt's ``vals`` (``[]`` for inactive labels)."""
        self.space.validate(params)
        vals: dict[str, list] = {label: [] for label in self.labels}
        for name in self.space.sample_by(lambda name, _dim: params[name]):
            column = self._columns.get(name)
            if column is not None:
                raw = column.encode(params[name])
                vals[name] = [raw if column.kind == "category" else float(raw)]
        return vals

    def report(self) -> list[Conversion]:
        """One Conversion per parameter: how it is expressed in Hyperopt (all exact)."""
        out = []
        for name, dim, _ in self.space.walk():
            if isinstance(dim, Constant):
                detail = "constant: not searched, handed to the objective unchanged"
            else:
                detail = self._describe(self._columns[name])
            out.append(Conversion(name, Fidelity.EXACT, detail))
        return out

    @staticmethod
    def _describe(column: Column) -> str:
        dim = column.dim
        if column.kind == "category":
            return (f"hp.choice over {len(dim.choices)} options"
                    + (" with nested sub-spaces" if dim.is_conditional else "")
                    + "; Hyperopt's index is mapped back to the category value")
        low, high = dim.low, dim.high
        if column.kind == "index":
            return (f"step index k ~ hp.quniform(-0.5, {dim.n_steps} + 0.5, q=1), value = {low!r} + k * "
                    f"{dim.step!r} (hp.quniform rounds to multiples of q, and low={low!r} is not one); "
                    "every grid value gets an equal share")
        if type(dim) is Float and dim.step is None:
            if dim.log:
                return (f"hp.loguniform(log({low!r}), log({high!r})); exp() round-off at the bounds is "
                        "clipped into [low, high]")
            return f"hp.uniform({low!r}, {high!r})"
        if type(dim) is Int and dim.log:
            return (f"hp.qloguniform(log({low} - 0.5), log({high} + 0.5), q=1): each integer k gets the "
                    "log-uniform mass of [k - 0.5, k + 0.5], the prior unitune itself uses; Hyperopt's "
                    "float is returned as int; the two measure-zero boundary points, which np.round can "
                    f"send to {low - 1} or {high + 1}, are clipped into [{low}, {high}]")
        half = dim.step / 2
        return (f"hp.quniform({low!r} - {half!r}, {high!r} + {half!r}, q={dim.step!r}): every grid value "
                "gets an equal share; Hyperopt's float is snapped onto the grid"
                + (" and returned as int" if type(dim) is Int else ""))
