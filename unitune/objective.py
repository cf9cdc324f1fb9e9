"""The objective protocol: how an objective is called and how its return value is read.

An objective takes the parameter dict, or the parameter dict and a :class:`TrialHandle`.
It returns a number, a mapping of named metrics, a sequence of numbers (one per objective),
or a :class:`Result`. Anything else, an exception, NaN or an infinity makes the trial FAILED
with the reason kept; raising :class:`TrialPruned` makes it PRUNED.
"""

from __future__ import annotations

import inspect
import math
import numbers
import sys
import time
import traceback
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from unitune.errors import ObjectiveResultError, UnituneError
from unitune.trial import Trial, TrialState

_EMPTY: Mapping[str, Any] = MappingProxyType({})

#: Enum members read at every trial, as globals (why: unitune.trial).
_COMPLETE = TrialState.COMPLETE
_INF = math.inf

__all__ = ["Result", "ResultSpec", "TrialHandle", "TrialPruned", "ended_trial", "evaluate", "interpret",
           "pruned_at"]


class TrialPruned(UnituneError):
    """Raise inside an objective to stop the trial early; it is recorded as PRUNED."""


@dataclass(frozen=True)
class Result:
    """A rich objective return: the value(s) plus extra metrics and user attributes.

    >>> Result(0.12, metrics={"fit_time": 3.2}, user_attrs={"n_iter": 40})
    Result(value=0.12, metrics={'fit_time': 3.2}, user_attrs={'n_iter': 40})
    """

    value: Any = None
    metrics: Mapping[str, Any] = field(default_factory=dict)
    user_attrs: Mapping[str, Any] = field(default_factory=dict)


class TrialHandle:
    """What an objective (or a hand-driven loop) gets for one trial: its number and params,
    and a place to record user attributes and intermediate values. Picklable."""

    __slots__ = ("_attrs", "_decision", "_link", "_steps", "number", "params", "started_at")

    def __init__(self, number: int, params: Mapping[str, Any], started_at: float | None = None):
        self.number = number
        # Read-only view of the proposal (backends hand over fresh dicts and keep no handle on them).
        self.params = params if type(params) is MappingProxyType else MappingProxyType(params)
        self.started_at = time.time() if started_at is None else started_at
        # user_attrs and intermediate, made at their first use (most trials record neither: two
        # dicts fewer a trial, docs/backends.md#adapter-overhead)
        self._attrs: dict[str, Any] | None = None
        self._steps: dict[int, float] | None = None
        self._link: Any = None  # a unitune.pruners.link.PruningLink when the study prunes
        self._decision: tuple[int, bool] | None = None  # (step, should_prune) last answered

    @property
    def user_attrs(self) -> dict[str, Any]:
        """The user attributes recorded so far (the trial record keeps a read-only copy)."""
        if self._attrs is None:
            self._attrs = {}
        return self._attrs

    @user_attrs.setter
    def user_attrs(self, attrs: dict[str, Any]) -> None:
        self._attrs = attrs

    @property
    def intermediate(self) -> dict[int, float]:
        """The intermediate values reported so far, by step."""
        if self._steps is None:
            self._steps = {}
        return self._steps

    @intermediate.setter
    def intermediate(self, steps: dict[int, float]) -> None:
        self._steps = steps

    def __reduce__(self):
        return (_rebuild_handle, (self.number, dict(self.params), self.started_at,
                                  self.user_attrs, self.intermediate, self._link))

    def set_user_attr(self, key: str, value: Any) -> None:
        """Attach a user attribute (kept on the trial record)."""
        if not isinstance(key, str):
            raise UnituneError(f"user attribute keys must be strings, got {key!r}")
        self.user_attrs[key] = value

    def report(self, value: float, step: int) -> None:
        """Record an intermediate objective value at ``step`` (e.g. an epoch).

        The first value reported at a step is kept: a second report at the same step is ignored
        with a warning, as in Optuna, so the trial's record, the pruner and a backend that hears
        reports (Optuna keeps the first) agree on it.
        """
        if isinstance(step, bool) or not isinstance(step, numbers.Integral) or step < 0:
            raise UnituneError(f"report step must be a non-negative integer, got {step!r}")
        number = _as_number(value)
        if number is None:
            raise UnituneError(f"report value must be a real number, got {value!r}")
        step = int(step)
        if step in self.intermediate:
            warnings.warn(f"trial {self.number} already reported step {step}: the value {number!r} is "
                          f"ignored, {self.intermediate[step]!r} is kept", UserWarning, stacklevel=2)
            return
        self.intermediate[step] = number
        if self._link is not None:
            self._link.report(self.number, step, number)

    def should_prune(self) -> bool:
        """Whether the study's pruner says to stop this trial now (then ``raise TrialPruned``).

        Decided at the latest reported step from every trial's reports so far, wherever the
        trial runs; asked again at the same step, the first answer is kept. False when the study
        has no pruner or nothing was reported yet.
        """
        if self._link is None or not self.intermediate:
            return False
        step = max(self.intermediate)
        if self._decision is None or self._decision[0] != step:
            self._decision = (step, self._link.should_prune(self.number, self.intermediate))
        return self._decision[1]

    def __repr__(self) -> str:
        return f"TrialHandle(number={self.number}, params={dict(self.params)!r})"


