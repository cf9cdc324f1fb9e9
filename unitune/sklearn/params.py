"""Turn what a scikit-learn user writes into a unitune space, and proposals back into parameters.

Three spellings are accepted, and may be mixed inside one dict:

- unitune dimensions (``Float``, ``Int``, ``Categorical`` with branches, ...) or a whole
  :class:`~unitune.Space`;
- a ``param_grid`` value: a list, tuple or array of candidate values, any Python objects
  (estimators, tuples such as ``hidden_layer_sizes=(64,)``, ``None``, numpy scalars);
- a ``param_distributions`` value: a frozen ``scipy.stats`` distribution.

A list of dicts (``GridSearchCV``'s "list of grids") becomes one conditional choice, ``_grid``,
whose branches are the dicts, in order, so a grid search walks them in scikit-learn's order.
Keys of every plain dict are sorted, as :class:`sklearn.model_selection.ParameterGrid` does.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from unitune.errors import SpaceError
from unitune.space import Categorical, Constant, Dimension, Float, Int, Space
from unitune.space.dimensions import is_json_scalar

__all__ = ["GRID_KEY", "ParamSpace", "to_param_space"]

#: Name of the choice among the dicts of a list of grids.
GRID_KEY = "_grid"
_QUANTILE_EDGE = 1e-12


@dataclass(frozen=True)
class _Choices:
    """A categorical over arbitrary objects: the space holds labels, decoding gives the objects."""

    dim: Categorical
    values: tuple[Any, ...]

    def decode(self, label: Any) -> Any:
        return self.values[self.dim.index(label)]


@dataclass(frozen=True)
class _Quantile:
    """A scipy distribution searched through its quantile ``u`` in [0, 1]: value = ppf(u)."""

    dist: Any
    discrete: bool

    def decode(self, u: float) -> Any:
        q = min(max(float(u), _QUANTILE_EDGE), 1.0 - _QUANTILE_EDGE)
        value = float(self.dist.ppf(q))
        return int(value) if self.discrete else value


@dataclass(frozen=True)
class ParamSpace:
    """A unitune :class:`Space` plus how to turn its proposals into estimator parameters.

    ``kind`` is ``"grid"`` when every entry is a finite list of values (what ``GridSearchCV``
    takes), ``"distributions"`` when some entry is a scipy distribution, and ``"space"`` when
    some entry is a unitune dimension.
    """

    space: Space
    kind: str
    decoders: Mapping[str, Any] = field(default_factory=dict)
    prefixes: Mapping[str, str] = field(default_factory=dict)

    def decode(self, params: Mapping[str, Any]) -> dict[str, Any]:
        """The estimator parameters (``set_params`` names and values) of one proposal."""
        out: dict[str, Any] = {}
        for name, value in params.items():
            if name == GRID_KEY and self.prefixes:
                continue
            decoder = self.decoders.get(name)
            key = name[len(self.prefixes[name]):] if name in self.prefixes else name
            out[key] = value if decoder is None else decoder.decode(value)
        return out


def to_param_space(spec: Space | Mapping[str, Any] | Sequence[Mapping[str, Any]]) -> ParamSpace:
    """Read a unitune space, a ``param_grid`` or ``param_distributions`` (dict or list of dicts).

    >>> ps = to_param_space({"C": [0.1, 1.0], "kernel": ["rbf"]})
    >>> ps.kind, len(ps.space.grid())
    ('grid', 2)
    >>> ps.decode({"C": 1.0, "kernel": "rbf"})
    {'C': 1.0, 'kernel': 'rbf'}
    """
    if isinstance(spec, Space):
        return ParamSpace(spec, "space")
    if isinstance(spec, Mapping):
        dims, decoders, kinds = _read_dict(spec, prefix="")
        return ParamSpace(Space(dims), _kind(kinds), decoders)
    if isinstance(spec, Sequence) and not isinstance(spec, (str, bytes)):
        grids = list(spec)
        if not grids or not all(isinstance(g, Mapping) for g in grids):
            raise SpaceError(
                f"a list of parameter grids must hold at least one dict, got {spec!r}"
            )
        if len(grids) == 1:
            return to_param_space(grids[0])
        branches: dict[int, Any] = {}
        decoders: dict[str, Any] = {}
        prefixes: dict[str, str] = {}
        kinds: set[str] = set()
        for i, grid in enumerate(grids):
            prefix = f"{i}:"
            dims, sub_decoders, sub_kinds = _read_dict(grid, prefix=prefix)
            branches[i] = dims or None
            decoders.update(sub_decoders)
            prefixes.update(dict.fromkeys(dims, prefix))
            kinds |= sub_kinds
        space = Space({GRID_KEY: Categorical(branches)})
        return ParamSpace(space, _kind(kinds), decoders, prefixes)
    raise SpaceError(
        "the search space must be a unitune Space, a dict of parameter name -> values / "
        f"distribution / dimension, or a list of such dicts; got {spec!r} of type {type(spec).__name__}"
    )


def _kind(kinds: set[str]) -> str:
    if "space" in kinds:
        return "space"
    if "distributions" in kinds:
        return "distributions"
    return "grid"


def _read_dict(spec: Mapping[str, Any], prefix: str) -> tuple[dict[str, Dimension], dict[str, Any], set[str]]:
    dims: dict[str, Dimension] = {}
    decoders: dict[str, Any] = {}
    kinds: set[str] = set()
    for key in sorted(spec, key=_sort_key):
        if not isinstance(key, str) or not key:
            raise SpaceError(f"parameter names must be non-empty strings, got {key!r}")
        value = spec[key]
        name = prefix + key
        if isinstance(value, Dimension):
            if isinstance(value, Categorical) and value.is_conditional and prefix:
                raise SpaceError(
                    f"parameter {key!r}: a conditional Categorical cannot sit inside a list of "
                    "grids; write one unitune Space with the branches instead"
                )
            dims[name] = value
            kinds.add("space")
        elif hasattr(value, "rvs"):
            dims[name], decoder = _from_distribution(key, value)
            if decoder is not None:
                decoders[name] = decoder
            kinds.add("distributions")
        elif isinstance(value, (str, bytes)) or not _is_sequence(value):
            if not is_json_scalar(value):
                raise SpaceError(
                    f"parameter {key!r}: expected a list of values, a scipy.stats distribution or "
                    f"a unitune dimension, got {value!r} of type {type(value).__name__}"
                )
            dims[name] = Constant(value)
        else:
            dims[name], decoders[name] = _from_values(key, list(value))
            kinds.add("grid")
    return dims, decoders, kinds


def _sort_key(key: Any) -> tuple[str, str]:
    return (type(key).__name__, str(key))


def _is_sequence(value: Any) -> bool:
    if isinstance(value, Sequence):
        return True
    return hasattr(value, "__len__") and hasattr(value, "__getitem__") and hasattr(value, "ndim")


def _label(value: Any) -> Any:
    """A plain JSON label for a candidate value (itself when possible)."""
    if is_json_scalar(value):
        return value
    item = getattr(value, "item", None)
    if callable(item) and getattr(value, "ndim", None) == 0:
        plain = item()
        if is_json_scalar(plain):
            return plain
    return repr(value)


def _from_values(key: str, values: list[Any]) -> tuple[Categorical, _Choices]:
    if not values:
        raise SpaceError(f"parameter {key!r}: the list of candidate values is empty")
    labels = [_label(v) for v in values]
    if len({(type(label), label) for label in labels}) < len(labels):  # type-aware: 1 is not True
        labels = list(range(len(values)))
    dim = Categorical(labels)
    return dim, _Choices(dim, tuple(values))


def _from_distribution(key: str, dist: Any) -> tuple[Dimension, _Quantile | None]:
    family = getattr(getattr(dist, "dist", None), "name", None)
    if family is None or not hasattr(dist, "ppf") or not hasattr(dist, "support"):
        raise SpaceError(
            f"parameter {key!r}: {dist!r} has rvs() but is not a frozen scipy.stats distribution "
            "(such as scipy.stats.uniform(0, 1) or loguniform(1e-4, 1)); unitune needs its ppf"
        )
    low, high = (float(b) for b in dist.support())
    plain_scale = not dist.kwds.get("loc") and dist.kwds.get("scale", 1) == 1
    if family == "uniform" and math.isfinite(low) and math.isfinite(high) and low < high:
        return Float(low, high), None
    if family in ("reciprocal", "loguniform") and plain_scale and 0 < low < high:
        return Float(low, high, log=True), None
    if family == "randint" and math.isfinite(high) and low < high:
        return Int(int(low), int(high)), None
    if family == "randint":
        return Constant(int(low)), None
    discrete = not hasattr(dist.dist, "pdf")
    return Float(0.0, 1.0), _Quantile(dist, discrete)


def as_seed(random_state: Any) -> int | None:
    """An int seed (or None) from scikit-learn's ``random_state`` conventions."""
    if random_state is None or isinstance(random_state, numbers.Integral):
        return None if random_state is None else int(random_state)
    randint = getattr(random_state, "randint", None)
    if callable(randint):
        return int(randint(0, 2**31 - 1))
    raise SpaceError(f"random_state must be None, an int or a numpy RandomState, got {random_state!r}")
