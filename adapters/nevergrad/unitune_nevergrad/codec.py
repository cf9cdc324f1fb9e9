"""The Nevergrad codec: a unitune Space <-> one flat ``ng.p.Dict`` of Nevergrad parameters.

Built on :class:`unitune.kit.FlatCodec` (the shared conditional-space emulation). Each searched
parameter becomes one Nevergrad parameter, under its own name:

- ``Float``            -> ``ng.p.Scalar(lower=low, upper=high)`` or ``ng.p.Log(lower=low, upper=high)``
- ``Int``              -> the same, ``.set_integer_casting()`` (Nevergrad's integer: rounded)
- ``Float(step=s)``, ``Int(step=s > 1)`` -> ``ng.p.Scalar(lower=0, upper=n).set_integer_casting()``,
  a grid index k, value ``low + k * s``
- ``Categorical``      -> ``ng.p.Choice(n)`` over the positions of the choices (unordered); the
  objective gets the original values back
- constants and single-choice categoricals are not searched.

Nevergrad has no conditional spaces: every branch parameter gets its own entry in one flat Dict
(see :class:`~unitune.kit.FlatCodec`). A native point is the Dict's value,
``{name: Nevergrad value}`` (``candidate.value``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from unitune.kit import Column, FlatCodec
from unitune.space import Int
from unitune.space.dimensions import logit

__all__ = ["NevergradCodec"]


class NevergradCodec(FlatCodec):
    """Translate between a unitune Space and values of one flat ``ng.p.Dict``."""

    library = "Nevergrad"

    def native_column(self, column: Column) -> Any:
        """A fresh Nevergrad parameter (parameters hold state: never share one)."""
        import nevergrad as ng

        dim = column.dim
        if column.kind == "category":
            return ng.p.Choice(len(dim.choices))
        if column.kind == "index":
            return ng.p.Scalar(lower=0, upper=dim.n_steps).set_integer_casting()
        if column.kind == "logit":  # z = logit(x), uniform; the kit decodes expit(z)
            return ng.p.Scalar(lower=logit(dim.low), upper=logit(dim.high))
        scale = ng.p.Log if dim.log else ng.p.Scalar
        param = scale(lower=dim.low, upper=dim.high)
        return param.set_integer_casting() if type(dim) is Int else param

    def to_native(self, column: Column, raw: Any) -> Any:
        if column.kind == "logit":
            return float(raw)
        if column.kind != "value" or type(column.dim) is Int:
            return int(raw)
        return float(raw)

    def describe(self, column: Column) -> str:
        dim = column.dim
        if column.kind == "category":
            return (
                f"ng.p.Choice({len(dim.choices)}) over the positions of {list(dim.choices)!r} "
                "(unordered); the objective receives the original values"
            )
        if column.kind == "index":
            return (
                f"ng.p.Scalar(lower=0, upper={dim.n_steps}).set_integer_casting() grid index k, "
                f"value = {dim.low!r} + k * {dim.step!r} (same grid; exact by emulation)"
            )
        if column.kind == "logit":
            return (f"ng.p.Scalar(lower=logit({dim.low!r}), upper=logit({dim.high!r})) on "
                    "z = log(x / (1 - x)), value expit(z): the same logit-uniform prior")
        text = f"{'ng.p.Log' if dim.log else 'ng.p.Scalar'}(lower={dim.low!r}, upper={dim.high!r})"
        if type(dim) is Int:
            text += ".set_integer_casting() (Nevergrad's integer: rounded to the nearest)"
        return text

    # Nevergrad's points are dicts keyed by parameter name, not lists.
    def native_space(self) -> Any:
        """A fresh ``ng.p.Dict`` with one parameter per column (callers check :attr:`empty`
        first: Nevergrad refuses a parametrization without variables)."""
        import nevergrad as ng

        return ng.p.Dict(**{c.name: self.native_column(c) for c in self.columns})

    def decode(self, point: Mapping[str, Any]) -> dict[str, Any]:  # type: ignore[override]
        """A Nevergrad value (``candidate.value``) -> params with exactly the active parameters."""
        if self._bounds is not None:  # plain floats only: one loop, no call per column
            return self.clipped_by_name(point)
        if self._flat:  # no branches: each column straight from the Dict's value (every ask)
            return {name: decode(point[name]) for name, decode in self._decoders}
        return super().decode([point[c.name] for c in self.columns])

    def encode(self, params: Mapping[str, Any]) -> dict[str, Any]:  # type: ignore[override]
        """Params -> a full Nevergrad value; inactive parameters get the kit's fixed filler."""
        return {c.name: value for c, value in zip(self.columns, super().encode(params))}
