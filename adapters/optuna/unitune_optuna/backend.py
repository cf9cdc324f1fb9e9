"""The Optuna backend: Optuna's samplers driven through its ask/tell interface.

Each backend owns an in-memory ``optuna.Study``. ``ask`` opens an Optuna trial and walks the
unitune space define-by-run with ``suggest_*`` calls; the trial stays RUNNING (so samplers see
it as pending) until the matching unitune trial is told. Trials the backend did not propose are
added to the Optuna study as finished trials, so the sampler learns from replayed history.

>>> from unitune import Float, Space
>>> backend = OptunaBackend(Space({"x": Float(0.0, 1.0)}), seed=0)
>>> [params] = backend.ask(1)
>>> 0.0 <= params["x"] <= 1.0
True
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from unitune.backend import Algorithm, Backend, Conversion, Proposal
from unitune.errors import BackendError
from unitune.kit import PendingTrials
from unitune.space import Space
from unitune.trial import Direction, Trial, TrialState
from unitune_optuna.samplers import ALGORITHMS, build_sampler, derive_seed, quiet_optuna_logging
from unitune_optuna.translate import SpaceTranslator, conversion_report

__all__ = ["OptunaBackend"]


class OptunaBackend(Backend):
    """Optuna samplers as a unitune backend: ``"optuna"`` (TPE), ``"optuna.cmaes"``, ...

    Keyword options go to the sampler's constructor (``n_startup_trials=5``,
    ``multivariate=False``, ``population_size=20``, ...); unknown ones are rejected.
    ``seed`` becomes the sampler's seed. A backend told history before its first ask (a
    restarted study) seeds its sampler from ``(seed, number of trials told)``, so a restart
    does not replay the original run's first proposals.
    """

    name = "optuna"
    algorithms = {
        name: Algorithm(spec.description, spec.capabilities, requires=spec.modules,
                        install=f"pip install 'unitune-optuna[{spec.extra}]'" if spec.extra else "")
        for name, spec in ALGORITHMS.items()
    }
    requires = ("optuna",)
    install = "pip install unitune-optuna"
    distributions = ("optuna", "cmaes", "scipy", "torch")

    def __init__(
        self,
        space: Space | Mapping[str, Any],
        *,
        seed: int | None = None,
        directions: Sequence[str | Direction] = (Direction.MINIMIZE,),
        algorithm: str | None = None,
        **options: Any,
    ):
        super().__init__(space, seed=seed, directions=directions, algorithm=algorithm)
        import optuna

        self._options = dict(options)
        sampler = build_sampler(self.algorithm, seed, self._options)
        quiet_optuna_logging()
        self._study = optuna.create_study(
            sampler=sampler, directions=[d.value for d in self.directions]
        )
        self._translator = SpaceTranslator(self.space)
        self._pending: PendingTrials[Any] = PendingTrials(self.full_name)
        self._asked = False
        self._single = len(self.directions) == 1
        self._tell_fn = _native_tell()
        self._state = {
            TrialState.COMPLETE: optuna.trial.TrialState.COMPLETE,
            TrialState.FAILED: optuna.trial.TrialState.FAIL,
            TrialState.PRUNED: optuna.trial.TrialState.PRUNED,
            # A trial that never ran teaches nothing: FAIL is what Optuna's samplers ignore.
            TrialState.INTERRUPTED: optuna.trial.TrialState.FAIL,
        }

    @property
    def optuna_study(self) -> Any:
        """The underlying ``optuna.Study`` (read it, e.g. for Optuna's visualizations)."""
        return self._study

    def conversion_report(self) -> list[Conversion]:
        return conversion_report(self.space, ALGORITHMS[self.algorithm])

    def ask(self, numbers: Sequence[int]) -> list[Proposal]:
        if not self._asked:
            self._first_ask()
        study, sample, pending = self._study, self._translator.sample, self._pending
        out = []
        for number in numbers:
            trial = study.ask()
            try:
                params = sample(trial)
            except (ValueError, TypeError, RuntimeError) as exc:
                study.tell(trial, state=self._state[TrialState.FAILED])
                raise BackendError(f"optuna.{self.algorithm} failed to sample: {exc}") from exc
            pending.add(number, trial)
            out.append(Proposal(number, params))
        return out

    def tell(self, trial: Trial) -> None:
        if not trial.state.is_finished:
            raise BackendError(f"tell needs a finished trial, trial {trial.number} is {trial.state.value}")
        self._tell_native(self._pending.pop(trial.number), trial)

    def replay(self, trials: Sequence[Trial]) -> None:
        for trial in trials:
            if trial.state is not TrialState.INTERRUPTED:
                self._add_foreign(trial)

    def _tell_native(self, native: Any, trial: Trial) -> None:
        try:
            if trial.intermediate and self._single and trial.state is not TrialState.INTERRUPTED:
                for step, value in sorted(trial.intermediate.items()):
                    native.report(value, step)
            if trial.state is TrialState.COMPLETE:
                values = trial.values[0] if self._single else list(trial.values)
                self._tell_fn(self._study, native, values, None)
            else:
                self._tell_fn(self._study, native, None, self._state[trial.state])
        except (ValueError, TypeError, RuntimeError) as exc:
            raise BackendError(f"optuna rejected trial {trial.number}: {exc}") from exc

    def _add_foreign(self, trial: Trial) -> None:
        import optuna

        params, distributions = self._translator.to_optuna(trial.params)
        intermediate = dict(trial.intermediate) if self._single else None
        try:
            frozen = optuna.trial.create_trial(
                params=params,
                distributions=distributions,
                values=None if trial.values is None else list(trial.values),
                state=self._state[trial.state],
                intermediate_values=intermediate,
            )
            self._study.add_trial(frozen)
        except (ValueError, TypeError, RuntimeError) as exc:
            raise BackendError(f"optuna rejected replayed trial {trial.number}: {exc}") from exc

    def _first_ask(self) -> None:
        """Before the first proposal: make a warmed backend not repeat a cold run's proposals."""
        self._asked = True
        history = len(self._study.trials)
        if not history:
            return
        if self.seed is not None:
            self._study.sampler = build_sampler(
                self.algorithm, derive_seed(self.seed, history), self._options
            )
        if self.algorithm == "qmc":
            _skip_qmc(self._study, history)


def _native_tell() -> Any:
    """The tell that ``optuna.Study.optimize`` itself uses, else the public ``Study.tell``.

    The public ``Study.tell`` also deep-copies the finished trial to return it, which costs more
    than a cheap sampler's whole step; Optuna's own loop skips that copy, and so does this one.
    """
    try:
        from optuna.study._tell import _tell_with_warning
    except ImportError:  # a future Optuna without the private helper: same result, a bit slower
        def public(study: Any, trial: Any, values: Any, state: Any) -> None:
            study.tell(trial, values, state)

        return public

    def internal(study: Any, trial: Any, values: Any, state: Any) -> None:
        _tell_with_warning(study, trial, values, state, suppress_warning=True)

    return internal


def _skip_qmc(study: Any, count: int) -> None:
    """Advance a QMC sequence past ``count`` points (its position lives in the study).

    Unscrambled Sobol/Halton sequences ignore the seed, so a restarted study would otherwise
    start the sequence again. This uses QMCSampler's own position counter (a private hook);
    without it (a future Optuna) nothing is skipped.
    """
    find = getattr(study.sampler, "_find_sample_id", None)
    if find is None:
        return
    first = min(study.trials, key=lambda t: t.number)
    space = dict(first.distributions)
    for _ in range(count):
        find(study, space)
