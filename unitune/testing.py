"""Conformance suite: checks any backend (native, adapter or third party) can run on itself.

With pytest::

    import pytest
    from unitune.testing import backend_checks

    @pytest.mark.parametrize("check", backend_checks(), ids=lambda c: c.__name__)
    def test_conformance(check):
        check("random")          # a registered name, a Backend subclass, or a factory

Or all at once: ``check_backend("optuna.tpe")``. A failed check raises AssertionError saying
what went wrong.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from unitune.backend import Backend
from unitune.errors import CapabilityError, SearchExhausted
from unitune.registry import make_backend
from unitune.space import Categorical, Constant, Float, Int, Space
from unitune.trial import Direction, Trial, TrialState

__all__ = ["STANDARD_SPACES", "backend_checks", "check_backend", "check_params"]

BackendSpec = str | type[Backend] | Callable[..., Backend]

#: Spaces every backend is checked on: mixed flat, scales and steps, and nested branches.
STANDARD_SPACES: Mapping[str, Space] = {
    "mixed": Space({
        "x": Float(-5.0, 5.0),
        "lr": Float(1e-5, 1e-1, log=True),
        "units": Int(1, 64, log=True),
        "depth": Int(2, 20, step=2),
        "frac": Float(0.0, 1.0, step=0.125),
        "kind": Categorical(["a", "b", "c"]),
        "flag": Categorical([True, False]),
        "const": Constant("fixed"),
    }),
    "conditional": Space({
        "x": Float(0.0, 1.0),
        "model": Categorical({
            "linear": {"alpha": Float(1e-4, 10.0, log=True)},
            "tree": {
                "depth": Int(1, 8),
                "split": Categorical({"best": None, "random": {"n_tries": Int(1, 5)}}),
            },
            "none": None,
        }),
    }),
}


def _factory(backend: BackendSpec) -> Callable[..., Backend]:
    if isinstance(backend, str) or (isinstance(backend, type) and issubclass(backend, Backend)):
        def build(space, seed=None, directions=(Direction.MINIMIZE,)):
            return make_backend(backend, space, seed=seed, directions=directions)
        return build
    if callable(backend):
        return backend
    raise TypeError(f"expected a backend name, Backend subclass or factory, got {backend!r}")


def check_params(space: Space, params: Any, where: str) -> None:
    """Fail unless ``params`` is a plain dict that the space contains, with plain Python types."""
    if type(params) is not dict:
        raise AssertionError(f"{where}: ask must return plain dicts, got {type(params).__name__}")
    if not space.contains(params):
        try:
            space.validate(params)
        except Exception as exc:
            raise AssertionError(f"{where}: proposal {params!r} is not in the space: {exc}") from None
    for name, value in params.items():
        if type(value).__module__ == "numpy":
            raise AssertionError(f"{where}: parameter {name!r} is a numpy value {value!r}")


def _score(params: Mapping[str, Any]) -> float:
    """A deterministic objective over any standard space."""
    total = 0.0
    for name, value in sorted(params.items()):
        if isinstance(value, (bool, str)) or value is None:
            total += (len(str(value)) + len(name)) % 3
        elif isinstance(value, (int, float)):
            total += math.log1p(abs(float(value)))
    return total


def _drive(backend: Backend, space: Space, steps: int, where: str) -> list[dict[str, Any]]:
    proposals = []
    for number in range(steps):
        try:
            batch = backend.ask(1)
        except SearchExhausted:
            break
        if len(batch) != 1:
            raise AssertionError(f"{where}: ask(1) returned {len(batch)} proposals")
        params = batch[0]
        check_params(space, params, where)
        proposals.append(params)
        backend.tell(Trial.complete(number, params, _score(params)))
    return proposals


def check_samples_in_space(backend: BackendSpec) -> None:
    """Every proposal lies in the space, with exactly the active parameters, of plain types."""
    make = _factory(backend)
    for label, space in STANDARD_SPACES.items():
        _drive(make(space, seed=0), space, 14, f"space {label!r}")


def check_seed_reproducible(backend: BackendSpec) -> None:
    """The same seed, driven the same way, proposes the same configurations."""
    make = _factory(backend)
    space = STANDARD_SPACES["mixed"]
    first = _drive(make(space, seed=7), space, 12, "seed 7, first run")
    second = _drive(make(space, seed=7), space, 12, "seed 7, second run")
    if first != second:
        raise AssertionError(f"seed 7 proposed different configurations on two runs: {first} vs {second}")


def check_seeds_differ(backend: BackendSpec) -> None:
    """Different seeds give different first proposals on a continuous space."""
    make = _factory(backend)
    space = Space({"x": Float(0.0, 1.0), "y": Float(-1.0, 1.0)})
    first = make(space, seed=1)
    if not first.capabilities_of(first.algorithm).seeded:
        return
    a = _drive(first, space, 3, "seed 1")
    b = _drive(make(space, seed=2), space, 3, "seed 2")
    if a == b:
        raise AssertionError(f"seeds 1 and 2 proposed the same configurations: {a}")


def check_tell_foreign(backend: BackendSpec) -> None:
    """Trials the backend never proposed (replayed history) are accepted before and after asks."""
    make = _factory(backend)
    for label, space in STANDARD_SPACES.items():
        instance = make(space, seed=3)
        number = 0
        for i in range(6):
            params = space.sample(seed=100 + i)
            instance.tell(Trial.complete(number, params, _score(params)))
            number += 1
        instance.tell(Trial.failed(number, space.sample(seed=99), "foreign failure"))
        number += 1
        [params] = instance.ask(1)
        check_params(space, params, f"space {label!r} after foreign trials")
        instance.tell(Trial.complete(number, params, _score(params)))
        foreign = space.sample(seed=200)
        instance.tell(Trial.complete(number + 1, foreign, _score(foreign)))
        [params] = instance.ask(1)
        check_params(space, params, f"space {label!r} after mixing own and foreign trials")


def check_failures_survivable(backend: BackendSpec) -> None:
    """FAILED and PRUNED trials are accepted and the backend keeps proposing."""
    make = _factory(backend)
    space = STANDARD_SPACES["mixed"]
    instance = make(space, seed=5)
    for number in range(12):
        [params] = instance.ask(1)
        check_params(space, params, f"trial {number} among failures")
        if number % 3 == 0:
            trial = Trial.failed(number, params, "objective raised")
        elif number % 3 == 1:
            trial = Trial(number=number, params=params, state=TrialState.PRUNED)
        else:
            trial = Trial.complete(number, params, _score(params))
        instance.tell(trial)


def check_batch_ask(backend: BackendSpec) -> None:
    """ask(n) returns n proposals in the space; telling them in any order works."""
    make = _factory(backend)
    for label, space in STANDARD_SPACES.items():
        instance = make(space, seed=11)
        number = 0
        for _ in range(3):
            batch = instance.ask(4)
            if len(batch) != 4:
                raise AssertionError(f"space {label!r}: ask(4) returned {len(batch)} proposals")
            for params in batch:
                check_params(space, params, f"space {label!r}, batch")
            for params in reversed(batch):
                instance.tell(Trial.complete(number, params, _score(params)))
                number += 1


def check_maximize(backend: BackendSpec) -> None:
    """A maximizing backend accepts and uses told values."""
    make = _factory(backend)
    space = STANDARD_SPACES["mixed"]
    _drive(make(space, seed=4, directions=(Direction.MAXIMIZE,)), space, 8, "maximize")


def check_multi_objective(backend: BackendSpec) -> None:
    """Multi-objective works if declared, else construction raises CapabilityError."""
    make = _factory(backend)
    space = Space({"x": Float(0.0, 1.0), "k": Categorical(["a", "b"])})
    directions = (Direction.MINIMIZE, Direction.MAXIMIZE)
    try:
        instance = make(space, seed=0, directions=directions)
    except CapabilityError:
        return
    for number in range(6):
        [params] = instance.ask(1)
        check_params(space, params, "multi-objective")
        instance.tell(Trial.complete(number, params, (params["x"], params["x"] ** 2)))


def backend_checks() -> list[Callable[[BackendSpec], None]]:
    """Every conformance check, each a function taking the backend (name, class or factory)."""
    return [
        check_samples_in_space,
        check_seed_reproducible,
        check_seeds_differ,
        check_tell_foreign,
        check_failures_survivable,
        check_batch_ask,
        check_maximize,
        check_multi_objective,
    ]


def check_backend(backend: BackendSpec, *, skip: Sequence[str] = ()) -> None:
    """Run every conformance check (minus those named in ``skip``); raise on the first failure."""
    for check in backend_checks():
        if check.__name__ not in skip:
            check(backend)
