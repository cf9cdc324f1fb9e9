"""Hyperopt (TPE, random, annealing, ATPE) as a unitune backend, driven ask/tell style.

The backend keeps a real ``hyperopt.Trials`` and calls the algorithm exactly the way ``fmin``
does: ``algo(new_ids, domain, trials, seed)``, inserting the returned documents. Proposals wait
in the Trials as pending (``JOB_STATE_NEW``) documents until told, so batch asks see each other
the way Hyperopt intends. This module imports Hyperopt only when a backend is built.

>>> from unitune import Float, Space
>>> from unitune.trial import Trial
>>> backend = HyperoptBackend(Space({"x": Float(-1.0, 1.0)}), seed=0)
>>> [params] = backend.ask(1)
>>> backend.tell(Trial.complete(0, params, params["x"] ** 2))
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping, Sequence
from typing import Any

from unitune.backend import Algorithm, Backend, Capabilities, Conversion, Proposal
from unitune.errors import BackendError, BackendNotInstalledError, SearchExhausted, SpaceError
from unitune.kit import PendingTrials
from unitune.space import Space
from unitune.trial import Direction, Trial, TrialState
from unitune_hyperopt.algorithms import ALGORITHMS, ATPE_INSTALL, SeedStream, build_suggest
from unitune_hyperopt.translate import Translation

__all__ = ["HyperoptBackend"]


def _now() -> datetime.datetime:
    """Hyperopt's own timestamp format (UTC, millisecond resolution)."""
    from hyperopt.utils import coarse_utcnow

    return coarse_utcnow()


def _not_evaluated(_params: Any) -> None:
    raise BackendError("unitune evaluates objectives itself; Hyperopt's Domain.fn is never called")


