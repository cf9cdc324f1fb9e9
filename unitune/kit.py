"""The adapter kit: what every backend that wraps an optimizer library shares.

- :func:`derive_seed`: a seed for a backend rebuilt from replayed history, distinct from the
  original run's, so a resumed study does not propose its first points again.
- :func:`library_errors`: the one place a library's exception becomes a :class:`BackendError`.
- :func:`minimizing_signs` / :func:`to_minimized`: the sign convention for libraries that only
  minimize.
- :class:`Codec`: the interface of a space translation (space -> native description, native
  point -> typed params, params -> native point, per-parameter conversion report).
- :class:`PendingTrials`: the backend's own running trials, keyed by trial number.
"""

from __future__ import annotations

import abc
import contextlib
from collections.abc import Iterator, Sequence
from typing import Any, Generic, TypeVar

import numpy as np

from unitune.backend import Conversion
from unitune.errors import BackendError, UnituneError
from unitune.space import Space
from unitune.trial import Direction

__all__ = [
    "Codec",
    "PendingTrials",
    "derive_seed",
    "library_errors",
    "minimizing_signs",
    "to_minimized",
]

Native = TypeVar("Native")


def derive_seed(seed: int, *salt: int) -> int:
    """A deterministic 32-bit seed derived from ``seed`` and ``salt`` (e.g. the number of
    replayed trials): distinct for distinct salts, the same on every run."""
    return int(np.random.SeedSequence([int(seed), *(int(s) for s in salt)]).generate_state(1)[0])


@contextlib.contextmanager
def library_errors(backend: str, action: str) -> Iterator[None]:
    """Translate any exception a library raises while ``action`` into a BackendError.

    unitune's own errors pass through unchanged; KeyboardInterrupt and SystemExit are not
    caught. ``raise BackendError(...) from exc`` keeps the library's traceback.
    """
    try:
        yield
    except UnituneError:
        raise
    except Exception as exc:
        raise BackendError(f"backend {backend!r} failed to {action}: {type(exc).__name__}: {exc}") from exc


def minimizing_signs(directions: Sequence[Direction]) -> tuple[float, ...]:
    """+1 for each minimized objective, -1 for each maximized one."""
    return tuple(-1.0 if d is Direction.MAXIMIZE else 1.0 for d in directions)


def to_minimized(values: Sequence[float], signs: Sequence[float]) -> tuple[float, ...]:
    """Objective values in the user's sign, turned into values to minimize."""
    return tuple(s * v for s, v in zip(signs, values))


class Codec(abc.ABC, Generic[Native]):
    """How one library expresses a unitune space, and how points cross over both ways."""

    def __init__(self, space: Space):
        self.space = space

    @abc.abstractmethod
    def native_space(self) -> Any:
        """The library's description of the space."""

    @abc.abstractmethod
    def decode(self, point: Native) -> dict[str, Any]:
        """A native point as typed, plain-Python params holding only the active parameters."""

    @abc.abstractmethod
    def encode(self, params: dict[str, Any]) -> Native:
        """Params (from any backend) as a native point."""

    @abc.abstractmethod
    def report(self) -> list[Conversion]:
        """How each parameter is expressed: exact, approximated or emulated, and why."""


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

    def __contains__(self, number: object) -> bool:
        return number in self._by_number

    def __len__(self) -> int:
        return len(self._by_number)

    def values(self) -> list[Native]:
        """The native handles of every running trial, in the order they were proposed."""
        return list(self._by_number.values())
