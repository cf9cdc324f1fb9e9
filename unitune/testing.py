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

from unitune.backend import Backend, Proposal
from unitune.errors import CapabilityError, SearchExhausted
from unitune.registry import make_backend
from unitune.space import Categorical, Constant, Float, Int, Space
from unitune.trial import Direction, Trial, TrialState

__all__ = ["STANDARD_SPACES", "ask_one", "backend_checks", "check_backend", "check_params"]

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


def ask_one(backend: Backend, number: int, space: Space, where: str) -> dict[str, Any]:
    """Ask for trial ``number`` alone; check the proposal carries that number and fits the space."""
    batch = backend.ask([number])
    if len(batch) != 1:
        raise AssertionError(f"{where}: ask([{number}]) returned {len(batch)} proposals")
    proposal = batch[0]
    if not isinstance(proposal, Proposal) or proposal.number != number:
        raise AssertionError(f"{where}: ask([{number}]) returned {proposal!r}, not a Proposal for it")
    check_params(space, proposal.params, where)
    return proposal.params


def _drive(backend: Backend, space: Space, steps: int, where: str, start: int = 0) -> list[dict[str, Any]]:
    proposals = []
    for number in range(start, start + steps):
        try:
            params = ask_one(backend, number, space, where)
        except SearchExhausted:
            break
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


def check_replay(backend: BackendSpec) -> None:
    """Trials the backend never proposed (history) are replayed before and after asks."""
    make = _factory(backend)
    for label, space in STANDARD_SPACES.items():
        instance = make(space, seed=3)
        history = [Trial.complete(i, space.sample(seed=100 + i), 0.0) for i in range(6)]
        history = [Trial.complete(t.number, t.params, _score(t.params)) for t in history]
        history.append(Trial.failed(6, space.sample(seed=99), "foreign failure"))
        instance.replay(history)
        params = ask_one(instance, 7, space, f"space {label!r} after replayed trials")
        instance.tell(Trial.complete(7, params, _score(params)))
        foreign = space.sample(seed=200)
        instance.replay([Trial.complete(8, foreign, _score(foreign))])
        ask_one(instance, 9, space, f"space {label!r} after mixing own and replayed trials")


def check_failures_survivable(backend: BackendSpec) -> None:
    """FAILED and PRUNED trials are accepted and the backend keeps proposing."""
    make = _factory(backend)
    space = STANDARD_SPACES["mixed"]
    instance = make(space, seed=5)
    for number in range(12):
        params = ask_one(instance, number, space, f"trial {number} among failures")
        if number % 4 == 3:
            trial = Trial(number=number, params=params, state=TrialState.INTERRUPTED)
        elif number % 3 == 0:
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
            numbers = list(range(number, number + 4))
            batch = instance.ask(numbers)
            if [p.number for p in batch] != numbers:
                raise AssertionError(
                    f"space {label!r}: ask({numbers}) returned proposals for {[p.number for p in batch]}"
                )
            for proposal in batch:
                check_params(space, proposal.params, f"space {label!r}, batch")
            for proposal in reversed(batch):
                instance.tell(Trial.complete(proposal.number, proposal.params, _score(proposal.params)))
            number += 4


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
        params = ask_one(instance, number, space, "multi-objective")
        instance.tell(Trial.complete(number, params, (params["x"], params["x"] ** 2)))


def backend_checks() -> list[Callable[[BackendSpec], None]]:
    """Every conformance check, each a function taking the backend (name, class or factory)."""
    return [
        check_samples_in_space,
        check_seed_reproducible,
        check_seeds_differ,
        check_replay,
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
