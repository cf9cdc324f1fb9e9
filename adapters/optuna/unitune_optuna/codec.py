"""The Optuna codec: unitune dimensions to Optuna suggest calls and distributions.

Optuna is define-by-run: the native point is a live ``optuna.Trial``, which
:meth:`OptunaCodec.decode` walks with ``suggest_*`` calls (branches included, natively).
Everything per parameter is prepared once (the suggest call and its arguments, the Optuna
distribution used for replayed trials), so a trial costs only the suggest calls themselves.
Optuna is imported lazily, inside :class:`OptunaCodec`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from unitune.backend import Conversion, Fidelity
from unitune.errors import BackendError
from unitune.kit import Codec
from unitune.space import Categorical, Constant, Dimension, Float, Int, Space
from unitune_optuna.algorithms import OptunaAlgorithm

__all__ = ["OptunaCodec", "conversion_report", "has_ambiguous_choices"]

Suggest = Callable[[Any], Any]


def has_ambiguous_choices(dim: Categorical) -> bool:
    """True when two choices compare equal in Python (``1``, ``1.0``, ``True``).

    Optuna maps a categorical value back to its position with ``list.index`` and would
    confuse them; such categoricals are passed to Optuna by position instead.
    """
    choices = dim.choices
    return any(a == b for i, a in enumerate(choices) for b in choices[i + 1:])


def _float_suggest(name: str, dim: Float) -> Suggest:
    low, high, log, step = dim.low, dim.high, dim.log, dim.step
    contains, snap = dim.contains, dim.snap

    if step is None:
        def suggest_continuous(trial: Any) -> float:
            value = float(trial.suggest_float(name, low, high, log=log, step=None))
            return value if low <= value <= high else snap(value)

        return suggest_continuous

    def suggest(trial: Any) -> float:
        value = float(trial.suggest_float(name, low, high, log=log, step=step))
        return value if contains(value) else snap(value)

    return suggest


def _int_suggest(name: str, dim: Int) -> Suggest:
    low, high, log, step = dim.low, dim.high, dim.log, dim.step

    def suggest(trial: Any) -> int:
        return int(trial.suggest_int(name, low, high, step=step, log=log))

    return suggest


def _categorical_suggest(name: str, dim: Categorical) -> Suggest:
    choices = dim.choices
    if has_ambiguous_choices(dim):
        positions = tuple(range(len(choices)))

        def by_position(trial: Any) -> Any:
            return choices[trial.suggest_categorical(name, positions)]

        return by_position

    def suggest(trial: Any) -> Any:
        return trial.suggest_categorical(name, choices)

    return suggest


class OptunaCodec(Codec[Any]):
    """Prepared translation of one space: define-by-run suggestions and replay conversion.

    ``algorithm`` (the record of the sampler in use) decides what the conversion report says.
    """

    def __init__(self, space: Space, algorithm: OptunaAlgorithm):
        super().__init__(space)
        self.algorithm = algorithm
        from optuna.distributions import (
            CategoricalDistribution,
            FloatDistribution,
            IntDistribution,
        )

        self._suggest: dict[str, Suggest] = {}
        self._dists: dict[str, Any] = {}
        self._by_position: set[str] = set()
        self._dims: dict[str, Dimension] = {}
        for name, dim, _ in space.walk():
            self._dims[name] = dim
            if type(dim) is Float:
                self._suggest[name] = _float_suggest(name, dim)
                self._dists[name] = FloatDistribution(dim.low, dim.high, log=dim.log, step=dim.step)
            elif type(dim) is Int:
                self._suggest[name] = _int_suggest(name, dim)
                self._dists[name] = IntDistribution(dim.low, dim.high, log=dim.log, step=dim.step)
            elif type(dim) is Categorical:
                self._suggest[name] = _categorical_suggest(name, dim)
                if has_ambiguous_choices(dim):
                    self._by_position.add(name)
                    self._dists[name] = CategoricalDistribution(tuple(range(len(dim.choices))))
                else:
                    self._dists[name] = CategoricalDistribution(dim.choices)
        # A space without branches is walked as a flat list: (name, suggest or None, constant).
        self._flat: tuple[tuple[str, Suggest | None, Any], ...] | None = None
        if not space.is_conditional:
            self._flat = tuple(
                (name, self._suggest.get(name), dim.value if type(dim) is Constant else None)
                for name, dim in space.items()
            )

    def native_space(self) -> dict[str, Any]:
        """Every parameter's Optuna distribution (branches included; constants are not sent)."""
        return dict(self._dists)

    def decode(self, trial: Any) -> dict[str, Any]:
        """Walk the space define-by-run on an Optuna trial; constants are filled in, not asked."""
        if self._flat is not None:  # no branches: one straight pass, in the space's order
            return {name: suggest(trial) if suggest is not None else value
                    for name, suggest, value in self._flat}
        table = self._suggest
        return self.space.sample_by(lambda name, _dim: table[name](trial))

    def encode(self, params: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
        """``(params, distributions)`` in Optuna's terms for a replayed parameter dict."""
        out_params: dict[str, Any] = {}
        out_dists: dict[str, Any] = {}
        for name, value in params.items():
            dim = self._dims.get(name)
            if dim is None:
                raise BackendError(f"parameter {name!r} is not in the space {list(self._dims)!r}")
            if type(dim) is Constant:
                continue
            if name in self._by_position:
                value = dim.index(value)
            out_params[name] = value
            out_dists[name] = self._dists[name]
        return out_params, out_dists

    def round_trip(self, params: dict[str, Any]) -> dict[str, Any]:
        """Encoded params replayed through ``optuna.trial.FixedTrial`` and walked again."""
        from optuna.trial import FixedTrial

        return self.decode(FixedTrial(self.encode(params)[0]))

    def report(self) -> list[Conversion]:
        """Per parameter: how it reaches Optuna and whether the sampler models it."""
        return conversion_report(self.space, self.algorithm)


def _native_detail(dim: Dimension, by_position: bool) -> str:
    if type(dim) is Float:
        return f"suggest_float({dim.low!r}, {dim.high!r}, log={dim.log}, step={dim.step!r})"
    if type(dim) is Int:
        return f"suggest_int({dim.low!r}, {dim.high!r}, step={dim.step!r}, log={dim.log})"
    if type(dim) is Categorical:
        if by_position:
            return ("suggest_categorical by position (choices equal under ==, e.g. 1 and True, "
                    "which Optuna would confuse); the objective receives the values")
        return f"suggest_categorical({list(dim.choices)!r})"
    return "constant: not sent to Optuna, handed to the objective unchanged"


def conversion_report(space: Space, spec: OptunaAlgorithm) -> list[Conversion]:
    """Per parameter: how the space feature reaches Optuna and whether the sampler models it."""
    report = []
    for name, dim, condition in space.walk():
        detail = _native_detail(dim, type(dim) is Categorical and has_ambiguous_choices(dim))
        if type(dim) is Constant:
            report.append(Conversion(name, Fidelity.EXACT, detail))
            continue
        reasons = []
        if type(dim) is Categorical and spec.random_categorical and not _single(dim):
            reasons.append(spec.random_categorical)
        if condition and spec.random_conditional:
            reasons.append(spec.random_conditional)
        if reasons:
            report.append(Conversion(name, Fidelity.APPROXIMATED, f"{detail}; " + "; ".join(reasons)))
        else:
            where = " (define-by-run branch)" if condition else ""
            report.append(Conversion(name, Fidelity.EXACT, detail + where))
    return report


def _single(dim: Categorical) -> bool:
    return len(dim.choices) == 1