def _rebuild_handle(number, params, started_at, user_attrs, intermediate, link=None) -> TrialHandle:
    handle = TrialHandle(number, params, started_at)
    handle.user_attrs.update(user_attrs)
    handle.intermediate.update(intermediate)
    handle._link = link
    return handle


@dataclass(frozen=True)
class ResultSpec:
    """How to read an objective's return: which metrics are optimized (None: the bare value)."""

    metrics: tuple[str, ...] | None
    n_values: int = 1


def _as_number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        return None
    try:
        return float(value)
    except (OverflowError, ValueError, TypeError):
        # 10**400 and friends: too large for a float; read as infinite, which marks a trial FAILED.
        return _overflowed(value)


def _overflowed(value: Any) -> float:
    try:
        return -math.inf if value < 0 else math.inf
    except TypeError:
        return math.nan


def _describe(value: Any) -> str:
    text = repr(value)
    return (text[:80] + "...") if len(text) > 80 else text


def interpret(result: Any, spec: ResultSpec) -> tuple[tuple[float, ...], dict[str, float], dict[str, Any]]:
    """Read an objective's return into ``(values, metrics, user_attrs)``.

    Raises ObjectiveResultError with the reason when the return is unusable or non-finite.
    """
    if type(result) is float and spec.n_values == 1:  # the common case, kept cheap
        if not math.isfinite(result):
            raise ObjectiveResultError(
                f"objective returned the non-finite value {result!r}; NaN and infinities mark a trial FAILED"
            )
        return (result,), {}, {}
    user_attrs: dict[str, Any] = {}
    metrics: dict[str, float] = {}
    sources: list[Mapping[str, Any]] = []  # the metrics as returned (to name one too large)
    if isinstance(result, Result):
        user_attrs = dict(result.user_attrs)
        metrics = _read_metrics(result.metrics)
        sources.append(result.metrics)
        result = result.value if result.value is not None else result.metrics
    if isinstance(result, Mapping):
        metrics.update(_read_metrics(result))
        sources.append(result)
        names = spec.metrics
        if names is None:
            if len(metrics) != 1:
                raise ObjectiveResultError(
                    f"objective returned the metrics {sorted(metrics)!r}; name the one to optimize "
                    "with metric='...'"
                )
            names = tuple(metrics)
        missing = [name for name in names if name not in metrics]
        if missing:
            raise ObjectiveResultError(
                f"objective returned the metrics {sorted(metrics)!r} but not {missing!r}, "
                "which the study optimizes"
            )
        values = tuple(metrics[name] for name in names)
        for name, value in zip(names, values):
            if math.isinf(value):  # (a later source wins, as in `metrics`)
                given = [v for source in sources for k, v in source.items() if str(k) == name]
                _refuse_overflow(given[-1], value, f" for {name!r}")
    elif isinstance(result, (tuple, list)):
        values = tuple(_number_or_fail(v, result) for v in result)
    else:
        values = (_number_or_fail(result, result),)
    if len(values) != spec.n_values:
        raise ObjectiveResultError(
            f"objective returned {len(values)} value(s) {_describe(values)}; the study optimizes "
            f"{spec.n_values} objective(s)"
        )
    bad = [v for v in values if not math.isfinite(v)]
    if bad:
        raise ObjectiveResultError(
            f"objective returned the non-finite value {bad[0]!r}; NaN and infinities mark a trial FAILED"
        )
    return values, metrics, user_attrs


def _number_or_fail(value: Any, whole: Any) -> float:
    number = _as_number(value)
    if number is None:
        raise ObjectiveResultError(
            f"objective returned {_describe(whole)} ({type(whole).__name__}); expected a number, "
            "a dict of metrics, a sequence of numbers (multi-objective) or a unitune.Result"
        )
    _refuse_overflow(value, number)
    return number


def _refuse_overflow(value: Any, number: float, what: str = "") -> None:
    """ObjectiveResultError when ``number`` is infinite only because ``value``, a finite number,
    is beyond a double's range (10**400, a Fraction, a long double)."""
    if not math.isinf(number):
        return
    try:
        too_large = bool(value == value and abs(value) != math.inf and abs(value) > sys.float_info.max)
    except (TypeError, ValueError, ArithmeticError):  # not a number to compare: not an overflow
        return
    if too_large:
        raise ObjectiveResultError(f"objective returned {_describe(value)}{what}, a number too large "
                                   "for a float (beyond about 1.8e308); scale the objective down")


