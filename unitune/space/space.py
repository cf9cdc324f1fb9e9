"""The search space: an ordered, immutable mapping of names to dimensions, with branches.

>>> from unitune import Categorical, Float, Space
>>> space = Space({"lr": Float(1e-4, 1e-1, log=True),
...                "opt": Categorical({"sgd": {"momentum": Float(0.0, 0.9)}, "adam": None})})
>>> params = space.sample(seed=0)
>>> space.contains(params)
True
>>> Space.from_dict(space.to_dict()) == space
True
"""

from __future__ import annotations

import json
import numbers
from collections.abc import Callable, Iterator, Mapping
from typing import TYPE_CHECKING, Any

import numpy as np

from unitune.errors import SpaceError
from unitune.space.dimensions import (
    Categorical,
    Constant,
    Dimension,
    Float,
    Int,
    is_json_scalar,
)

if TYPE_CHECKING:
    from unitune.space.grid import Grid

__all__ = ["Condition", "Space", "dimension_from_dict"]

#: ``((parent_name, choice), ...)``: the branch choices that must hold for a parameter to be active.
Condition = tuple[tuple[str, Any], ...]

_KINDS: dict[str, type[Dimension]] = {
    "float": Float, "int": Int, "categorical": Categorical, "constant": Constant,
}


