"""Dimensions of a search space: small, immutable, self-validating value objects.

Every dimension has closed bounds ``[low, high]``, draws values of one plain Python type,
and round-trips through a JSON-ready dict::

    >>> Float(1e-4, 1.0, log=True).contains(0.01)
    True
    >>> Int(0, 10, step=5).grid(10)
    (0, 5, 10)
    >>> [round(x, 3) for x in Float(0.01, 0.99, logit=True).grid(5)]
    [0.01, 0.091, 0.5, 0.909, 0.99]
"""

from __future__ import annotations

import abc
import decimal
import math
import numbers
import sys
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from unitune.errors import SpaceError

if TYPE_CHECKING:
    from unitune.space.space import Space

__all__ = ["Categorical", "Constant", "Dimension", "Float", "Int", "expit", "is_json_scalar", "logit"]

_STEP_TOLERANCE = 1e-9

#: Largest integer magnitude every backend represents exactly (libraries carry ints as floats).
MAX_INT = 2**53
#: Largest span ``high - low`` of a linear Float: libraries square distances (Gaussian
#: processes, Parzen estimators) and normalize by the span, which must stay finite.
MAX_FLOAT_SPAN = 1e150


def is_json_scalar(value: Any) -> bool:
    """True for the plain values a categorical may hold: str, int, float, bool or None."""
    if value is None or isinstance(value, (str, bool, int)):
        return type(value) in (str, bool, int, type(None))
    return type(value) is float and math.isfinite(value)


def same_value(a: Any, b: Any) -> bool:
    """Equality that tells ``1``, ``1.0`` and ``True`` apart."""
    return type(a) is type(b) and a == b


def _real(value: Any, what: str, owner: str) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise SpaceError(f"{owner}: {what} must be a real number, got {value!r}")
    result = float(value)
    if not math.isfinite(result):
        raise SpaceError(f"{owner}: {what} must be finite, got {value!r}")
    return result


def logit(p: float) -> float:
    """``log(p / (1 - p))`` for ``0 < p < 1``: the scale of ``Float(..., logit=True)``."""
    return math.log(p) - math.log1p(-p)


def expit(z: float) -> float:
    """The inverse of :func:`logit`: ``1 / (1 + exp(-z))``, without overflow."""
    if z >= 0:
        return 1.0 / (1.0 + math.exp(-z))
    e = math.exp(z)
    return e / (1.0 + e)


def _flag(value: Any, what: str, owner: str) -> bool:
    if not isinstance(value, (bool, np.bool_)):
        raise SpaceError(f"{owner}: {what} must be True or False, got {value!r}")
    return bool(value)


def _integer(value: Any, what: str, owner: str) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        if isinstance(value, float) and value.is_integer():
            return int(value)
        raise SpaceError(f"{owner}: {what} must be an integer, got {value!r}")
    return int(value)


