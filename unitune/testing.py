"""Conformance suite: the contract every backend (native, adapter or third party) is held to.

The checks that apply to a backend are chosen from what it declares (its capabilities, whether
it has a codec or needs a heavy library), like scikit-learn's ``parametrize_with_checks``::

    from unitune.testing import parametrize_backend_checks

    @parametrize_backend_checks("mybackend", "mybackend.other")
    def test_conformance(backend, check):
        check(backend)

``backend`` is a registered name, a Backend subclass, or a factory
``factory(space, seed=None, directions=(...))`` (to pass options). Or all at once:
``check_backend("optuna.tpe")``. A failed check raises AssertionError saying what went wrong.
"""

from __future__ import annotations

import math
import random
import subprocess
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

from unitune.backend import Backend, Proposal
from unitune.errors import BackendError, CapabilityError, SearchExhausted
from unitune.registry import load_backend_class, make_backend, split_name
from unitune.space import Categorical, Constant, Float, Int, Space
from unitune.trial import Direction, Trial, TrialState

__all__ = [
    "OBJECTIVE_OUTCOMES",
    "STANDARD_SPACES",
    "ask_one",
    "backend_checks",
    "check_backend",
    "check_params",
    "iter_backend_checks",
    "parametrize_backend_checks",
]

BackendSpec = str | type[Backend] | Callable[..., Backend]
Check = Callable[[BackendSpec], None]

