"""The exception hierarchy: every error unitune raises derives from :class:`UnituneError`."""

from __future__ import annotations

__all__ = [
    "BackendError",
    "BackendNotFoundError",
    "BackendNotInstalledError",
    "CapabilityError",
    "ConversionError",
    "ObjectiveResultError",
    "SearchExhausted",
    "SpaceError",
    "TooManyFailuresError",
    "UnituneError",
]


class UnituneError(Exception):
    """Root of every error raised by unitune and its adapters."""


class SpaceError(UnituneError, ValueError):
    """A search space, a dimension or a parameter dict breaks a rule of the space."""


class BackendError(UnituneError):
    """A backend failed, was misconfigured, or was given options it does not know."""


class BackendNotFoundError(BackendError, LookupError):
    """No backend is registered under the requested name."""


class BackendNotInstalledError(BackendError, ImportError):
    """The backend is known but its distribution or library is not installed."""


class CapabilityError(BackendError):
    """The backend cannot do what the study asks (multi-objective, conditional space, ...)."""


class ConversionError(BackendError):
    """Strict mode refused a space feature the backend can only approximate or emulate."""


class ObjectiveResultError(UnituneError, TypeError):
    """The objective returned something that is not a usable result."""


class TooManyFailuresError(UnituneError, RuntimeError):
    """A study stopped because too many trials in a row failed."""


class SearchExhausted(UnituneError):
    """Typed signal: the backend has no candidate left (a finished grid, a fully seen space)."""
