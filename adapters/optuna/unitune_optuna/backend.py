"""The Optuna backend: Optuna's samplers driven through its ask/tell interface.

Each backend owns an in-memory ``optuna.Study``. ``ask`` opens an Optuna trial and walks the
unitune space define-by-run with ``suggest_*`` calls; the trial stays RUNNING (so samplers see
it as pending) until the matching unitune trial is told, by number. Replayed trials are added
to the Optuna study as finished trials, so the sampler learns from history. Intermediate values
heard through :meth:`OptunaBackend.report` reach the live Optuna trial at once (for pruners).

>>> from unitune import Float, Space
>>> backend = OptunaBackend(Space({"x": Float(0.0, 1.0)}), seed=0)
>>> [proposal] = backend.ask([0])
>>> 0.0 <= proposal.params["x"] <= 1.0
True
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from unitune.backend import Proposal, PrunedPolicy
from unitune.kit import KitBackend, library_errors, model_value
from unitune.trial import Trial, TrialState
from unitune_optuna.algorithms import ALGORITHMS, build, quiet_optuna_logging
from unitune_optuna.codec import OptunaCodec

__all__ = ["OptunaBackend"]


class OptunaBackend(KitBackend):
    """Optuna samplers as a unitune backend: ``"optuna"`` (TPE), ``"optuna.cmaes"``, ...

    Options (see ``unitune backends``) go to the sampler's constructor; ``seed`` becomes the
    sampler's seed. A backend that replayed history before its first ask (a restarted study)
    seeds its sampler from :func:`unitune.kit.derive_seed` ``(seed, number of trials)``, so a
    restart does not replay the original run's first proposals. Optuna handles the directions
    itself: values are told in the user's sign (huge magnitudes squashed by
    :func:`unitune.kit.model_value`).
    """

    name = "optuna"
    algorithms = ALGORITHMS
    requires = ("optuna",)
    install = "pip install unitune-optuna"
    distributions = ("optuna", "cmaes", "scipy", "torch")
    pruned_policy = PrunedPolicy.NATIVE  # TrialState.PRUNED with the intermediate values
    proposals_in_space = True  # the codec decodes onto the dimensions
    codec_class = OptunaCodec

    def setup(self) -> None:
        super().setup()
        with library_errors(self.full_name, f"build its sampler with the options {self.options!r}"):
            import optuna

            sampler = build(self.algorithm, self.seed, self.options)
            quiet_optuna_logging()
            self._study = optuna.create_study(sampler=sampler, directions=[d.value for d in self.directions])
            self.codec = OptunaCodec(self.space, ALGORITHMS[self.algorithm])
        # self.pending holds each running trial's live optuna.Trial.
        self._reported: dict[int, set[int]] = {}  # steps already reported live, by trial number
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

    def propose(self, numbers: Sequence[int]) -> list[Proposal]:
        study, sample = self._study, self.codec.decode
        out = []
        for number in numbers:
            trial = study.ask()
            try:
                with library_errors(self.full_name, "sample"):
                    params = sample(trial)
            except BaseException:
                study.tell(trial, state=self._state[TrialState.FAILED])  # never left RUNNING
                raise
            out.append(self.proposal(number, params, trial))
        return out

    def report(self, number: int, step: int, value: float) -> None:
        """Report an intermediate value to the live Optuna trial (what Optuna's pruners read)."""
        if not self._single or number not in self.pending:
            return  # Optuna has no intermediate values for multi-objective studies
        with library_errors(self.full_name, f"report step {step} of trial {number}"):
            self.pending.get(number).report(value, step)
        self._reported.setdefault(number, set()).add(step)

    def learn(self, trial: Trial, native: Any) -> None:
        reported = self._reported.pop(trial.number, ())
        with library_errors(self.full_name, f"learn trial {trial.number}"):
            if trial.intermediate and self._single:
                for step, value in sorted(trial.intermediate.items()):
                    if step not in reported:
                        native.report(value, step)
            if trial.state is TrialState.COMPLETE:
                values = [model_value(v) for v in trial.values]
                self._tell_fn(self._study, native, values[0] if self._single else values, None)
            else:
                self._tell_fn(self._study, native, None, self._state[trial.state])

    def forget(self, trial: Trial, native: Any) -> None:
        """A trial that never ran ends FAIL in Optuna (what its samplers ignore), never RUNNING."""
        self._reported.pop(trial.number, None)
        with library_errors(self.full_name, f"learn trial {trial.number}"):
            self._tell_fn(self._study, native, None, self._state[TrialState.INTERRUPTED])

    def learn_replayed(self, trials: Sequence[Trial]) -> None:
        for trial in trials:
            self._add_foreign(trial)

    def _add_foreign(self, trial: Trial) -> None:
        import optuna

        params, distributions = self.codec.encode(trial.params)
        intermediate = dict(trial.intermediate) if self._single else None
        values = None if trial.values is None else [model_value(v) for v in trial.values]
        with library_errors(self.full_name, f"replay trial {trial.number}"):
            frozen = optuna.trial.create_trial(
                params=params,
                distributions=distributions,
                values=values,
                state=self._state[trial.state],
                intermediate_values=intermediate,
            )
            self._study.add_trial(frozen)

    def first_ask(self) -> None:
        """Make a warmed backend not repeat a cold run's proposals."""
        if not self.replayed:
            return
        if self.seed is not None:
            with library_errors(self.full_name, "rebuild its sampler"):
                self._study.sampler = build(self.algorithm, self.start_seed(), self.options)
        if self.algorithm == "qmc":
            _skip_qmc(self._study, self.replayed)


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