class HyperoptBackend(Backend):
    """Hyperopt's algorithms behind unitune's ask/tell.

    Options go to the algorithm's suggest function (``n_startup_jobs``, ``gamma``,
    ``n_EI_candidates``, ``prior_weight`` for TPE; ``avg_best_idx``, ``shrink_coef`` for
    annealing); unknown options raise BackendError. COMPLETE trials are told as
    ``STATUS_OK`` with ``loss`` = value (negated when maximizing); FAILED and PRUNED trials as
    ``STATUS_FAIL``, which Hyperopt's algorithms rank as infinitely bad.
    """

    name = "hyperopt"
    algorithms = {
        name: Algorithm(
            description,
            Capabilities(conditional=True, batch=True, multi_objective=False, replay=True, seeded=True),
            requires=("lightgbm", "sklearn") if name == "atpe" else (),
            install=ATPE_INSTALL if name == "atpe" else "",
        )
        for name, description in ALGORITHMS.items()
    }
    requires = ("hyperopt",)
    install = "pip install unitune-hyperopt"
    distributions = ("hyperopt", "lightgbm", "scikit-learn")

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
        try:
            from hyperopt import base
        except ImportError as exc:
            raise BackendNotInstalledError(
                f"backend 'hyperopt' needs the hyperopt library ({exc}); install with: {self.install}"
            ) from exc
        self._base = base
        self._suggest = build_suggest(self.algorithm, options)
        self.options = dict(options)
        self._translation = Translation(self.space)
        self._domain = None
        if not self._translation.labels:
            # Nothing to search (constants only): Hyperopt cannot build an empty domain.
            self._constants = self.space.sample_by(lambda name, _dim: None)
        else:
            self._build_domain()
        self._trials = base.Trials()
        self._seeds = SeedStream(seed)
        self._n_docs = 0
        self._pending: PendingTrials[dict] = PendingTrials(self.full_name)
        self._sign = -1.0 if self.directions[0] is Direction.MAXIMIZE else 1.0

    def _build_domain(self) -> None:
        try:
            self._domain = self._base.Domain(_not_evaluated, self._translation.expression())
        except Exception as exc:  # translate, never swallow
            raise BackendError(f"hyperopt could not build a domain for {self.space!r}: {exc}") from exc

    @property
    def trials(self) -> Any:
        """The live ``hyperopt.Trials`` (read it, do not modify it)."""
        return self._trials

    def conversion_report(self) -> list[Conversion]:
        return self._translation.report()

    def ask(self, numbers: Sequence[int]) -> list[Proposal]:
        n = len(numbers)
        if self._domain is None:
            return [Proposal(number, dict(self._constants)) for number in numbers]
        docs: list[dict] = []
        while len(docs) < n:
            # fmin's loop: reserve ids, let the algorithm fill some (TPE returns one per call
            # once past its startup trials; annealing accepts only one id per call).
            wanted = 1 if self.algorithm == "anneal" else n - len(docs)
            new_ids = self._trials.new_trial_ids(wanted)
            seed = self._seeds.at(self._n_docs)
            try:
                new_docs = self._suggest(new_ids, self._domain, self._trials, seed)
            except BackendError:
                raise
            except Exception as exc:  # translate, never swallow
                raise BackendError(
                    f"hyperopt.{self.algorithm} failed to propose: {type(exc).__name__}: {exc}"
                ) from exc
            if not new_docs:
                if docs:
                    break
                raise SearchExhausted(f"hyperopt.{self.algorithm} proposed no new trial")
            self._insert(new_docs)
            docs.extend(new_docs)
        out = []
        for number, doc in zip(numbers, docs):
            self._pending.add(number, doc)
            out.append(Proposal(number, self._translation.decode(doc["misc"]["vals"])))
        return out

    def tell(self, trial: Trial) -> None:
        if not trial.state.is_finished:
            raise BackendError(f"tell needs a finished trial, trial {trial.number} is {trial.state.value}")
        if self._domain is None:
            return
        doc = self._pending.pop(trial.number)
        doc["result"] = self._result(trial)
        doc["state"] = self._base.JOB_STATE_DONE
        doc["refresh_time"] = _now()
        # NEW -> DONE keeps the document in trials.trials: no refresh (O(n)) needed.

    def replay(self, trials: Sequence[Trial]) -> None:
        results = [(t, self._result(t)) for t in trials if t.state is not TrialState.INTERRUPTED]
        if self._domain is not None and results:
            self._insert([self._foreign_doc(t, result) for t, result in results])

    def _result(self, trial: Trial) -> dict[str, Any]:
        if trial.state is TrialState.COMPLETE:
            if len(trial.values) != 1:
                raise BackendError(
                    f"hyperopt optimizes one objective; trial {trial.number} has {len(trial.values)} values"
                )
            return {"status": self._base.STATUS_OK, "loss": self._sign * trial.values[0]}
        # FAILED, PRUNED and INTERRUPTED alike: Hyperopt's only non-success outcome, which its
        # algorithms leave out of their models.
        return {"status": self._base.STATUS_FAIL, "loss": None, "unitune_state": trial.state.value,
                "failure": trial.failure or trial.state.value}

    def _foreign_doc(self, trial: Trial, result: dict[str, Any]) -> dict:
        """A finished document for a trial Hyperopt never proposed (replayed history)."""
        try:
            vals = self._translation.encode(trial.params)
        except SpaceError as exc:
            raise BackendError(f"trial {trial.number}: its parameters do not fit the space: {exc}") from exc
        [tid] = self._trials.new_trial_ids(1)
        misc = {"tid": tid, "cmd": self._domain.cmd, "workdir": self._domain.workdir,
                "idxs": {label: [tid] if v else [] for label, v in vals.items()}, "vals": vals}
        [doc] = self._trials.new_trial_docs([tid], [None], [result], [misc])
        doc["state"] = self._base.JOB_STATE_DONE
        return doc

    def _insert(self, docs: list[dict]) -> None:
        # Like fmin's documents once evaluated: times set and a "loss" key (None until told);
        # ATPE reads both from every document, pending ones included.
        now = _now()
        for doc in docs:
            doc["result"].setdefault("loss", None)
            doc["book_time"] = doc["refresh_time"] = now
        self._trials.insert_trial_docs(docs)
        self._trials.refresh()
        self._n_docs += len(docs)
