"""Trial records: frozen snapshots of one evaluation, and the state they end in."""

from __future__ import annotations

import enum
import math
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from types import MappingProxyType
from typing import Any

from unitune.errors import UnituneError

__all__ = ["Direction", "Trial", "TrialState"]

_EMPTY: Mapping[str, Any] = MappingProxyType({})
_INF = math.inf


class TrialState(str, enum.Enum):
    """Where a trial stands. Only COMPLETE trials carry values.

    INTERRUPTED is a finished state for trials that never ran to their end through no fault of
    the objective (Ctrl-C, a study timeout, a worker lost before or while running it): it
    teaches a backend nothing, and a resumed study evaluates its configuration again.
    """

    RUNNING = "running"
    COMPLETE = "complete"
    FAILED = "failed"
    PRUNED = "pruned"
    INTERRUPTED = "interrupted"

    @property
    def is_finished(self) -> bool:
        """True for every state but RUNNING."""
        return self is not TrialState.RUNNING


class Direction(str, enum.Enum):
    """Whether an objective value is to be made small or large."""

    MINIMIZE = "minimize"
    MAXIMIZE = "maximize"

    @classmethod
    def parse(cls, value: str | Direction) -> Direction:
        """Accept ``"minimize"``/``"maximize"`` (any case) or a Direction."""
        try:
            return cls(value.lower() if isinstance(value, str) else value)
        except ValueError:
            raise UnituneError(f"direction must be 'minimize' or 'maximize', got {value!r}") from None

    def better(self, a: float, b: float) -> bool:
        """True when ``a`` is strictly better than ``b`` in this direction."""
        return a < b if self is _MINIMIZE else a > b


#: Read at every trial: in Python 3.11 a member read off its enum class (``TrialState.X``) takes
#: EnumType's __getattr__ hook, several times slower than a module global.
_COMPLETE, _MINIMIZE = TrialState.COMPLETE, Direction.MINIMIZE


def _json_numbers(mapping: Mapping[Any, float]) -> dict[Any, float | None]:
    """A copy fit for strict JSON: a NaN or infinite side metric becomes None (null)."""
    return {k: None if isinstance(v, float) and not math.isfinite(v) else v for k, v in mapping.items()}


def _frozen(mapping: Mapping[str, Any] | None) -> Mapping[str, Any]:
    if not mapping:
        return _EMPTY
    if type(mapping) is MappingProxyType:  # already read-only (the study hands out private copies)
        return mapping
    return MappingProxyType(dict(mapping))