def _read_metrics(mapping: Mapping[str, Any]) -> dict[str, float]:
    metrics = {}
    for key, value in mapping.items():
        number = _as_number(value)
        if number is None:
            raise ObjectiveResultError(f"metric {key!r} is {_describe(value)}; metrics must be numbers")
        metrics[str(key)] = number
    return metrics


def wants_trial(objective: Callable[..., Any], ignore: tuple[str, ...] = ()) -> bool:
    """True when the objective takes the trial handle: a second positional parameter without a
    default (or one named ``trial``, default or not), or ``*args``. A second parameter with a
    default, as in ``lambda params, lr=lr: ...``, is the user's own and keeps its default.
    Parameters named in ``ignore`` (e.g. ``budget``) are left out of the count."""
    try:
        parameters = inspect.signature(objective).parameters.values()
    except (TypeError, ValueError):
        return False
    if any(p.kind is p.VAR_POSITIONAL for p in parameters):
        return True
    positional = [p for p in parameters
                  if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) and p.name not in ignore]
    if len(positional) < 2:
        return False
    second = positional[1]
    return second.default is second.empty or second.name == "trial"


def evaluate(
    objective: Callable[..., Any], handle: TrialHandle, spec: ResultSpec, pass_trial: bool
) -> Trial:
    """Run the objective once and return the finished trial record, whatever happens (never
    raises, except KeyboardInterrupt: ``sys.exit()`` or any other BaseException raised by an
    objective fails its trial, the same inline as on every executor). Runs wherever the
    executor puts it."""
    # The objective's own copy: the read-only view's copy() copies the dict underneath (8x
    # faster than dict(view), which reads it key by key); a backend may propose another kind
    # of Mapping (without copy(), or whose copy is not a fresh dict): dict(view) then.
    try:
        params = handle.params.copy()
    except AttributeError:  # a Mapping without copy() underneath
        params = None
    if type(params) is not dict:
        params = dict(handle.params)
    try:
        raw = objective(params, handle) if pass_trial else objective(params)
        if type(raw) is float and -_INF < raw < _INF and spec.n_values == 1:
            values, metrics, user_attrs = (raw,), None, None  # interpret's common case, inline
        else:
            values, metrics, user_attrs = interpret(raw, spec)
    except TrialPruned as exc:
        return ended_trial(handle, TrialState.PRUNED, failure=str(exc) or pruned_at(handle))
    except ObjectiveResultError as exc:
        return ended_trial(handle, TrialState.FAILED, failure=str(exc))
    except KeyboardInterrupt:  # Ctrl-C: the study stops
        raise
    except BaseException as exc:  # sys.exit(), GeneratorExit, a user's BaseException: this trial only
        text = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
        return ended_trial(handle, TrialState.FAILED, failure=f"{type(exc).__name__}: {exc}\n{text}")
    if user_attrs:
        handle.user_attrs.update(user_attrs)
    elif metrics is None and not handle._attrs and not handle._steps:
        # ended_trial's record for the common case (a float, nothing else recorded), inline: every trial
        return Trial(handle.number, handle.params, _COMPLETE, values, _EMPTY, None, handle.started_at,
                     time.time(), _EMPTY, _EMPTY)
    return ended_trial(handle, _COMPLETE, values, metrics)


def pruned_at(handle: TrialHandle) -> str:
    """A PRUNED trial's default failure text: ``"pruned at step N"`` (its last reported step),
    or ``"pruned"`` when it reported nothing."""
    return f"pruned at step {max(handle.intermediate)}" if handle.intermediate else "pruned"


def ended_trial(
    handle: TrialHandle,
    state: TrialState,
    values: tuple[float, ...] | None = None,
    metrics: Mapping[str, float] | None = None,
    failure: str | None = None,
) -> Trial:
    """The finished record of ``handle``'s trial, ending now (its user attributes and
    intermediate values copied, read-only)."""
    attrs, intermediate = handle.user_attrs, handle.intermediate
    return Trial(handle.number, handle.params, state, values, metrics or _EMPTY, failure,
                 handle.started_at, time.time(),
                 MappingProxyType(dict(attrs)) if attrs else _EMPTY,
                 MappingProxyType(dict(intermediate)) if intermediate else _EMPTY)


def as_sequence(value: str | Sequence[str] | None) -> tuple[str, ...] | None:
    """Normalize ``"a"`` / ``["a", "b"]`` / None to a tuple or None."""
    if value is None:
        return None
    if isinstance(value, str):
        return (value,)
    return tuple(value)
