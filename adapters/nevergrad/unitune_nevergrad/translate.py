"""Space translation: a unitune Space <-> one flat ``ng.p.Dict`` of Nevergrad parameters.

Each searched parameter becomes one Nevergrad parameter, named as in the space:

- ``Float``             -> ``ng.p.Scalar(lower=low, upper=high)``, or ``ng.p.Log(lower=, upper=)``
- ``Float(step=s)``     -> ``ng.p.Scalar(lower=0, upper=n).set_integer_casting()`` grid index k,
  value ``low + k * s``
- ``Int``               -> ``ng.p.Scalar`` (or ``ng.p.Log``) ``(lower=low, upper=high).set_integer_casting()``
- ``Int(step=s > 1)``   -> a grid index, as for a stepped Float
- ``Categorical``       -> ``ng.p.Choice(n)`` over the indices of the choices (unordered); the
  objective gets the original values back
- constants and single-choice categoricals are not searched.

Nevergrad has no conditional spaces: every branch parameter gets its own Nevergrad parameter in one
flat Dict. On ask only the active parameters are decoded; a point told to Nevergrad (replay) gets
each inactive parameter at its Nevergrad initial value (the middle of its range, the first choice),
so that the optimizer always sees inactive parameters at the same place.

Nevergrad is imported only by :meth:`SpaceCodec.native_space`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from unitune.backend import Conversion, Fidelity
from unitune.kit import Codec
from unitune.space import Categorical, Constant, Dimension, Float, Int, Space

__all__ = ["Column", "SpaceCodec"]


@dataclass(frozen=True)
class Column:
    """One Nevergrad parameter and how its values map to and from a unitune dimension."""

    name: str
    dim: Dimension
    kind: str  # "real", "integer", "index" or "categorical"

    def to_nevergrad(self) -> Any:
        """A fresh Nevergrad parameter (parameters hold state: never share one)."""
        import nevergrad as ng

        dim = self.dim
        if self.kind == "categorical":
            return ng.p.Choice(len(dim.choices))
        if self.kind == "index":
            return ng.p.Scalar(lower=0, upper=dim.n_steps).set_integer_casting()
        scale = ng.p.Log if dim.log else ng.p.Scalar
        param = scale(lower=dim.low, upper=dim.high)
        return param.set_integer_casting() if self.kind == "integer" else param

    def decode(self, raw: Any) -> Any:
        """Nevergrad's value -> the plain Python value the objective receives."""
        dim = self.dim
        if self.kind == "categorical":
            return dim.choices[int(raw)]
        if self.kind == "index":
            return dim.snap(dim.low + int(raw) * dim.step)
        return dim.snap(raw)

    def encode(self, value: Any) -> Any:
        """A parameter value -> the Nevergrad value it corresponds to."""
        dim = self.dim
        if self.kind == "categorical":
            return dim.index(value)
        if self.kind == "index":
            return round((float(value) - dim.low) / dim.step)
        if self.kind == "integer":
            return int(value)
        return float(value)

    def describe(self) -> str:
        """What Nevergrad sees, in words (for the conversion report)."""
        dim = self.dim
        if self.kind == "categorical":
            return (
                f"ng.p.Choice({len(dim.choices)}) over the indices of {list(dim.choices)!r} "
                "(unordered); the objective receives the original values"
            )
        if self.kind == "index":
            return (
                f"ng.p.Scalar(lower=0, upper={dim.n_steps}).set_integer_casting() grid index k, "
                f"value = {dim.low!r} + k * {dim.step!r} (same grid; exact by emulation)"
            )
        scale = "ng.p.Log" if dim.log else "ng.p.Scalar"
        text = f"{scale}(lower={dim.low!r}, upper={dim.high!r})"
        if self.kind == "integer":
            text += ".set_integer_casting() (Nevergrad's integer: rounded to the nearest integer)"
        return text


def _column(name: str, dim: Dimension) -> Column | None:
    if type(dim) is Float:
        return Column(name, dim, "real" if dim.step is None else "index")
    if type(dim) is Int:
        return Column(name, dim, "integer" if dim.step == 1 else "index")
    if type(dim) is Categorical and len(dim.choices) > 1:
        return Column(name, dim, "categorical")
    return None  # constants and single choices are not searched


class SpaceCodec(Codec[dict]):
    """Translate between a unitune Space and values of one flat ``ng.p.Dict``."""

    def __init__(self, space: Space):
        super().__init__(space)
        self.columns: dict[str, Column] = {}
        for name, dim, _ in space.walk():
            column = _column(name, dim)
            if column is not None:
                self.columns[name] = column
        self._fillers: dict[str, Any] | None = None

    @property
    def empty(self) -> bool:
        """True when nothing is searched (only constants and single choices)."""
        return not self.columns

    def native_space(self) -> Any:
        """A fresh ``ng.p.Dict`` with one parameter per searched unitune parameter.

        Nevergrad refuses a parametrization without variables; callers check :attr:`empty` first.
        """
        import nevergrad as ng

        return ng.p.Dict(**{name: column.to_nevergrad() for name, column in self.columns.items()})

    def decode(self, point: Mapping[str, Any]) -> dict[str, Any]:
        """A Nevergrad value (``candidate.value``) -> params with exactly the active parameters."""
        columns = self.columns

        def suggest(name: str, dim: Dimension) -> Any:
            if name in columns:
                return columns[name].decode(point[name])
            return dim.choices[0]  # a single-choice categorical: not searched

        return self.space.sample_by(suggest)

    def encode(self, params: Mapping[str, Any]) -> dict[str, Any]:
        """Params (from any backend) -> a full Nevergrad value; inactive parameters get their
        Nevergrad initial value."""
        if self._fillers is None:
            self._fillers = dict(self.native_space().value)
        return {
            name: column.encode(params[name]) if name in params else self._fillers[name]
            for name, column in self.columns.items()
        }

    def report(self) -> list[Conversion]:
        """Per parameter: exact, or emulated for everything inside (or owning) a branch."""
        out = []
        for name, dim, condition in self.space.walk():
            column = self.columns.get(name)
            if type(dim) is Constant:
                detail = "constant: not searched, passed to the objective unchanged"
            elif column is None:
                detail = f"single choice {dim.choices[0]!r}: not searched"
            else:
                detail = column.describe()
            if condition:
                where = " and ".join(f"{p}={c!r}" for p, c in condition)
                out.append(Conversion(name, Fidelity.EMULATED, (
                    f"{detail}; conditional (active only when {where}): Nevergrad has no conditional "
                    "spaces, so it is flattened into one ng.p.Dict, dropped from the params when "
                    "inactive and told to Nevergrad at its initial value"
                )))
            elif type(dim) is Categorical and dim.is_conditional:
                out.append(Conversion(name, Fidelity.EMULATED, (
                    f"{detail}; branch point: its sub-spaces are flattened into one ng.p.Dict "
                    "(Nevergrad does not model the condition)"
                )))
            else:
                out.append(Conversion(name, Fidelity.EXACT, detail))
        return out
