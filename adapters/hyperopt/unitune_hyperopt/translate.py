"""Translate a unitune Space into a Hyperopt search expression, and values back and forth.

Every searchable parameter becomes one ``hp`` node labelled with its (tree-unique) name;
conditional branches become nested ``hp.choice`` dicts. Hyperopt stores a trial as
``misc["vals"] = {label: [raw] or []}``: :meth:`Translation.decode` turns that into the flat
dict of active parameters (category values, ints as int, floats on the step grid) and
:meth:`Translation.encode` does the reverse for trials Hyperopt did not propose.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from unitune.backend import Conversion, Fidelity
from unitune.errors import BackendError
from unitune.space import Categorical, Constant, Float, Int, Space
from unitune.space.dimensions import Dimension

__all__ = ["Translation"]

_GRID_TOLERANCE = 1e-9


@dataclass(frozen=True)
class _Codec:
    """How one dimension is expressed: its hp node, the decoder, the encoder and the report."""

    make: Callable[[Any, Any], Any]  # (hp module, options for hp.choice or None) -> hp node
    decode: Callable[[Any], Any]
    encode: Callable[[Any], Any]
    detail: str


def _on_zero_grid(low: float, step: float) -> bool:
    """True when ``low`` is a multiple of ``step``: hp.quniform's grid (multiples of q) fits."""
    k = low / step
    return abs(k - round(k)) <= _GRID_TOLERANCE * max(1.0, abs(k))


def _numeric_codec(name: str, dim: Float | Int) -> _Codec:
    low, high = dim.low, dim.high
    if type(dim) is Float and dim.step is None:
        if dim.log:
            return _Codec(
                lambda hp, _: hp.loguniform(name, math.log(low), math.log(high)),
                dim.snap, float,
                f"hp.loguniform(log({low!r}), log({high!r})); exp() round-off at the bounds is "
                "clipped into [low, high]",
            )
        return _Codec(lambda hp, _: hp.uniform(name, low, high), dim.snap, float,
                      f"hp.uniform({low!r}, {high!r})")
    if type(dim) is Int and dim.log:
        lo, hi = math.log(low - 0.5), math.log(high + 0.5)
        return _Codec(
            lambda hp, _: hp.qloguniform(name, lo, hi, 1),
            dim.snap, float,
            f"hp.qloguniform(log({low} - 0.5), log({high} + 0.5), q=1): each integer k gets the "
            "log-uniform mass of [k - 0.5, k + 0.5], the prior unitune itself uses; Hyperopt's "
            "float is returned as int; the two measure-zero boundary points, which np.round can "
            f"send to {low - 1} or {high + 1}, are clipped into [{low}, {high}]",
        )
    step = dim.step
    n = dim.n_steps
    if _on_zero_grid(low, step):
        half = step / 2
        return _Codec(
            lambda hp, _: hp.quniform(name, low - half, high + half, step),
            dim.snap, float,
            f"hp.quniform({low!r} - {half!r}, {high!r} + {half!r}, q={step!r}): every grid value "
            "gets an equal share; Hyperopt's float is snapped onto the grid"
            + (" and returned as int" if type(dim) is Int else ""),
        )
    return _Codec(
        lambda hp, _: hp.quniform(name, -0.5, n + 0.5, 1),
        lambda raw: dim.snap(low + round(float(raw)) * step),
        lambda value: float(round((value - low) / step)),
        f"step index k ~ hp.quniform(-0.5, {n} + 0.5, q=1), value = {low!r} + k * {step!r} "
        f"(hp.quniform rounds to multiples of q, and low={low!r} is not one); every grid value "
        "gets an equal share",
    )


def _categorical_codec(name: str, dim: Categorical) -> _Codec:
    choices = dim.choices
    return _Codec(
        lambda hp, options: hp.choice(name, list(choices) if options is None else options),
        lambda raw: choices[int(raw)],
        dim.index,
        f"hp.choice over {len(choices)} options"
        + (" with nested sub-spaces" if dim.is_conditional else "")
        + "; Hyperopt's index is mapped back to the category value",
    )


class Translation:
    """A Space expressed for Hyperopt: the ``hp`` expression and the value codecs.

    >>> from unitune import Categorical, Int, Space
    >>> t = Translation(Space({"n": Int(1, 9), "k": Categorical(["a", "b"])}))
    >>> t.decode({"n": [4.0], "k": [1]})
    {'n': 4, 'k': 'b'}
    >>> t.encode({"n": 4, "k": "b"})
    {'n': [4.0], 'k': [1]}
    """

    def __init__(self, space: Space):
        self.space = space
        self._codecs: dict[str, _Codec] = {}
        for name, dim, _ in space.walk():
            if isinstance(dim, (Float, Int)):
                self._codecs[name] = _numeric_codec(name, dim)
            elif isinstance(dim, Categorical):
                self._codecs[name] = _categorical_codec(name, dim)
            elif not isinstance(dim, Constant):
                raise BackendError(f"hyperopt: parameter {name!r} has an unknown dimension {dim!r}")
        self.labels: tuple[str, ...] = tuple(self._codecs)

    def expression(self) -> dict[str, Any]:
        """The Hyperopt search space: a dict of ``hp`` nodes, branches as nested hp.choice."""
        from hyperopt import hp

        return self._expression(self.space, hp)

    def _expression(self, space: Space, hp: Any) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name, dim in space.items():
            if isinstance(dim, Constant):
                continue
            options = None
            if isinstance(dim, Categorical) and dim.is_conditional:
                options = [{} if b is None else self._expression(b, hp) for b in dim.branches]
            out[name] = self._codecs[name].make(hp, options)
        return out

    def decode(self, vals: Mapping[str, list]) -> dict[str, Any]:
        """Hyperopt's ``misc["vals"]`` -> the flat dict of active parameters (plain values)."""
        codecs = self._codecs

        def value(name: str, dim: Dimension) -> Any:
            raw = vals.get(name)
            if not raw:
                raise BackendError(
                    f"hyperopt proposed no value for the active parameter {name!r} (vals={dict(vals)!r})"
                )
            return codecs[name].decode(raw[0])

        return self.space.sample_by(value)

    def encode(self, params: Mapping[str, Any]) -> dict[str, list]:
        """Flat active parameters -> Hyperopt's ``vals`` (``[]`` for inactive labels)."""
        self.space.validate(params)
        vals: dict[str, list] = {label: [] for label in self.labels}
        for name in self.space.sample_by(lambda name, _dim: params[name]):
            if name in self._codecs:
                vals[name] = [self._codecs[name].encode(params[name])]
        return vals

    def report(self) -> list[Conversion]:
        """One Conversion per parameter: how it is expressed in Hyperopt."""
        out = []
        for name, dim, _ in self.space.walk():
            if isinstance(dim, Constant):
                out.append(Conversion(name, Fidelity.EXACT,
                                      "constant: not searched, handed to the objective unchanged"))
            else:
                out.append(Conversion(name, Fidelity.EXACT, self._codecs[name].detail))
        return out
