"""The adapter kit: what every backend that wraps an optimizer library shares.

- :func:`derive_seed`: a seed for a backend rebuilt from replayed history, distinct from the
  original run's, so a resumed study does not propose its first points again.
- :func:`library_errors`: the one place a library's exception becomes a :class:`BackendError`.
- :func:`minimizing_signs` / :func:`to_minimized`: the sign convention for libraries that only
  minimize, with :func:`model_value`, the safe transform of huge magnitudes every adapter
  applies before a value reaches a library's model.
- :class:`FixedConfiguration`: the one rule for a space with nothing to search.
- :class:`Codec`, :class:`Column`, :class:`FlatCodec`: space translations (defined in
  :mod:`unitune.codec`, importable from here).
- :class:`PendingTrials`: the backend's own running trials, keyed by trial number.
- :class:`WorstLoss`: the stand-in loss of a failed trial for libraries that cannot be told a
  failure (the worst loss seen; failures before any completion held back).
- :class:`KitBackend`: the template every adapter follows, written once (the constants-only
  rule, pending trials by number, INTERRUPTED trials forgotten, the first ask after replay):
  an adapter keeps only what its library needs.
"""

from __future__ import annotations

import abc
import math
from collections.abc import Sequence
from typing import Any, ClassVar, Generic, NoReturn, TypeVar

import numpy as np

from unitune.backend import Backend, Conversion, Proposal
from unitune.codec import Codec, Column, FlatCodec, describe_condition
from unitune.errors import BackendError, SearchExhausted, UnituneError
from unitune.space import Space
from unitune.trial import Direction, Trial, TrialState

__all__ = [
    "MODEL_LIMIT",
    "Codec",
    "Column",
    "FixedConfiguration",
    "FlatCodec",
    "KitBackend",
    "PendingTrials",
    "WorstLoss",
    "derive_seed",
    "describe_condition",
    "library_errors",
    "minimizing_signs",
    "model_value",
    "to_minimized",
]

#: Magnitudes above this are squashed by :func:`model_value` before reaching a library.
MODEL_LIMIT = 1e100

Native = TypeVar("Native")

#: Enum members read at every trial, as globals (why: unitune.trial).
_RUNNING, _INTERRUPTED = TrialState.RUNNING, TrialState.INTERRUPTED


def derive_seed(seed: int, *salt: int) -> int:
    """A deterministic 32-bit seed derived from ``seed`` and ``salt`` (e.g. the number of
    replayed trials): distinct for distinct salts, the same on every run."""
    return int(np.random.SeedSequence([int(seed), *(int(s) for s in salt)]).generate_state(1)[0])


class library_errors:  # used like a function: ``with library_errors(...):``
    """Translate any exception a library raises while ``action`` into a BackendError.

    unitune's own errors pass through unchanged; KeyboardInterrupt and SystemExit are not
    caught. ``raise BackendError(...) from exc`` keeps the library's traceback. (A class, not a
    generator: adapters enter it around every ask and tell. An instance keeps nothing between
    uses, so an adapter may build one per action once and enter it at every call.)
    """

    __slots__ = ("action", "backend")

    def __init__(self, backend: str, action: str):
        self.backend, self.action = backend, action

    def __enter__(self) -> None:
        return None

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> bool:
        if exc_type is None or not issubclass(exc_type, Exception) or issubclass(exc_type, UnituneError):
            return False
        self.reraise(exc)
        return False  # (never reached: reraise raises)

    def reraise(self, exc: Exception) -> NoReturn:
        """Raise what the block raises for ``exc``: ``exc`` itself when it is unitune's, else
        a BackendError naming the action, ``from exc``. For an adapter's per-trial path, in an
        ``except Exception as exc:`` of its own: entering the block costs two calls a trial.
        (Anything but an Exception, a KeyboardInterrupt say, is raised as it is, as by the block.)"""
        if isinstance(exc, UnituneError) or not isinstance(exc, Exception):
            raise exc
        raise BackendError(
            f"backend {self.backend!r} failed to {self.action}: {type(exc).__name__}: {exc}"
        ) from exc


def minimizing_signs(directions: Sequence[Direction]) -> tuple[float, ...]:
    """+1 for each minimized objective, -1 for each maximized one."""
    return tuple(-1.0 if d is Direction.MAXIMIZE else 1.0 for d in directions)


def model_value(value: float) -> float:
    """A finite objective value made safe for a library's model, order kept.

    Values with ``|v| <= MODEL_LIMIT`` (1e100) pass unchanged. Larger magnitudes are squashed
    monotonically, ``sign(v) * L * (1 + ln(|v| / L))``, so even 1.7e308 becomes about 4.8e102:
    a Gaussian process squares its targets, and a value of about 1.4e154 or more overflows to
    inf there and breaks scikit-optimize for good. Order is kept, so a larger loss still ranks
    worse; only the distances between huge values shrink.
    """
    if -MODEL_LIMIT <= value <= MODEL_LIMIT:
        return value
    return math.copysign(MODEL_LIMIT * (1.0 + math.log(abs(value) / MODEL_LIMIT)), value)