class Dimension(abc.ABC):
    """One searchable parameter. Subclasses are immutable after construction."""

    kind: ClassVar[str]
    __slots__ = ()

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"{type(self).__name__} is immutable")

    def _set(self, **fields: Any) -> None:
        for name, value in fields.items():
            object.__setattr__(self, name, value)

    @property
    @abc.abstractmethod
    def cardinality(self) -> int | None:
        """Number of distinct values, or None for a continuous dimension."""

    @abc.abstractmethod
    def sample(self, rng: np.random.Generator) -> Any:
        """Draw one value with ``rng``, as a plain Python value inside the dimension."""

    @abc.abstractmethod
    def contains(self, value: Any) -> bool:
        """True when ``value`` is a value of this dimension, of the declared type."""

    @abc.abstractmethod
    def grid(self, resolution: int) -> tuple[Any, ...]:
        """Values to enumerate in a grid; continuous ranges use ``resolution`` points."""

    @abc.abstractmethod
    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready description; ``dimension_from_dict`` inverts it."""

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and self.to_dict() == other.to_dict()  # type: ignore[attr-defined]

    def __hash__(self) -> int:
        return hash(repr(self))

    def __reduce__(self):
        # Immutable slots cannot be restored attribute by attribute: rebuild from the dict form
        # (this makes dimensions picklable, copyable and deep-copyable, e.g. by sklearn's clone).
        from unitune.space.space import dimension_from_dict

        return (dimension_from_dict, (self.to_dict(),))


class _Numeric(Dimension):
    """Shared machinery of Float and Int: bounds, log scale and step grid."""

    __slots__ = ("high", "log", "low", "step")
    low: Any
    high: Any
    log: bool
    step: Any

    @property
    def n_steps(self) -> int | None:
        """Number of step intervals between low and high (None without a step)."""
        if self.step is None:
            return None
        return round((self.high - self.low) / self.step)

    @property
    def cardinality(self) -> int | None:
        n = self.n_steps
        return None if n is None else n + 1

    def _check_common(self, owner: str) -> None:
        if not self.low < self.high:
            raise SpaceError(
                f"{owner}: low must be < high, got low={self.low!r} high={self.high!r} "
                "(use Constant for a fixed value)"
            )
        if self.log and self.low <= 0:
            raise SpaceError(f"{owner}: log=True needs low > 0, got low={self.low!r}")

    def _in_bounds(self, value: float) -> bool:
        return self.low <= value <= self.high

    def _check_representable(self, owner: str) -> None:
        """Refuse bounds that no backend can represent (checked once, when the dimension is built)."""
        if isinstance(self.low, int):
            if max(abs(self.low), abs(self.high)) > MAX_INT:
                raise SpaceError(
                    f"{owner}: bounds must lie within -2**53..2**53 ({MAX_INT}) so that every backend "
                    "represents each value exactly; scale the parameter (e.g. Int(0, 1000) times a "
                    "unit) or use a log-scaled Float"
                )
        elif self.log and not sys.float_info.min <= self.low * self.high < math.inf:
            raise SpaceError(
                f"{owner}: with log=True, low * high = {self.low * self.high!r} must be a normal, "
                "finite float (backends start from the geometric centre sqrt(low * high)); "
                "rescale the parameter so that its bounds lie closer to 1"
            )
        elif not self.log and self.high - self.low > MAX_FLOAT_SPAN:
            raise SpaceError(
                f"{owner}: the span high - low = {self.high - self.low:.3g} is larger than "
                f"{MAX_FLOAT_SPAN:g}, which backends cannot sample or model without overflowing; "
                "use log=True for a range over many orders of magnitude, or rescale the parameter"
            )

    def _on_step(self, value: float) -> bool:
        if self.step is None:
            return True
        k = (value - self.low) / self.step
        return abs(k - round(k)) <= _STEP_TOLERANCE * max(1.0, abs(k))

    def _spread(self, resolution: int) -> np.ndarray:
        if isinstance(resolution, bool) or not isinstance(resolution, int) or resolution < 2:
            raise SpaceError(f"grid resolution must be an integer >= 2, got {resolution!r}")
        if getattr(self, "logit", False):
            z = np.linspace(logit(self.low), logit(self.high), resolution)
            return np.array([expit(float(v)) for v in z])
        if self.log:
            return np.geomspace(self.low, self.high, resolution)
        return np.linspace(self.low, self.high, resolution)

    def __repr__(self) -> str:
        extras = "".join(
            f", {k}={getattr(self, k)!r}" for k in ("log", "logit", "step")
            if getattr(self, k, None) not in (False, None)
        )
        return f"{type(self).__name__}({self.low!r}, {self.high!r}{extras})"


def _noise_digits(low: float, high: float, step: float) -> int:
    """The decimals a stepped Float's grid points are rounded to, to take float noise away: 12
    digits finer than the step, at most what a double holds at the range's magnitude, and never
    fewer than the bounds and the step are written with."""
    magnitude = max(abs(low), abs(high))
    digits = 12 - math.floor(math.log10(step))
    if magnitude > 0:
        digits = min(digits, 15 - math.floor(math.log10(magnitude)))
    return max(digits, *(_decimals(x) for x in (low, high, step)))


def _decimals(value: float) -> int:
    """How many decimals ``repr(value)`` has (13 for 1e-13, 3 for 0.125, 0 for 1e20)."""
    exponent = decimal.Decimal(repr(value)).as_tuple().exponent
    return -exponent if isinstance(exponent, int) and exponent < 0 else 0


class Float(_Numeric):
    """A real number in ``[low, high]``, optionally on a log scale, a logit scale or a step grid.

    ``logit=True`` (for ``0 < low < high < 1``, e.g. a rate or a fraction) spreads samples and grid
    points uniformly in ``log(x / (1 - x))``, so values near 0 and near 1 get as much room as the
    middle.

    >>> tuple(Float(0.0, 1.0, step=0.25).grid(3))
    (0.0, 0.25, 0.5, 0.75, 1.0)
    """

    kind = "float"
    __slots__ = ("_digits", "logit")
    logit: bool

    def __init__(self, low: float, high: float, *, log: bool = False, step: float | None = None,
                 logit: bool = False):
        owner = f"Float(low={low!r}, high={high!r})"
        self._set(low=_real(low, "low", owner), high=_real(high, "high", owner), log=_flag(log, "log", owner))
        self._set(step=None if step is None else _real(step, "step", owner))
        self._set(logit=_flag(logit, "logit", owner))
        self._check_common(owner)
        if self.logit:
            if self.log:
                raise SpaceError(f"{owner}: logit=True cannot be combined with log=True (choose one scale)")
            if self.step is not None:
                raise SpaceError(f"{owner}: logit=True cannot be combined with a step")
            if not 0.0 < self.low < self.high < 1.0:
                raise SpaceError(
                    f"{owner}: logit=True needs 0 < low < high < 1 (the logit of 0 and 1 is infinite), "
                    f"got low={self.low!r} high={self.high!r}"
                )
        self._check_representable(owner)
        if self.step is not None:
            if self.step <= 0:
                raise SpaceError(f"{owner}: step must be > 0, got step={step!r}")
            if self.log:
                raise SpaceError(f"{owner}: step cannot be combined with log=True")
            span = (self.high - self.low) / self.step
            if abs(span - round(span)) > _STEP_TOLERANCE * max(1.0, span):
                raise SpaceError(
                    f"{owner}: step={step!r} does not fit the range: (high - low) / step = "
                    f"{span:g} must be a whole number"
                )
        self._set(_digits=None if self.step is None else _noise_digits(self.low, self.high, self.step))

    def sample(self, rng: np.random.Generator) -> float:
        if self.step is not None:
            return self.snap(self.low + int(rng.integers(0, self.n_steps + 1)) * self.step)
        if self.logit:
            value = expit(rng.uniform(logit(self.low), logit(self.high)))
        elif self.log:
            value = math.exp(rng.uniform(math.log(self.low), math.log(self.high)))
        else:
            value = rng.uniform(self.low, self.high)
        return self.snap(value)  # no step here: clipped into the bounds

    def snap(self, value: float) -> float:
        """Clip ``value`` into the bounds and round it onto the step grid, as a float."""
        # Comparisons, not min(max(...)): a flat codec snaps every float of every ask (a NaN
        # passes through either way).
        value, low, high = float(value), self.low, self.high
        if value < low:
            value = low
        elif value > high:
            value = high
        step = self.step
        if step is not None:
            value = low + round((value - low) / step) * step
            cleaned = round(value, self._digits)  # float noise away: 0.1 * 3 comes out as 0.3
            if -1e-6 * step <= cleaned - value <= 1e-6 * step:  # never off the grid
                value = cleaned
            value = low if value < low else high if value > high else value
        return value

    def contains(self, value: Any) -> bool:
        return (
            type(value) is float
            and math.isfinite(value)
            and self._in_bounds(value)
            and self._on_step(value)
        )

    def grid(self, resolution: int) -> Sequence[float]:
        if self.step is not None:  # every step, listed lazily: a fine step may give billions
            return _Steps(self)
        points = self._spread(resolution)
        points[0], points[-1] = self.low, self.high
        return tuple(float(p) for p in points)

    def to_dict(self) -> dict[str, Any]:
        out = {"type": "float", "low": self.low, "high": self.high, "log": self.log, "step": self.step}
        if self.logit:  # only when set, so the dicts of other floats are unchanged
            out["logit"] = True
        return out


class _Steps(Sequence):
    """Every step of a stepped Float, computed on demand (sized and indexable, never listed)."""

    __slots__ = ("_dim", "_size")

    def __init__(self, dim: Float):
        self._dim = dim
        self._size = dim.n_steps + 1

    def __len__(self) -> int:
        return self._size

    def __getitem__(self, index: int) -> float:  # type: ignore[override]
        if isinstance(index, slice):
            return tuple(self[i] for i in range(*index.indices(self._size)))
        if index < 0:
            index += self._size
        if not 0 <= index < self._size:
            raise IndexError(f"step index {index} out of range for {self._size} steps")
        return self._dim.snap(self._dim.low + index * self._dim.step)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, (tuple, list, _Steps)):
            return len(self) == len(other) and all(a == b for a, b in zip(self, other))
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"<{self._size} steps of {self._dim!r}>"


class Int(_Numeric):
    """An integer in ``[low, high]``, optionally on a log scale or every ``step``-th value.

    >>> Int(1, 1000, log=True).grid(4)
    (1, 10, 100, 1000)
    """

    kind = "int"
    __slots__ = ()

    def __init__(self, low: int, high: int, *, log: bool = False, step: int = 1):
        owner = f"Int(low={low!r}, high={high!r})"
        self._set(low=_integer(low, "low", owner), high=_integer(high, "high", owner))
        self._set(log=_flag(log, "log", owner), step=_integer(step, "step", owner))
        self._check_common(owner)
        self._check_representable(owner)
        if self.step < 1:
            raise SpaceError(f"{owner}: step must be >= 1, got step={step!r}")
        if self.log and self.step != 1:
            raise SpaceError(f"{owner}: log=True needs step=1, got step={step!r}")
        if (self.high - self.low) % self.step:
            raise SpaceError(
                f"{owner}: step={step!r} does not fit the range: high - low = "
                f"{self.high - self.low} is not a multiple of it"
            )

    def sample(self, rng: np.random.Generator) -> int:
        if self.log:
            raw = math.exp(rng.uniform(math.log(self.low - 0.5), math.log(self.high + 0.5)))
            return self.snap(raw)
        return self.low + int(rng.integers(0, self.n_steps + 1)) * self.step

    def snap(self, value: float) -> int:
        """Clip ``value`` into the bounds and round it to the nearest step, as an int."""
        value, low, high = float(value), self.low, self.high
        if value < low:
            value = low
        elif value > high:
            value = high
        return int(low + round((value - low) / self.step) * self.step)

    def contains(self, value: Any) -> bool:
        return (
            type(value) is int
            and self._in_bounds(value)
            and (value - self.low) % self.step == 0
        )

    def grid(self, resolution: int) -> tuple[int, ...]:
        if self.cardinality <= resolution:
            return tuple(range(self.low, self.high + 1, self.step))
        return tuple(dict.fromkeys(self.snap(p) for p in self._spread(resolution)))

    def to_dict(self) -> dict[str, Any]:
        return {"type": "int", "low": self.low, "high": self.high, "log": self.log, "step": self.step}


class Categorical(Dimension):
    """One of a fixed set of plain values; a mapping makes it a conditional branch point.

    ``Categorical(["a", "b"])`` picks a value. ``Categorical({"sgd": {"momentum": Float(0, 1)},
    "adam": None})`` also activates the sub-space of the chosen value.
    """

    kind = "categorical"
    __slots__ = ("_conditional", "branches", "choices")
    choices: tuple[Any, ...]
    branches: tuple[Space | None, ...]

    def __init__(self, choices: Sequence[Any] | Mapping[Any, Any]):
        from unitune.space.space import Space  # local: the two modules refer to each other

        if isinstance(choices, Mapping):
            values = tuple(choices.keys())
            subspaces = tuple(
                None if sub is None or (isinstance(sub, Mapping) and not sub) else Space.coerce(sub)
                for sub in choices.values()
            )
        elif isinstance(choices, (str, bytes)) or not isinstance(choices, Sequence):
            raise SpaceError(
                f"Categorical: choices must be a list of values or a mapping value -> sub-space, "
                f"got {choices!r}"
            )
        else:
            values = tuple(choices)
            subspaces = (None,) * len(values)
        if not values:
            raise SpaceError("Categorical: choices must not be empty")
        seen: list[Any] = []
        for value in values:
            if not is_json_scalar(value):
                raise SpaceError(
                    f"Categorical: every choice must be a str, int, finite float, bool or None, "
                    f"got {value!r} of type {type(value).__name__}"
                )
            if any(same_value(value, other) for other in seen):
                raise SpaceError(f"Categorical: duplicate choice {value!r} in {list(values)!r}")
            seen.append(value)
        self._set(choices=values, branches=subspaces,
                  _conditional=any(branch is not None for branch in subspaces))

    @property
    def is_conditional(self) -> bool:
        """True when at least one choice brings a sub-space."""
        return self._conditional

    @property
    def cardinality(self) -> int:
        return len(self.choices)

    def index(self, value: Any) -> int:
        """Position of ``value`` among the choices (type-aware); SpaceError if absent."""
        for i, choice in enumerate(self.choices):
            if same_value(choice, value):
                return i
        raise SpaceError(f"{value!r} is not one of the choices {list(self.choices)!r}")

    def branch(self, value: Any) -> Space | None:
        """The sub-space activated by ``value``, or None."""
        return self.branches[self.index(value)]

    def sample(self, rng: np.random.Generator) -> Any:
        return self.choices[int(rng.integers(0, len(self.choices)))]

    def contains(self, value: Any) -> bool:
        return any(same_value(choice, value) for choice in self.choices)

    def grid(self, resolution: int) -> tuple[Any, ...]:
        return self.choices

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"type": "categorical", "choices": list(self.choices)}
        if self.is_conditional:
            out["branches"] = [None if b is None else b.to_dict() for b in self.branches]
        return out

    def __repr__(self) -> str:
        if not self.is_conditional:
            return f"Categorical({list(self.choices)!r})"
        inner = ", ".join(f"{c!r}: {b!r}" for c, b in zip(self.choices, self.branches))
        return f"Categorical({{{inner}}})"


class Constant(Dimension):
    """A fixed value handed to the objective unchanged (any JSON value)."""

    kind = "constant"
    __slots__ = ("value",)
    value: Any

    def __init__(self, value: Any):
        _check_json(value, "Constant")
        self._set(value=value)

    @property
    def cardinality(self) -> int:
        return 1

    def sample(self, rng: np.random.Generator) -> Any:
        return self.value

    def contains(self, value: Any) -> bool:
        return _json_equal(value, self.value)

    def grid(self, resolution: int) -> tuple[Any, ...]:
        return (self.value,)

    def to_dict(self) -> dict[str, Any]:
        return {"type": "constant", "value": self.value}

    def __repr__(self) -> str:
        return f"Constant({self.value!r})"


def _check_json(value: Any, owner: str) -> None:
    if is_json_scalar(value):
        return
    if isinstance(value, list):
        for item in value:
            _check_json(item, owner)
        return
    if isinstance(value, dict) and all(isinstance(k, str) for k in value):
        for item in value.values():
            _check_json(item, owner)
        return
    raise SpaceError(
        f"{owner}: value must be JSON-representable (str, int, finite float, bool, None, list, "
        f"dict with str keys), got {value!r} of type {type(value).__name__}"
    )


def _json_equal(a: Any, b: Any) -> bool:
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_json_equal(x, y) for x, y in zip(a, b))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_json_equal(a[k], b[k]) for k in a)
    return same_value(a, b)