class Space(Mapping[str, Dimension]):
    """Top-level dimensions by name; conditional ones carry their own sub-spaces.

    A plain dict is accepted wherever a space is expected. Plain scalars in it become constants.
    Every parameter name must be unique across the whole tree, branches included, so a flat
    parameter dict is never ambiguous.
    """

    __slots__ = ("_dims", "_names")

    def __init__(self, dimensions: Mapping[str, Any] | None = None):
        dims: dict[str, Dimension] = {}
        for name, dim in (dimensions or {}).items():
            if not isinstance(name, str) or not name:
                raise SpaceError(f"parameter names must be non-empty strings, got {name!r}")
            dims[name] = _as_dimension(name, dim)
        object.__setattr__(self, "_dims", dims)
        object.__setattr__(self, "_names", _collect_names(self))

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError("Space is immutable")

    @classmethod
    def coerce(cls, space: Space | Mapping[str, Any]) -> Space:
        """Return ``space`` as a Space (a dict is converted and validated)."""
        if isinstance(space, Space):
            return space
        if isinstance(space, Mapping):
            return cls(space)
        raise SpaceError(f"a search space must be a Space or a dict of name -> dimension, got {space!r}")

    # Mapping protocol over the top level.
    def __getitem__(self, name: str) -> Dimension:
        return self._dims[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._dims)

    def __len__(self) -> int:
        return len(self._dims)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Space) and self.to_dict() == other.to_dict()

    def __hash__(self) -> int:  # equal spaces (same dimensions, any order) hash alike
        return hash(json.dumps(self.to_dict(), sort_keys=True))

    def __reduce__(self):
        # Rebuilt from the JSON-ready form: picklable and deep-copyable although immutable.
        return (Space.from_dict, (self.to_dict(),))

    def __repr__(self) -> str:
        return f"Space({self._dims!r})"

    @property
    def names(self) -> tuple[str, ...]:
        """Every parameter name in the tree, depth first, constants included."""
        return self._names

    @property
    def is_conditional(self) -> bool:
        """True when some choice activates a sub-space."""
        return any(cond for _, _, cond in self.walk())

    def walk(self, condition: Condition = ()) -> Iterator[tuple[str, Dimension, Condition]]:
        """Yield ``(name, dimension, condition)`` for every dimension in the tree, depth first."""
        for name, dim in self._dims.items():
            yield name, dim, condition
            if isinstance(dim, Categorical):
                for choice, branch in zip(dim.choices, dim.branches):
                    if branch is not None:
                        yield from branch.walk((*condition, (name, choice)))

    @property
    def cardinality(self) -> int | None:
        """Number of distinct active configurations, or None if any dimension is continuous."""
        total = 1
        for dim in self._dims.values():
            size = _dimension_size(dim, lambda d: d.cardinality)
            if size is None:
                return None
            total *= size
        return total

    # Drawing values.
    def sample_by(self, suggest: Callable[[str, Dimension], Any]) -> dict[str, Any]:
        """Build a parameter dict define-by-run: ``suggest(name, dim)`` for each active dimension.

        Constants are filled in without asking; a categorical's answer decides which branch is
        walked next. This is the one traversal that random search and define-by-run adapters share.
        """
        params: dict[str, Any] = {}
        self._fill(params, suggest)
        return params

    def _fill(self, params: dict[str, Any], suggest: Callable[[str, Dimension], Any]) -> None:
        for name, dim in self._dims.items():
            kind = type(dim)
            if kind is Constant:
                params[name] = dim.value
                continue
            value = suggest(name, dim)
            params[name] = value
            if kind is Categorical and dim._conditional:
                branch = dim.branch(value)
                if branch is not None:
                    branch._fill(params, suggest)

    def sample(self, rng: np.random.Generator | None = None, *, seed: int | None = None) -> dict[str, Any]:
        """One random configuration (uniform per dimension, log-uniform on log scales)."""
        if rng is None:
            rng = np.random.default_rng(seed)
        return self.sample_by(lambda _name, dim: dim.sample(rng))

    # Checking values.
    def validate(self, params: Mapping[str, Any]) -> None:
        """Raise SpaceError naming the first parameter that breaks the space, if any.

        Exactly the active parameters must be present, each of its declared Python type,
        inside its bounds and on its step grid.
        """
        if not isinstance(params, Mapping):
            raise SpaceError(f"parameters must be a dict, got {params!r}")
        expected = self._check(params)
        extra = [name for name in params if name not in expected]
        if extra:
            raise SpaceError(
                f"parameters {extra!r} are not active for this configuration "
                f"(active: {sorted(expected)!r}); inactive parameters must be absent"
            )

    def _check(self, params: Mapping[str, Any]) -> set[str]:
        active: set[str] = set()
        for name, dim in self._dims.items():
            if name not in params:
                raise SpaceError(f"parameter {name!r} is missing")
            value = params[name]
            if not dim.contains(value):
                raise SpaceError(
                    f"parameter {name!r}: {value!r} ({type(value).__name__}) is not a value of {dim!r}"
                    f"{_type_hint(dim, value)}"
                )
            active.add(name)
            if type(dim) is Categorical and dim.is_conditional:
                branch = dim.branch(value)
                if branch is not None:
                    active |= branch._check(params)
        return active

    def contains(self, params: Mapping[str, Any]) -> bool:
        """True when ``params`` is a configuration of this space (see :meth:`validate`)."""
        try:
            self.validate(params)
        except SpaceError:
            return False
        return True

    def grid(self, resolution: int = 10) -> Grid:
        """Every configuration on a grid: see :class:`unitune.space.grid.Grid`."""
        from unitune.space.grid import Grid

        return Grid(self, resolution)

    # JSON.
    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict; :meth:`from_dict` restores an equal space."""
        return {name: dim.to_dict() for name, dim in self._dims.items()}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Space:
        """Rebuild a space from :meth:`to_dict` output, naming the parameter on any error."""
        if not isinstance(data, Mapping):
            raise SpaceError(f"a space dict must map names to dimension dicts, got {data!r}")
        dims = {}
        for name, spec in data.items():
            try:
                dims[name] = dimension_from_dict(spec)
            except SpaceError as exc:
                raise SpaceError(f"parameter {name!r}: {exc}") from exc
        return cls(dims)

    def to_json(self) -> str:
        """:meth:`to_dict` as a JSON string, parameters in the space's order (which sets a grid's
        order and what a seed samples)."""
        return json.dumps(self.to_dict())

    @classmethod
    def from_json(cls, text: str) -> Space:
        """Inverse of :meth:`to_json`."""
        return cls.from_dict(json.loads(text))


def _type_hint(dim: Dimension, value: Any) -> str:
    """What to do about a number of the right kind but not the declared Python type."""
    if isinstance(value, bool):
        return ""
    if type(dim) is Float and isinstance(value, numbers.Real) and type(value) is not float:
        return "; a Float takes a Python float: convert it with float(...)"
    if type(dim) is Int and isinstance(value, numbers.Integral) and type(value) is not int:
        return "; an Int takes a Python int: convert it with int(...)"
    return ""


def dimension_from_dict(spec: Mapping[str, Any]) -> Dimension:
    """Rebuild one dimension from its ``to_dict`` form."""
    if not isinstance(spec, Mapping) or spec.get("type") not in _KINDS:
        raise SpaceError(f"expected a dict with 'type' in {sorted(_KINDS)!r}, got {spec!r}")
    kind = spec["type"]
    required, optional = _KEYS[kind]
    missing = [key for key in required if key not in spec]
    unknown = sorted(set(spec) - {"type", *required, *optional})
    if missing or unknown:
        raise SpaceError(
            f"a {kind} dimension needs the keys {list(required)!r} and may have {list(optional)!r}; "
            f"missing {missing!r}, unknown {unknown!r}"
        )
    def option(key: str, default: Any) -> Any:  # JSON null stands for the default, as to_dict writes it
        value = spec.get(key)
        return default if value is None else value

    if kind == "float":
        return Float(spec["low"], spec["high"], log=option("log", False), step=spec.get("step"),
                     logit=option("logit", False))
    if kind == "int":
        return Int(spec["low"], spec["high"], log=option("log", False), step=option("step", 1))
    if kind == "constant":
        return Constant(spec["value"])
    choices, branches = spec["choices"], spec.get("branches")
    plain = Categorical(choices)  # the choices' own rules: a list of distinct plain values
    if branches is None:
        return plain
    if not isinstance(branches, list) or len(branches) != len(choices):
        raise SpaceError("'branches' must be a list with one entry (a space dict or null) per choice")
    mapping = {c: None if b is None else Space.from_dict(b) for c, b in zip(choices, branches)}
    if len(mapping) != len(choices):  # a dict would silently merge them, and drop a branch
        raise SpaceError(
            f"choices with branches must be distinct dict keys (1, 1.0 and True are one key), "
            f"got {choices!r}"
        )
    return Categorical(mapping)


_KEYS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "float": (("low", "high"), ("log", "step", "logit")),
    "int": (("low", "high"), ("log", "step")),
    "constant": (("value",), ()),
    "categorical": (("choices",), ("branches",)),
}


def _as_dimension(name: str, dim: Any) -> Dimension:
    if isinstance(dim, Dimension):
        return dim
    if is_json_scalar(dim):
        return Constant(dim)
    if isinstance(dim, (list, tuple, set)):
        raise SpaceError(
            f"parameter {name!r}: got the {type(dim).__name__} {dim!r}; write Categorical({list(dim)!r}) "
            f"to choose among its values, or Constant({list(dim)!r}) to pass it unchanged"
        )
    raise SpaceError(
        f"parameter {name!r}: expected a Float, Int, Categorical, Constant or a plain constant value, "
        f"got {dim!r} of type {type(dim).__name__}"
    )


def _collect_names(space: Space) -> tuple[str, ...]:
    where: dict[str, str] = {}
    for name, _dim, condition in space.walk():
        path = "/".join(f"{p}={c!r}" for p, c in condition)
        here = f"{path}/{name}" if path else name
        if name in where:
            raise SpaceError(
                f"parameter name {name!r} is defined twice (at {where[name]!r} and at {here!r}); "
                "names must be unique across all branches"
            )
        where[name] = here
    return tuple(where)


def _dimension_size(dim: Dimension, size_of: Callable[[Dimension], int | None]) -> int | None:
    """Configurations a dimension contributes, counting the branches it activates."""
    if type(dim) is not Categorical or not dim.is_conditional:
        return size_of(dim)
    total = 0
    for branch in dim.branches:
        if branch is None:
            total += 1
            continue
        sub = 1
        for child in branch.values():
            child_size = _dimension_size(child, size_of)
            if child_size is None:
                return None
            sub *= child_size
        total += sub
    return total