def to_minimized(values: Sequence[float], signs: Sequence[float]) -> tuple[float, ...]:
    """Objective values in the user's sign, turned into safe values to minimize
    (signs applied, then :func:`model_value`)."""
    if len(values) == 1:  # single-objective: every tell of most adapters, kept cheap
        return (model_value(signs[0] * values[0]),)
    return tuple(model_value(s * v) for s, v in zip(signs, values))


class PendingTrials(Generic[Native]):
    """A backend's own running trials: the native handle of each, by trial number."""

    def __init__(self, backend: str):
        self._backend = backend
        self._by_number: dict[int, Native] = {}

    def add(self, number: int, native: Native) -> None:
        """Remember the native handle proposed for trial ``number``."""
        if number in self._by_number:
            raise BackendError(f"backend {self._backend!r}: trial {number} was already proposed")
        self._by_number[number] = native

    def pop(self, number: int) -> Native:
        """The native handle of trial ``number``, forgotten; a clear error if it is not ours."""
        try:
            return self._by_number.pop(number)
        except KeyError:
            raise BackendError(
                f"backend {self._backend!r} never proposed trial {number} (or it was already told); "
                "trials from elsewhere go through replay()"
            ) from None

    def get(self, number: int) -> Native:
        """The native handle of running trial ``number`` (kept); a clear error if it is not ours."""
        try:
            return self._by_number[number]
        except KeyError:
            raise BackendError(f"backend {self._backend!r} has no running trial {number}") from None

    def __contains__(self, number: object) -> bool:
        return number in self._by_number

    def __len__(self) -> int:
        return len(self._by_number)

    def values(self) -> list[Native]:
        """The native handles of every running trial, in the order they were proposed."""
        return list(self._by_number.values())


class WorstLoss(Generic[Native]):
    """The loss a failed trial is told with, for libraries that cannot be told a failure.

    A FAILED or PRUNED trial (or one without a usable value) stands at the worst loss told so
    far among completed trials, so the library's model learns to avoid its region and never
    sees NaN or inf. Before any trial has completed there is no such loss: failures are held
    back (``held``: still pending for the library, e.g. for a constant liar) and told, at the
    worst loss, as soon as one completes. Each method returns what to tell the library now, as
    ``(native point, loss)`` pairs in order.
    """

    def __init__(self) -> None:
        self.worst: float | None = None
        self.held: list[Native] = []

    def completed(self, native: Native, loss: float) -> list[tuple[Native, float]]:
        """A completed trial: itself at ``loss``, then every held failure at the worst loss."""
        if self.worst is None or loss > self.worst:  # comparisons, not max(): on every tell
            self.worst = loss
        if not self.held:
            return [(native, loss)]
        held, self.held = self.held, []
        return [(native, loss), *((point, self.worst) for point in held)]

    def failed(self, native: Native) -> list[tuple[Native, float]]:
        """A failed trial: itself at the worst loss, or nothing yet (held until one completes)."""
        if self.worst is None:
            self.held.append(native)
            return []
        return [(native, self.worst)]


class FixedConfiguration:
    """A space with nothing to search (constants, single choices): the rule every backend follows.

    Its one configuration is proposed once, to the first trial number asked; any later ask
    raises SearchExhausted, and so does an ask after the configuration was replayed. A backend
    holding one says ``exhaustible`` is True.
    """

    def __init__(self, space: Space, backend: str):
        self.params = space.sample_by(lambda _name, dim: dim.choices[0])
        self._backend = backend
        self.used = False

    @staticmethod
    def applies(space: Space) -> bool:
        """True when ``space`` has nothing to search."""
        return all(Column.of(name, dim) is None for name, dim, _ in space.walk())

    def ask(self, numbers: Sequence[int]) -> list[Proposal]:
        """One proposal the first time, then SearchExhausted."""
        if not numbers:
            return []
        if self.used:
            raise SearchExhausted(
                f"backend {self._backend!r}: the space has a single configuration, already proposed"
            )
        self.used = True
        return [Proposal(numbers[0], dict(self.params))]

    def replay(self, trials: Sequence[Any]) -> None:
        """A replayed trial means the configuration was already tried."""
        if trials:
            self.used = True