#: Spaces every backend is checked on: mixed flat, scales and steps, and nested branches.
STANDARD_SPACES: Mapping[str, Space] = {
    "mixed": Space({
        "x": Float(-5.0, 5.0),
        "lr": Float(1e-5, 1e-1, log=True),
        "units": Int(1, 64, log=True),
        "depth": Int(2, 20, step=2),
        "frac": Float(0.0, 1.0, step=0.125),
        "rate": Float(0.01, 0.99, logit=True),
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
_BOWL = Space({"x": Float(0.0, 1.0), "y": Float(-1.0, 1.0)})


def _factory(backend: BackendSpec) -> Callable[..., Backend]:
    if isinstance(backend, str) or (isinstance(backend, type) and issubclass(backend, Backend)):
        def build(space, seed=None, directions=(Direction.MINIMIZE,)):
            return make_backend(backend, space, seed=seed, directions=directions)
        return build
    if callable(backend):
        return backend
    raise TypeError(f"expected a backend name, Backend subclass or factory, got {backend!r}")


def _declared(backend: BackendSpec) -> tuple[type[Backend], str]:
    """The backend class and algorithm (a factory is built once on a tiny space to find out)."""
    if isinstance(backend, str):
        family, algorithm = split_name(backend)
        cls = load_backend_class(family)
        return cls, algorithm or cls.default_algorithm()
    if isinstance(backend, type):
        return backend, backend.default_algorithm()
    instance = backend(_BOWL, seed=0)
    return type(instance), instance.algorithm


def _seeded(backend: BackendSpec) -> bool:
    cls, algorithm = _declared(backend)
    return cls.capabilities_of(algorithm).seeded


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


def _failed(where: str, call: str, exc: Exception) -> AssertionError:
    """The check's failure for a backend call that raised: what was called, where, and what it
    raised (raise it ``from`` the backend's own error)."""
    return AssertionError(f"{where}: {call} raised {type(exc).__name__}: {exc}")


def _ask(backend: Backend, numbers: Sequence[int], where: str) -> list[Proposal]:
    """``backend.ask(numbers)``; SearchExhausted passes, any other error fails the check."""
    try:
        return backend.ask(numbers)
    except SearchExhausted:
        raise
    except Exception as exc:
        raise _failed(where, f"ask({list(numbers)})", exc) from exc


def _tell(backend: Backend, trial: Trial, where: str) -> None:
    """``backend.tell(trial)``; an error fails the check, naming the trial."""
    try:
        backend.tell(trial)
    except Exception as exc:
        raise _failed(where, f"tell({trial.state.value} trial {trial.number})", exc) from exc


def _replay(backend: Backend, trials: Sequence[Trial], where: str) -> None:
    """``backend.replay(trials)``; an error fails the check, naming the trials."""
    try:
        backend.replay(trials)
    except Exception as exc:
        raise _failed(where, f"replay(trials {[t.number for t in trials]})", exc) from exc


def _optimize(study: Any, objective: Callable[..., Any], where: str, **options: Any) -> None:
    """``study.optimize(objective, **options)``; an error out of it fails the check (a backend
    that raises inside the study's loop, say)."""
    try:
        study.optimize(objective, show_progress=False, **options)
    except Exception as exc:
        raise _failed(where, f"optimize(n_trials={options.get('n_trials')})", exc) from exc


def ask_one(backend: Backend, number: int, space: Space, where: str) -> dict[str, Any]:
    """Ask for trial ``number`` alone; check the proposal carries that number and fits the space."""
    batch = _ask(backend, [number], where)
    if len(batch) != 1:
        raise AssertionError(f"{where}: ask([{number}]) returned {len(batch)} proposals")
    proposal = batch[0]
    if not isinstance(proposal, Proposal) or proposal.number != number:
        raise AssertionError(f"{where}: ask([{number}]) returned {proposal!r}, not a Proposal for it")
    check_params(space, proposal.params, where)
    return proposal.params


def _drive(backend: Backend, space: Space, steps: int, where: str, start: int = 0,
           score: Callable[[Mapping[str, Any]], float] = _score) -> list[dict[str, Any]]:
    proposals = []
    for number in range(start, start + steps):
        try:
            params = ask_one(backend, number, space, where)
        except SearchExhausted:
            break
        proposals.append(params)
        _tell(backend, Trial.complete(number, params, score(params)), where)
    return proposals


def _key(params: Mapping[str, Any]) -> tuple:
    return tuple(sorted((k, repr(v)) for k, v in params.items()))


# The checks.
def check_light_import(backend: BackendSpec) -> None:
    """Loading and listing the backend imports none of the modules it ``requires`` (only
    building one does)."""
    cls, _ = _declared(backend)
    heavy = list(cls.requires)
    code = (
        "import sys, importlib\n"
        f"module = importlib.import_module({cls.__module__!r})\n"
        "from unitune.registry import list_backends\n"
        "list_backends()\n"
        f"print([m for m in {heavy!r} if m in sys.modules])\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    if out.stdout.strip() != "[]":
        raise AssertionError(f"importing {cls.__module__} and listing backends imported {out.stdout.strip()}")


def check_samples_in_space(backend: BackendSpec) -> None:
    """Every proposal lies in the space, with exactly the active parameters, of plain types."""
    make = _factory(backend)
    for label, space in STANDARD_SPACES.items():
        if not _drive(make(space, seed=0), space, 14, f"space {label!r}"):
            raise AssertionError(
                f"space {label!r}: the backend raised SearchExhausted at its first ask, so no "
                "proposal could be checked; a space with something to search has proposals"
            )


def check_seed_reproducible(backend: BackendSpec) -> None:
    """The same seed, driven the same way, proposes the same configurations."""
    if not _seeded(backend):
        return
    make = _factory(backend)
    space = STANDARD_SPACES["mixed"]
    first = _drive(make(space, seed=7), space, 12, "seed 7, first run")
    second = _drive(make(space, seed=7), space, 12, "seed 7, second run")
    if first != second:
        raise AssertionError(f"seed 7 proposed different configurations on two runs: {first} vs {second}")


def check_seeds_differ(backend: BackendSpec) -> None:
    """Different seeds give different first proposals on a continuous space."""
    if not _seeded(backend):
        return
    make = _factory(backend)
    a = _drive(make(_BOWL, seed=1), _BOWL, 3, "seed 1")
    b = _drive(make(_BOWL, seed=2), _BOWL, 3, "seed 2")
    if a == b:
        raise AssertionError(f"seeds 1 and 2 proposed the same configurations: {a}")


def check_replay(backend: BackendSpec) -> None:
    """Trials the backend never proposed (history) are replayed before and after asks."""
    make = _factory(backend)
    for label, space in STANDARD_SPACES.items():
        instance = make(space, seed=3)
        history = [Trial.complete(i, p, _score(p)) for i, p in
                   enumerate(space.sample(seed=100 + i) for i in range(6))]
        history.append(Trial.failed(6, space.sample(seed=99), "foreign failure"))
        where = f"space {label!r}"
        _replay(instance, history, where)
        params = ask_one(instance, 7, space, f"{where} after replayed trials")
        _tell(instance, Trial.complete(7, params, _score(params)), where)
        foreign = space.sample(seed=200)
        _replay(instance, [Trial.complete(8, foreign, _score(foreign))], where)
        ask_one(instance, 9, space, f"space {label!r} after mixing own and replayed trials")


def check_no_repeats_after_restart(backend: BackendSpec) -> None:
    """A backend rebuilt with the same seed from a first run's history (a resumed study) does
    not propose that run's configurations again, and stays reproducible."""
    if not _seeded(backend):
        return
    make = _factory(backend)
    first = _drive(make(_BOWL, seed=5), _BOWL, 6, "first run")
    history = [Trial.complete(i, p, _score(p)) for i, p in enumerate(first)]
    runs = []
    for _ in range(2):
        resumed = make(_BOWL, seed=5)
        _replay(resumed, history, "resumed run")
        runs.append(_drive(resumed, _BOWL, 4, "resumed run", start=len(history)))
    seen = {_key(p) for p in first}
    repeated = [p for p in runs[0] if _key(p) in seen]
    if repeated:
        raise AssertionError(f"after a restart with the same seed the backend proposed {repeated} again")
    if runs[0] != runs[1]:
        raise AssertionError(f"two identical restarts proposed differently: {runs[0]} vs {runs[1]}")


def check_failures_survivable(backend: BackendSpec) -> None:
    """FAILED, PRUNED and INTERRUPTED trials are accepted and the backend keeps proposing."""
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
        _tell(instance, trial, "among failures")


def check_batch_ask(backend: BackendSpec) -> None:
    """ask(numbers) returns one proposal per number, in order; telling them in any order works."""
    make = _factory(backend)
    for label, space in STANDARD_SPACES.items():
        instance = make(space, seed=11)
        for start in (0, 4, 8):
            numbers = list(range(start, start + 4))
            batch = _ask(instance, numbers, f"space {label!r}")
            if [p.number for p in batch] != numbers:
                raise AssertionError(
                    f"space {label!r}: ask({numbers}) returned proposals for {[p.number for p in batch]}"
                )
            for proposal in batch:
                check_params(space, proposal.params, f"space {label!r}, batch")
            for proposal in reversed(batch):
                _tell(instance, Trial.complete(proposal.number, proposal.params, _score(proposal.params)),
                      f"space {label!r}, batch told in reverse")


def check_maximize(backend: BackendSpec, n_trials: int = 24) -> None:
    """Told values are used with the right sign: maximizing ``-f`` proposes exactly what
    minimizing ``f`` proposes (same seed), and a backend whose proposals depend on the values
    at all proposes differently when it minimizes ``-f``."""
    make = _factory(backend)

    def bowl(p: Mapping[str, Any]) -> float:
        return (p["x"] - 0.2) ** 2 + (p["y"] - 0.7) ** 2

    def run(direction: Direction, sign: float) -> list[dict[str, Any]]:
        instance = make(_BOWL, seed=4, directions=(direction,))
        return _drive(instance, _BOWL, n_trials, f"{direction.value}", score=lambda p: sign * bowl(p))

    minimized = run(Direction.MINIMIZE, 1.0)
    maximized = run(Direction.MAXIMIZE, -1.0)
    if minimized != maximized:
        at = next(i for i, (a, b) in enumerate(zip(minimized, maximized)) if a != b)
        raise AssertionError(
            f"maximizing -f diverged from minimizing f at trial {at}: {maximized[at]} vs "
            f"{minimized[at]}; maximized values are not negated (or not negated only) where needed"
        )
    upside_down = run(Direction.MINIMIZE, -1.0)
    # When the values matter at all, the same holds on the problem turned upside down.
    if upside_down != minimized and run(Direction.MAXIMIZE, 1.0) != upside_down:
        raise AssertionError("maximizing f did not propose what minimizing -f did")


def check_multi_objective(backend: BackendSpec) -> None:
    """Multi-objective works if declared, else construction raises CapabilityError."""
    make = _factory(backend)
    cls, algorithm = _declared(backend)
    space = Space({"x": Float(0.0, 1.0), "k": Categorical(["a", "b"])})
    directions = (Direction.MINIMIZE, Direction.MAXIMIZE)
    try:
        instance = make(space, seed=0, directions=directions)
    except CapabilityError:
        if cls.capabilities_of(algorithm).multi_objective:
            raise AssertionError(
                f"{cls.__name__}.{algorithm} declares multi-objective but refused it"
            ) from None
        return
    if not cls.capabilities_of(algorithm).multi_objective:
        raise AssertionError(f"{cls.__name__}.{algorithm} is single-objective but accepted two directions")
    for number in range(6):
        params = ask_one(instance, number, space, "multi-objective")
        _tell(instance, Trial.complete(number, params, (params["x"], params["x"] ** 2)), "multi-objective")


def _same(a: Mapping[str, Any], b: Mapping[str, Any]) -> bool:
    """Equal keys, types and values; floats up to round-off (a logit scale's expit(logit(x)))."""
    if list(a) != list(b) or [type(v) for v in a.values()] != [type(v) for v in b.values()]:
        return False
    return all(math.isclose(a[k], b[k], rel_tol=1e-12) if type(b[k]) is float else a[k] == b[k] for k in b)


def check_codec_round_trip(backend: BackendSpec) -> None:
    """The backend's codec turns any configuration into a native point and back unchanged (floats
    up to round-off), and its conversion report names every parameter of the space, in order."""
    make = _factory(backend)
    for label, space in STANDARD_SPACES.items():
        codec = make(space, seed=0).codec
        for seed in range(25):
            params = space.sample(seed=seed)
            back = codec.round_trip(params)
            if not _same(back, params):
                raise AssertionError(f"space {label!r}: codec round trip turned {params} into {back}")
        names = [c.param for c in codec.report()]
        if names != [name for name, _, _ in space.walk()]:
            raise AssertionError(f"space {label!r}: the conversion report names {names}")


def check_constants_only(backend: BackendSpec) -> None:
    """A space with nothing to search: its one configuration is proposed once, then
    SearchExhausted (also after it was replayed), and ``exhaustible`` is True."""
    make = _factory(backend)
    space = Space({"c": Constant([1, 2]), "only": Categorical(["solo"])})
    expected = {"c": [1, 2], "only": "solo"}
    instance = make(space, seed=0)
    if not instance.exhaustible:
        raise AssertionError("exhaustible is False on a space with a single configuration")
    batch = _ask(instance, [0, 1, 2], "single configuration")
    if [(p.number, p.params) for p in batch] != [(0, expected)]:
        raise AssertionError(f"ask([0, 1, 2]) on a single configuration returned {batch}")
    _tell(instance, Trial.complete(0, expected, 1.0), "single configuration")
    for attempt in (instance, make(space, seed=0)):
        if attempt is not instance:
            _replay(attempt, [Trial.complete(0, expected, 1.0)], "single configuration")
        try:
            again = _ask(attempt, [1], "single configuration, asked again")
        except SearchExhausted:
            continue
        raise AssertionError(f"the single configuration was proposed again: {again}")


def check_exhaustible_honest(backend: BackendSpec) -> None:
    """A backend that says ``exhaustible`` on a finite space raises SearchExhausted within a
    bounded number of asks, without repeating a configuration before that."""
    make = _factory(backend)
    space = Space({"k": Int(0, 2), "c": Categorical(["a", "b"])})  # 6 configurations
    instance = make(space, seed=0)
    if not instance.exhaustible:
        return
    seen = []
    for number in range(60):
        try:
            params = ask_one(instance, number, space, "finite space")
        except SearchExhausted:
            if len({_key(p) for p in seen}) != len(seen):
                raise AssertionError(f"repeated configurations before exhaustion: {seen}") from None
            return
        seen.append(params)
        _tell(instance, Trial.complete(number, params, float(params["k"])), "finite space")
    raise AssertionError("exhaustible is True, yet 60 asks on a 6-configuration space never ran out")


def check_huge_values(backend: BackendSpec, n_trials: int = 6) -> None:
    """A huge finite value (1e200, -1e300, 1.7e308) told as COMPLETE leaves the backend usable:
    every later trial completes, and the next optimize works."""
    from unitune.study import Study

    make = _factory(backend)
    for huge in (1e200, -1e300, 1.7976931348623157e308):
        study = Study(_BOWL, make(_BOWL, seed=1), seed=1)

        def objective(params, trial, huge=huge):
            return huge if trial.number == 1 else (params["x"] - 0.3) ** 2

        _optimize(study, objective, f"after {huge!r}", n_trials=n_trials)
        _optimize(study, objective, f"after {huge!r}, the next optimize", n_trials=2)
        states = [t.state for t in study.trials]
        if states != [TrialState.COMPLETE] * (n_trials + 2):
            failures = [t.failure for t in study.trials if t.failure]
            raise AssertionError(f"after {huge!r}: states {states}, {failures}")
        if study.trials[1].value != huge:
            raise AssertionError(f"trial 1 recorded {study.trials[1].value}, not {huge!r}")


class _Raise:
    def __init__(self, exc: BaseException):
        self.exc = exc

    def __repr__(self) -> str:
        return f"raise {self.exc!r}"


#: What an objective may do: return anything, or raise anything.
OBJECTIVE_OUTCOMES: tuple[Any, ...] = (
    0.5, None, "text", float("nan"), float("inf"), float("-inf"), 10**400, 1e200, -1e300,
    1.7976931348623157e308, {"value": 1.0}, {"other": 2.0}, [1.0], object(),
    _Raise(ValueError("bad")), _Raise(SystemExit(3)), _Raise(KeyboardInterrupt()),
    _Raise(MemoryError("fake")),
)


def check_survives_every_outcome(backend: BackendSpec, rounds: int = 2) -> None:
    """Whatever the objective does (returns anything, raises anything including SystemExit and
    KeyboardInterrupt, returns huge finite values), every asked trial ends recorded exactly once
    in a finished state, the backend holds no pending trial, and the next optimize works."""
    from unitune.study import Study

    make = _factory(backend)
    for round_ in range(rounds):
        outcomes = list(OBJECTIVE_OUTCOMES)
        random.Random(round_).shuffle(outcomes)
        study = Study(_BOWL, make(_BOWL, seed=round_), seed=round_)
        for batch_size, outcome in zip([1, 2, 3] * len(outcomes), outcomes):
            def objective(params, outcome=outcome):
                if isinstance(outcome, _Raise):
                    raise outcome.exc
                return outcome

            before = len(study.trials)
            _optimize(study, objective, f"objective doing {outcome!r}", n_trials=batch_size,
                      batch_size=batch_size)
            _check_recorded(study, f"objective doing {outcome!r}", before)
            _check_outcome(study.trials[before], outcome)
        _optimize(study, lambda p: p["x"], "the next optimize after every outcome", n_trials=3)
        last = study.trials[-3:]
        if [t.state for t in last] != [TrialState.COMPLETE] * 3 or [t.value for t in last] != [
                t.params["x"] for t in last]:
            raise AssertionError(f"the next optimize after every outcome did not work: {last}")
        _check_recorded(study, "the end", 0)


def _check_outcome(trial: Trial, outcome: Any) -> None:
    """The first trial of a round records what its objective did (so the check tests that)."""
    from unitune.errors import ObjectiveResultError
    from unitune.objective import ResultSpec, interpret

    if isinstance(outcome, _Raise):
        expected = TrialState.INTERRUPTED if isinstance(outcome.exc, KeyboardInterrupt) else TrialState.FAILED
        named = expected is TrialState.INTERRUPTED or type(outcome.exc).__name__ in (trial.failure or "")
        if trial.state is not expected or not named:
            raise AssertionError(f"objective doing {outcome!r}: trial {trial.number} recorded "
                                 f"{trial.state.value} ({trial.failure!r})")
        return
    try:
        values: tuple[float, ...] | None = interpret(outcome, ResultSpec(metrics=None))[0]
    except ObjectiveResultError:
        values = None
    if (trial.state is TrialState.COMPLETE) != (values is not None) or (
            values is not None and tuple(trial.values) != values):
        raise AssertionError(f"objective returning {outcome!r}: trial {trial.number} recorded "
                             f"{trial.state.value} {trial.values} ({trial.failure!r})")


def _check_recorded(study: Any, where: str, before: int) -> None:
    trials = study.trials
    numbers = [t.number for t in trials]
    if numbers != list(range(len(trials))) or len(trials) <= before:
        raise AssertionError(f"{where}: trials recorded as numbers {numbers[before:]}")
    for trial in trials:
        if not trial.state.is_finished:
            raise AssertionError(f"{where}: trial {trial.number} is left {trial.state.value}")
        if trial.state is TrialState.COMPLETE and not all(math.isfinite(v) for v in trial.values):
            raise AssertionError(f"{where}: trial {trial.number} is COMPLETE with {trial.values}")
    pending = getattr(study.backend, "pending", None)
    if pending is not None and len(pending):
        raise AssertionError(f"{where}: the backend still holds {len(pending)} pending trial(s)")
    for trial in trials[before:]:
        try:
            study.backend.tell(trial)
        except BackendError:
            continue  # not pending any more: the backend refuses to hear it twice
        except Exception as exc:
            raise _failed(where, f"tell(trial {trial.number}) a second time (expected a BackendError)",
                          exc) from exc
        if pending is not None:
            raise AssertionError(f"{where}: the backend accepted trial {trial.number} a second time")


# Selection.
_ALWAYS: tuple[Check, ...] = (
    check_samples_in_space, check_replay, check_failures_survivable, check_batch_ask,
    check_maximize, check_multi_objective, check_constants_only, check_exhaustible_honest,
    check_huge_values, check_survives_every_outcome,
)
_SEEDED: tuple[Check, ...] = (check_seed_reproducible, check_seeds_differ, check_no_repeats_after_restart)


def backend_checks(backend: BackendSpec | None = None) -> list[Check]:
    """The checks that apply to ``backend``, chosen from its declarations (every check when
    ``backend`` is None): the seeded checks only for a seeded algorithm, the codec round trip
    only for a backend with a ``codec_class``, the light-import check only for one that
    ``requires`` a library."""
    if backend is None:  # what applies to any backend (the seeded checks skip unseeded ones)
        return [*_ALWAYS, *_SEEDED]
    cls, algorithm = _declared(backend)
    checks: list[Check] = [check_light_import] if cls.requires else []
    checks += _ALWAYS
    if cls.capabilities_of(algorithm).seeded:
        checks += _SEEDED
    if getattr(cls, "codec_class", None) is not None:
        checks.append(check_codec_round_trip)
    return checks


def _label(backend: BackendSpec) -> str:
    if isinstance(backend, str):
        return backend
    return getattr(backend, "__name__", None) or repr(backend)


def iter_backend_checks(*backends: BackendSpec) -> Iterator[tuple[BackendSpec, Check]]:
    """Every (backend, check) pair that applies."""
    for backend in backends:
        for check in backend_checks(backend):
            yield backend, check


def parametrize_backend_checks(*backends: BackendSpec, marks: Mapping[str, Sequence[Any]] = {}) -> Any:
    """A ``pytest.mark.parametrize("backend, check", ...)`` over the applicable checks of each
    backend, with ids ``<backend>-<check>``. ``marks`` maps a backend label, or
    ``"<backend>::<check>"``, to pytest marks."""
    import pytest

    params = [
        pytest.param(backend, check, id=f"{_label(backend)}-{check.__name__}",
                     marks=[*marks.get(_label(backend), ()),
                            *marks.get(f"{_label(backend)}::{check.__name__}", ())])
        for backend, check in iter_backend_checks(*backends)
    ]
    return pytest.mark.parametrize(("backend", "check"), params)


def check_backend(backend: BackendSpec, *, skip: Sequence[str] = ()) -> None:
    """Run every applicable check (minus those named in ``skip``); raise on the first failure."""
    for check in backend_checks(backend):
        if check.__name__ not in skip:
            check(backend)