@dataclass(frozen=True, slots=True, init=False)
class Trial:
    """One evaluation: what was tried, how it ended, and when.

    ``values`` holds the optimized objective values (one per direction of the study), in the
    user's own sign; ``metrics`` holds every named metric the objective returned.
    Records are immutable: ``params``, ``metrics``, ``user_attrs`` and ``intermediate`` are
    read-only mappings.
    """

    number: int
    params: Mapping[str, Any]
    state: TrialState
    values: tuple[float, ...] | None = None
    metrics: Mapping[str, float] = field(default_factory=lambda: _EMPTY)
    failure: str | None = None
    started_at: float | None = None
    finished_at: float | None = None
    user_attrs: Mapping[str, Any] = field(default_factory=lambda: _EMPTY)
    intermediate: Mapping[int, float] = field(default_factory=lambda: _EMPTY)

    def __init__(
        self,
        number: int,
        params: Mapping[str, Any],
        state: TrialState,
        values: tuple[float, ...] | None = None,
        metrics: Mapping[str, float] = _EMPTY,
        failure: str | None = None,
        started_at: float | None = None,
        finished_at: float | None = None,
        user_attrs: Mapping[str, Any] = _EMPTY,
        intermediate: Mapping[int, float] = _EMPTY,
    ) -> None:
        # Written by hand, not generated: a frozen dataclass's __init__ sets each field through
        # object.__setattr__ (a type lookup a field), which costs several microseconds a trial
        # run cold between a library's work (docs/backends.md#adapter-overhead). The slots'
        # own setters skip the lookup. tests/core/test_study.py keeps this signature equal to
        # the fields.
        if type(state) is not TrialState:
            state = TrialState(state)
        if state is _COMPLETE:
            if len(values or ()) == 1:  # the common case, kept cheap
                valid = type(values[0]) is float and -_INF < values[0] < _INF  # (isfinite, no call)
            else:
                valid = bool(values) and all([type(v) is float and math.isfinite(v) for v in values])
            if not valid:
                raise UnituneError(
                    f"trial {number}: a COMPLETE trial needs finite float values, got {values!r}"
                )
        elif values is not None:
            raise UnituneError(f"trial {number}: only COMPLETE trials carry values, got {values!r}")
        _set_number(self, number)
        _set_params(self, params if type(params) is MappingProxyType else _frozen(params))
        _set_state(self, state)
        _set_values(self, values)
        _set_metrics(self, metrics if type(metrics) is MappingProxyType else _frozen(metrics))
        _set_failure(self, failure)
        _set_started_at(self, started_at)
        _set_finished_at(self, finished_at)
        _set_user_attrs(self, user_attrs if type(user_attrs) is MappingProxyType else _frozen(user_attrs))
        _set_intermediate(self, intermediate if type(intermediate) is MappingProxyType
                          else _frozen(intermediate))

    def __reduce__(self):
        # Read-only mappings do not pickle: rebuild from plain dicts.
        return (Trial, (self.number, dict(self.params), self.state, self.values, dict(self.metrics),
                        self.failure, self.started_at, self.finished_at, dict(self.user_attrs),
                        dict(self.intermediate)))

    @property
    def value(self) -> float | None:
        """The single objective value (None unless COMPLETE; an error for multi-objective)."""
        if self.values is None:
            return None
        if len(self.values) != 1:
            raise UnituneError(f"trial {self.number} has {len(self.values)} values; use .values")
        return self.values[0]

    @property
    def duration(self) -> float | None:
        """Seconds from start to finish, when both are known."""
        if self.started_at is None or self.finished_at is None:
            return None
        return self.finished_at - self.started_at

    def to_record(self) -> dict[str, Any]:
        """A plain, strict-JSON-ready dict of this trial (:meth:`from_record` reads it back).

        A metric or intermediate value that is NaN or infinite is written as None (strict JSON
        has no spelling for it); it reads back as NaN. User attributes are written as a SQLite
        store keeps them (docs/durability.md): numpy values as numbers and lists, other values
        JSON cannot hold as their ``str()``.
        """
        from unitune.storage.codec import storable_attr  # (the storage package imports this module)

        return {
            "number": self.number,
            "state": self.state.value,
            "values": None if self.values is None else list(self.values),
            "params": dict(self.params),
            "metrics": _json_numbers(self.metrics),
            "failure": self.failure,
            "started_at": self.started_at,
            "finished_at": self.finished_at,
            "duration": self.duration,
            "user_attrs": {str(k): storable_attr(k, v) for k, v in self.user_attrs.items()},
            "intermediate": {str(k): v for k, v in _json_numbers(self.intermediate).items()},
        }

    @classmethod
    def from_record(cls, record: Mapping[str, Any]) -> Trial:
        """Rebuild a trial from :meth:`to_record`'s dict (e.g. one line of ``unitune export``).

        >>> t = Trial.complete(3, {"x": 0.5}, 0.25)
        >>> Trial.from_record(t.to_record()) == t
        True
        """
        if not isinstance(record, Mapping):
            raise UnituneError(f"a trial record must be a mapping, got {type(record).__name__}")
        missing = [key for key in ("number", "state", "params") if key not in record]
        if missing:
            raise UnituneError(f"trial record {dict(record)!r:.200} lacks the key(s) {missing!r}")
        number = record["number"]
        if isinstance(number, bool) or not isinstance(number, int):
            raise UnituneError(f"trial record: number must be an integer, got {number!r}")
        try:
            state = TrialState(record["state"])
        except ValueError:
            known = [s.value for s in TrialState]
            raise UnituneError(
                f"trial record {number}: unknown state {record['state']!r}; expected one of {known}"
            ) from None
        values = record.get("values")

        def floats(mapping: Any, what: str) -> dict:
            if not mapping:
                return {}
            if not isinstance(mapping, Mapping):
                raise UnituneError(f"trial record {number}: {what} must be a mapping, got {mapping!r:.80}")
            return {k: math.nan if v is None else float(v) for k, v in mapping.items()}

        intermediate = floats(record.get("intermediate"), "intermediate")
        try:
            intermediate = {int(k): v for k, v in intermediate.items()}
        except ValueError:
            raise UnituneError(f"trial record {number}: intermediate steps must be integers") from None
        return cls(
            number=number,
            params=dict(record["params"]),
            state=state,
            values=None if values is None else tuple(float(v) for v in values),
            metrics=floats(record.get("metrics"), "metrics"),
            failure=record.get("failure"),
            started_at=record.get("started_at"),
            finished_at=record.get("finished_at"),
            user_attrs=dict(record.get("user_attrs") or {}),
            intermediate=intermediate,
        )

    @classmethod
    def complete(cls, number: int, params: Mapping[str, Any], value: float | tuple[float, ...]) -> Trial:
        """Shorthand for a COMPLETE record (handy for replaying history into a backend)."""
        values = tuple(float(v) for v in value) if isinstance(value, (tuple, list)) else (float(value),)
        return cls(number=number, params=params, state=TrialState.COMPLETE, values=values)

    @classmethod
    def failed(cls, number: int, params: Mapping[str, Any], reason: str = "failed") -> Trial:
        """Shorthand for a FAILED record."""
        return cls(number=number, params=params, state=TrialState.FAILED, failure=reason)


# The slots' setters, for Trial.__init__ (bypassing the frozen class's __setattr__).
(_set_number, _set_params, _set_state, _set_values, _set_metrics, _set_failure, _set_started_at,
 _set_finished_at, _set_user_attrs, _set_intermediate) = (
    Trial.__dict__[f.name].__set__ for f in fields(Trial))