class KitBackend(Backend):
    """The template of a backend that wraps an optimizer library, written once.

    It does what every adapter does the same way, and calls the adapter's hooks for the rest:

    - :meth:`setup` (call ``super().setup()`` first) sets ``fixed`` (a
      :class:`FixedConfiguration` when the space has nothing to search, else None), ``pending``
      (:class:`PendingTrials`), ``signs`` (:func:`minimizing_signs`), ``started`` (False until
      the first ask) and ``replayed`` (the number of trials replayed so far).
    - :meth:`ask`: the fixed configuration's rule; else :meth:`first_ask` once (e.g. reseed after
      replayed history with :func:`derive_seed`), then :meth:`propose`, which builds each
      proposal with :meth:`proposal` (the native handle is kept under the trial number).
    - :meth:`tell`: refuses an unfinished trial, takes the native handle of the trial's number
      out of ``pending`` (a clear error for a trial it never proposed), then :meth:`forget` for
      an INTERRUPTED trial or :meth:`learn`.
    - :meth:`replay`: leaves INTERRUPTED trials out, counts the rest, then :meth:`learn_replayed`
      (by default :meth:`learn` with no native handle, each in turn).
    - :meth:`start_seed`: the seed to build the library's random state with at the first ask.
    - ``exhaustible`` is True when the space has nothing to search; :meth:`conversion_report`
      is the ``codec``'s when the backend has one (set ``codec_class`` and ``self.codec``).
    """

    codec_class: ClassVar[type[Codec] | None] = None
    codec: Codec | None = None

    def setup(self) -> None:
        self.fixed = (
            FixedConfiguration(self.space, self.full_name) if FixedConfiguration.applies(self.space) else None
        )
        self.pending: PendingTrials[Any] = PendingTrials(self.full_name)
        self.signs = minimizing_signs(self.directions)
        self.started = False
        self.replayed = 0

    # The hooks.
    def first_ask(self) -> None:
        """Called once, before the first proposal (not on a space with nothing to search)."""

    @abc.abstractmethod
    def propose(self, numbers: Sequence[int]) -> list[Proposal]:
        """Propose for each trial number (as :meth:`Backend.ask`), through :meth:`proposal`."""

    @abc.abstractmethod
    def learn(self, trial: Trial, native: Any) -> None:
        """Learn one of the backend's own finished trials (never INTERRUPTED); ``native`` is
        what :meth:`proposal` kept for it."""

    def forget(self, trial: Trial, native: Any) -> None:
        """An own trial ended INTERRUPTED: it never ran (default: learn nothing)."""

    def learn_replayed(self, trials: Sequence[Trial]) -> None:
        """Learn finished trials the backend never proposed (none INTERRUPTED, never empty);
        by default ``learn(trial, None)`` for each, for a backend whose learn needs no handle."""
        for trial in trials:
            self.learn(trial, None)

    # The template.
    def start_seed(self) -> int | None:
        """The seed for the library's random state at the first ask: the study's ``seed``, or
        after replayed history (a resumed study) ``derive_seed(seed, replayed)``, so that a
        restart does not propose the first run's points again; None when unseeded."""
        if self.seed is None or not self.replayed:
            return self.seed
        return derive_seed(self.seed, self.replayed)

    def proposal(self, number: int, params: dict[str, Any], native: Any = None) -> Proposal:
        """The proposal for trial ``number``; ``native`` (the library's handle) is kept until
        the trial is told."""
        by_number = self.pending._by_number  # PendingTrials.add, inline: it runs at every ask
        if number in by_number:
            self.pending.add(number, native)  # raises: already proposed
        by_number[number] = native
        return Proposal(number, params)

    def ask(self, numbers: Sequence[int]) -> list[Proposal]:
        if self.fixed is not None:
            return self.fixed.ask(numbers)
        if not self.started:
            self.started = True
            self.first_ask()
        return self.propose(numbers)

    def tell(self, trial: Trial) -> None:
        if trial.state is _RUNNING:
            raise BackendError(
                f"backend {self.full_name!r}: tell needs a finished trial, trial {trial.number} "
                f"is {trial.state.value}"
            )
        if self.fixed is not None:
            return
        try:  # PendingTrials.pop, inline: it runs at every tell
            native = self.pending._by_number.pop(trial.number)
        except KeyError:
            native = self.pending.pop(trial.number)  # raises: not one of ours
        if trial.state is _INTERRUPTED:
            self.forget(trial, native)
        else:
            self.learn(trial, native)

    def replay(self, trials: Sequence[Trial]) -> None:
        trials = [t for t in trials if t.state is not TrialState.INTERRUPTED]
        self.replayed += len(trials)
        if self.fixed is not None:
            self.fixed.replay(trials)
        elif trials:
            self.learn_replayed(trials)

    @property
    def exhaustible(self) -> bool:
        return self.fixed is not None

    def conversion_report(self) -> list[Conversion]:
        return super().conversion_report() if self.codec is None else self.codec.report()
