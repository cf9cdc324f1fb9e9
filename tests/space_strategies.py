"""Hypothesis strategies that build random search spaces (shared by core and adapter tests)."""

from __future__ import annotations

import math

from hypothesis import strategies as st

from unitune.space import Categorical, Constant, Float, Int, Space

__all__ = ["flat_spaces", "spaces"]

_names = st.text(alphabet="abcdefghijklmnopqrstuvwxyz_", min_size=1, max_size=6)
_scalar_choices = st.one_of(
    st.text(alphabet="abcdefgh", min_size=1, max_size=4),
    st.integers(-50, 50),
    st.floats(-100, 100, allow_nan=False, allow_infinity=False).map(lambda v: round(v, 3)),
    st.booleans(),
    st.none(),
)


@st.composite
def floats(draw) -> Float:
    log = draw(st.booleans())
    if log:
        low = 10 ** draw(st.integers(-6, 2))
        high = low * 10 ** draw(st.integers(1, 4))
        return Float(float(low), float(high), log=True)
    low = draw(st.integers(-1000, 1000)) / 10
    if draw(st.booleans()):
        step = draw(st.sampled_from([0.1, 0.25, 0.5, 1.0, 2.0]))
        n = draw(st.integers(1, 40))
        return Float(low, round(low + n * step, 10), step=step)
    width = draw(st.floats(1e-3, 1e4, allow_nan=False))
    high = low + width
    if not math.isfinite(high) or high <= low:
        high = low + 1.0
    return Float(low, high)


@st.composite
def ints(draw) -> Int:
    if draw(st.booleans()):
        low = draw(st.integers(1, 100))
        return Int(low, low + draw(st.integers(1, 10_000)), log=True)
    low = draw(st.integers(-500, 500))
    step = draw(st.integers(1, 5))
    return Int(low, low + step * draw(st.integers(1, 60)), step=step)


@st.composite
def categoricals(draw) -> Categorical:
    raw = draw(st.lists(_scalar_choices, min_size=1, max_size=5))
    unique = []
    for value in raw:
        if not any(type(value) is type(u) and value == u for u in unique):
            unique.append(value)
    return Categorical(unique)


def _leaf_dimensions():
    return st.one_of(floats(), ints(), categoricals(), _scalar_choices.map(Constant))


@st.composite
def _space_dict(draw, names: list[str], depth: int) -> dict:
    count = draw(st.integers(1, 4))
    out = {}
    for _ in range(count):
        name = draw(_names.filter(lambda n: n not in names))
        names.append(name)
        if depth > 0 and draw(st.integers(0, 3)) == 0:
            choices = draw(st.lists(st.text(alphabet="xyzw", min_size=1, max_size=3), min_size=1,
                                    max_size=3, unique=True))
            branches = {}
            for choice in choices:
                branches[choice] = draw(_space_dict(names, depth - 1)) if draw(st.booleans()) else None
            out[name] = Categorical(branches)
        else:
            out[name] = draw(_leaf_dimensions())
    return out


@st.composite
def spaces(draw, max_depth: int = 2) -> Space:
    """Random spaces with every dimension kind and conditional branches up to ``max_depth``."""
    return Space(draw(_space_dict([], max_depth)))


def flat_spaces() -> st.SearchStrategy[Space]:
    """Random spaces without conditional branches."""
    return spaces(max_depth=0)
