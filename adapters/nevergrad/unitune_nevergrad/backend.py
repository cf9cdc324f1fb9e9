"""Nevergrad as a unitune backend: NGOpt (default), CMA, TwoPointsDE, PSO, OnePlusOne, random and
quasi-random (scrambled Halton) search.

>>> import unitune
>>> study = unitune.optimize(lambda p: (p["x"] - 0.3) ** 2, {"x": unitune.Float(0.0, 1.0)},
...                          backend="nevergrad.cma", n_trials=6, seed=0)  # doctest: +SKIP

Rules this adapter follows (see docs/backends/nevergrad.md):

- Identity: ``ask`` calls Nevergrad's ``ask()`` once per trial number and keeps that candidate
  under the number; ``tell`` hands Nevergrad that very candidate with its loss.
- Replay: a trial Nevergrad did not propose is told as
  ``optimizer.tell(parametrization.spawn_child(new_value=...), loss)``, Nevergrad's own way to learn
  points it did not ask for.
- Nevergrad minimizes: values take :func:`unitune.kit.to_minimized`'s sign (maximized values
  negated), then are kept within +-1e20 (``LOSS_BOUND``), below the 5e20 at which Nevergrad clips
  with a warning.
- FAILED and PRUNED trials are told with the worst loss seen so far among COMPLETE trials;
  before any trial has completed they are held back and told as soon as one completes.
  INTERRUPTED trials are forgotten: Nevergrad learns nothing (except a recast optimizer's own
  point, told like a failure: its next ask would block).
- Seed: the parametrization's ``random_state`` is ``RandomState(seed)``. Trials replayed before the
  first ask (a resumed study, history from another backend) are told to an optimizer seeded with
  ``kit.derive_seed(seed, number of trials)``, so a restart does not re-propose the first points.
  Optimizers that start from a fixed point whatever they were told (OnePlusOne: the centre) would
  still re-propose it: a proposal that repeats a replayed COMPLETE configuration is told its known
  loss and replaced by Nevergrad's next one (up to 8 times; screened by parameters on the ask path,
  as skopt does; trials are still told by number).
- Nevergrad's recast optimizers (Cobyla, Powell, SQP, ...; NGOpt picks them for small continuous
  spaces with ``num_workers=1``) propose one point at a time and would block forever on a second
  ask: while one of their points is out, further trials of a batch get random points from the
  parametrization (with a warning), told back to Nevergrad if it accepts points it did not ask for.
  Their background thread is stopped by :meth:`NevergradBackend.close` or at interpreter exit.
- A space with nothing to search (constants only) has one configuration: it is proposed once,
  then the backend raises SearchExhausted (:class:`unitune.kit.FixedConfiguration`).
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any

from unitune.backend import Proposal, PrunedPolicy, params_key
from unitune.errors import BackendError
from unitune.kit import KitBackend, WorstLoss, library_errors
from unitune.trial import Trial, TrialState
from unitune_nevergrad import guards
from unitune_nevergrad.algorithms import ALGORITHMS, build, check_option_values
from unitune_nevergrad.codec import NevergradCodec

__all__ = ["LOSS_BOUND", "NevergradBackend"]

#: Losses told to Nevergrad are clipped to [-LOSS_BOUND, LOSS_BOUND].
LOSS_BOUND = 1e20
_REDRAWS = 8  # asks tried before a replayed configuration is proposed again

#: Enum members read at every trial, as globals (why: unitune.trial).
_COMPLETE = TrialState.COMPLETE


class NevergradBackend(KitBackend):
    """A Nevergrad optimizer driven through unitune's ask/tell protocol.

    Options: ``budget`` (Nevergrad's budget; NGOpt chooses its sub-optimizer from it, default 100
    for NGOpt, None for the others) and ``num_workers`` (trials run at once, default 1).
    ``optimizer`` is the Nevergrad optimizer itself, for inspection.
    """

    name = "nevergrad"
    algorithms = ALGORITHMS
    requires = ("nevergrad",)
    install = "pip install unitune-nevergrad"
    distributions = ("nevergrad", "cma", "numpy")
    pruned_policy = PrunedPolicy.WORST_VALUE
    proposals_in_space = True  # the codec decodes onto the dimensions
    codec_class = NevergradCodec

    def setup(self) -> None:
        super().setup()
        check_option_values(self.full_name, self.options, needs_budget=self.algorithm == "ngopt")
        self.codec = NevergradCodec(self.space)
        # self.pending holds each running trial's candidate, with True when Nevergrad's ask()
        # proposed it (False for a random stand-in for a sequential optimizer, see _ask_candidate).
        self._history: list[tuple[dict[str, Any], Trial]] = []  # replayed before the first ask
        self._stand_in: WorstLoss[tuple[Any, bool]] = WorstLoss()  # the loss a failure is told with
        self._sequential: bool | None = None  # known after the first ask (NGOpt chooses lazily)
        self._warned = False  # the warning about a sequential optimizer was given
        self._replayed: dict[tuple, float] = {}  # loss of each replayed COMPLETE configuration
        # Entered at every ask and tell: built once.
        self._ask_errors = library_errors(self.full_name, "ask")
        self._tell_errors = library_errors(self.full_name, "tell a trial")
        self._opt = None if self.fixed else self._build(self.seed)

    @property
    def optimizer(self) -> Any:
        """The underlying Nevergrad optimizer (None when the space has nothing to search)."""
        return self._opt

    def close(self) -> None:
        """Stop the background thread of a recast optimizer, if any (the backend cannot ask after)."""
        if self._opt is not None:
            guards.stop_threads(self._opt)

    def _build(self, seed: int | None) -> Any:
        with library_errors(self.full_name, f"build Nevergrad's optimizer with options {self.options!r}"):
            optimizer = build(self.algorithm, self.codec.native_space(), seed, self.options)
        with library_errors(self.full_name, "prepare Nevergrad's optimizer"):
            guards.isolate_configs(optimizer)
            guards.keep_metamodels_running(optimizer)
        guards.track(optimizer)
        from nevergrad.common.errors import TellNotAskedNotSupportedError

        self._not_asked_error = TellNotAskedNotSupportedError  # looked up once, not at every tell
        return optimizer

    def first_ask(self) -> None:
        """Reseed after replayed history, then tell it."""
        history, self._history = self._history, []
        if not history:
            return
        if self.seed is not None:
            self._opt = self._build(self.start_seed())
        for value, trial in history:
            self.learn(trial, (self._spawn(value), False))

    # Asking.
    def propose(self, numbers: Sequence[int]) -> list[Proposal]:
        out = []
        opt, codec, by_number, sequential = self._opt, self.codec, self.pending._by_number, self._sequential
        try:
            # The common case, no checks: an optimizer that proposes in parallel, or a sequential
            # one (NGOpt's pick on a small continuous space) with nothing out, asked for one
            # trial; nothing replayed (_ask_candidate's cases all answer opt.ask() there).
            if not self._replayed and (sequential is False or (
                    sequential and len(numbers) == 1 and not by_number and not self._stand_in.held)):
                clipped = codec.clipped_by_name if codec._bounds is not None else None  # plain floats
                for number in numbers:
                    candidate = opt.ask()
                    if number in by_number or clipped is None:  # (proposal() raises for the former)
                        out.append(self.proposal(number, codec.decode(candidate.value), (candidate, True)))
                        continue
                    # kit.proposal and the codec's decode of a flat space of plain floats, inline:
                    # every call a trial adds shows against Nevergrad's own loop
                    by_number[number] = (candidate, True)
                    out.append(Proposal(number, clipped(candidate.value)))
                return out
            for number in numbers:
                candidate, native, params = self._ask_candidate()
                out.append(self.proposal(number, params, (candidate, native)))
        except Exception as exc:  # (not `with self._ask_errors`: two calls fewer a trial)
            self._ask_errors.reraise(exc)
        return out

    def _ask_candidate(self) -> tuple[Any, bool, dict[str, Any]]:
        """Nevergrad's next candidate and its params; a random one while a sequential optimizer
        has a point out; never a replayed configuration if Nevergrad offers another."""
        opt, decode = self._opt, self.codec.decode
        if self._sequential and any(self._natives()):
            if not self._warned:
                self._warned = True
                self._warn_sequential()
            candidate = opt.parametrization.sample()
            return candidate, False, decode(candidate.value)
        candidate = opt.ask()
        params = decode(candidate.value)
        if self._sequential is None:  # NGOpt builds its choice at the first ask: look once
            self._sequential = guards.is_sequential(opt)
        for _ in range(_REDRAWS if self._replayed else 0):
            # Some optimizers start from a fixed point (OnePlusOne: the centre) whatever they were
            # told: a resumed study would spend a trial on it again. Nevergrad hears the known loss
            # for the repeat instead, and proposes anew.
            known = self._replayed.get(params_key(params))
            if known is None:
                break
            opt.tell(candidate, known)
            candidate = opt.ask()
            params = decode(candidate.value)
        return candidate, True, params

    def _natives(self) -> list[bool]:
        pending = [native for _, native in self.pending.values()]
        return pending + [native for _, native in self._stand_in.held]

    def _warn_sequential(self) -> None:
        names = sorted({o.name for o in guards.optimizer_tree(self._opt) if o.no_parallelization})
        warnings.warn(
            f"backend {self.full_name!r}: Nevergrad's {', '.join(names)} proposes one trial at a time; "
            "while its trial runs, the other trials of a batch get random points. Build the backend "
            "with num_workers equal to the batch size (backend_options={'num_workers': ...}) so that "
            "Nevergrad picks a parallel optimizer",
            UserWarning,
            stacklevel=5,
        )

    # Telling.
    def forget(self, trial: Trial, native: tuple[Any, bool]) -> None:
        """An INTERRUPTED trial: Nevergrad learns nothing, except that a sequential (recast)
        optimizer waits for the answer to its one point out and would block the next ask forever;
        its own candidate is told like a failure (:class:`unitune.kit.WorstLoss`)."""
        if native[1] and self._sequential:
            for told, value in self._stand_in.failed(native):
                self._tell(told, value)

    def learn(self, trial: Trial, native: tuple[Any, bool]) -> None:
        """Tell Nevergrad the trial's candidate (``native``: the candidate it proposed, or a
        spawned one for a replayed trial, and whether ask() proposed it) with its loss, or hold
        a failure back until a loss stands for it (:class:`unitune.kit.WorstLoss`)."""
        stand_in = self._stand_in
        loss = self._loss(trial)
        if loss is not None and native[1] and not stand_in.held:
            # The common case, inline (WorstLoss.completed with nothing held, _tell): every call
            # a trial adds shows against Nevergrad's own loop.
            if stand_in.worst is None or loss > stand_in.worst:
                stand_in.worst = loss
            try:
                self._opt.tell(native[0], loss)
            except Exception as exc:
                self._tell_errors.reraise(exc)
            return
        for told, value in stand_in.failed(native) if loss is None else stand_in.completed(native, loss):
            self._tell(told, value)

    def learn_replayed(self, trials: Sequence[Trial]) -> None:
        for trial in trials:
            value = self.codec.encode(trial.params)
            loss = self._loss(trial)
            if loss is not None:
                self._replayed[params_key(trial.params)] = loss
            if self.started:
                self.learn(trial, (self._spawn(value), False))
            else:
                self._history.append((value, trial))

    def _spawn(self, value: dict[str, Any]) -> Any:
        with library_errors(self.full_name, f"take the point {value!r}"):
            return self._opt.parametrization.spawn_child(new_value=value)

    def _loss(self, trial: Trial) -> float | None:
        """The loss Nevergrad minimizes, or None for a trial without a value (not COMPLETE; a
        COMPLETE trial's values are finite floats, :class:`unitune.trial.Trial` checks)."""
        if trial.state is not _COMPLETE:
            return None
        if len(trial.values) != 1:
            raise BackendError(
                f"nevergrad is single-objective here; trial {trial.number} has {len(trial.values)} values"
            )
        # to_minimized's sign, inline (it runs at every tell); its model_value squash of
        # magnitudes above 1e100 changes nothing here, where LOSS_BOUND clips them first.
        loss = -trial.values[0] if self.signs[0] < 0 else trial.values[0]
        return -LOSS_BOUND if loss < -LOSS_BOUND else LOSS_BOUND if loss > LOSS_BOUND else loss

    def _tell(self, entry: tuple[Any, bool], loss: float) -> None:
        candidate, native = entry
        try:
            self._opt.tell(candidate, loss)
        except self._not_asked_error as exc:
            if native:
                self._tell_errors.reraise(exc)
            # Points Nevergrad did not ask for are ignored by optimizers that cannot learn
            # them (recast ones, some that NGOpt picks): nothing else to do.
        except Exception as exc:  # (not `with self._tell_errors`: two calls fewer a trial)
            self._tell_errors.reraise(exc)
