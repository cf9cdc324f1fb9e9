"""Hyperopt (TPE, random, annealing, ATPE) as a unitune backend, driven ask/tell style.

The backend keeps a real ``hyperopt.Trials`` and calls the algorithm exactly the way ``fmin``
does: ``algo(new_ids, domain, trials, seed)``, inserting the returned documents. Proposals wait
in the Trials as pending (``JOB_STATE_NEW``) documents until told, so batch asks see each other
the way Hyperopt intends. This module imports Hyperopt only when a backend is built.

>>> from unitune import Float, Space
>>> from unitune.trial import Trial
>>> backend = HyperoptBackend(Space({"x": Float(-1.0, 1.0)}), seed=0)
>>> [proposal] = backend.ask([0])
>>> backend.tell(Trial.complete(0, proposal.params, proposal.params["x"] ** 2))
"""

from __future__ import annotations

import datetime
import math
from collections.abc import Sequence
from typing import Any

from unitune.backend import Proposal, PrunedPolicy
from unitune.errors import BackendError, SearchExhausted
from unitune.kit import KitBackend, library_errors, to_minimized
from unitune.trial import Trial, TrialState
from unitune_hyperopt.algorithms import ALGORITHMS, SeedStream, build
from unitune_hyperopt.codec import HyperoptCodec

__all__ = ["HyperoptBackend"]


def _now() -> datetime.datetime:
    """Hyperopt's own timestamp format (UTC, millisecond resolution)."""
    from hyperopt.utils import coarse_utcnow

    return coarse_utcnow()


def _not_evaluated(_params: Any) -> None:
    raise BackendError("unitune evaluates objectives itself; Hyperopt's Domain.fn is never called")


class HyperoptBackend(KitBackend):
    """Hyperopt's algorithms behind unitune's ask/tell.

    Options (see ``unitune backends``) go to the algorithm's suggest function. COMPLETE trials
    are told as ``STATUS_OK`` with ``loss`` = value (negated when maximizing, huge magnitudes
    squashed by :func:`unitune.kit.model_value`); PRUNED trials that reported a value as
    ``STATUS_OK`` with their last reported value; FAILED trials (and PRUNED ones that reported
    nothing) as ``STATUS_FAIL``, which Hyperopt's algorithms leave out of their models;
    INTERRUPTED trials are forgotten.
    """

    name = "hyperopt"
    algorithms = ALGORITHMS
    requires = ("hyperopt",)
    install = "pip install unitune-hyperopt"
    distributions = ("hyperopt", "lightgbm", "scikit-learn")
    pruned_policy = PrunedPolicy.LAST_VALUE  # STATUS_OK with the last report; STATUS_FAIL without
    proposals_in_space = True  # the codec decodes onto the dimensions
    codec_class = HyperoptCodec

    def setup(self) -> None:
        super().setup()
        with library_errors(self.full_name, "load Hyperopt"):
            from hyperopt import base

            self._base = base
            self._suggest = build(self.algorithm, self.options)
        self.codec = HyperoptCodec(self.space)
        self._domain = None
        if self.fixed is None:
            with library_errors(self.full_name, f"build a domain for {self.space!r}"):
                self._domain = base.Domain(_not_evaluated, self.codec.native_space())
        self._trials = base.Trials()
        self._seeds = SeedStream(self.seed)
        self._n_docs = 0  # self.pending holds each running trial's Hyperopt document

    @property
    def trials(self) -> Any:
        """The live ``hyperopt.Trials`` (read it, do not modify it)."""
        return self._trials

    def propose(self, numbers: Sequence[int]) -> list[Proposal]:
        n = len(numbers)
        docs: list[dict] = []
        while len(docs) < n:
            # fmin's loop: reserve ids, let the algorithm fill some (TPE returns one per call
            # once past its startup trials; annealing accepts only one id per call).
            wanted = 1 if self.algorithm == "anneal" else n - len(docs)
            new_ids = self._trials.new_trial_ids(wanted)
            seed = self._seeds.at(self._n_docs)
            with library_errors(self.full_name, "propose"):
                new_docs = self._suggest(new_ids, self._domain, self._trials, seed)
            if not new_docs:
                if docs:
                    break
                raise SearchExhausted(f"hyperopt.{self.algorithm} proposed no new trial")
            self._insert(new_docs)
            docs.extend(new_docs)
        decode = self.codec.decode
        return [self.proposal(number, decode(doc["misc"]["vals"]), doc) for number, doc in zip(numbers, docs)]

    def learn(self, trial: Trial, doc: dict) -> None:
        doc["result"] = self._result(trial)
        doc["refresh_time"] = _now()
        doc["state"] = self._base.JOB_STATE_DONE  # last: until then the document is pending
        # NEW -> DONE keeps the document in trials.trials: no refresh (O(n)) needed.

    def learn_replayed(self, trials: Sequence[Trial]) -> None:
        self._insert([self._foreign_doc(t, self._result(t)) for t in trials])

    def forget(self, trial: Trial, doc: dict) -> None:
        """Cancel a pending document that never ran: Hyperopt's own state for a job that will
        not run, which ``Trials.refresh`` leaves out of ``trials.trials`` (all its algorithms
        read), so Hyperopt learns nothing from it."""
        doc["state"] = self._base.JOB_STATE_CANCEL
        doc["refresh_time"] = _now()
        self._trials.refresh()

    def _result(self, trial: Trial) -> dict[str, Any]:
        if trial.state is TrialState.COMPLETE:
            if len(trial.values) != 1:
                raise BackendError(
                    f"hyperopt optimizes one objective; trial {trial.number} has {len(trial.values)} values"
                )
            [loss] = to_minimized(trial.values, self.signs)
            return {"status": self._base.STATUS_OK, "loss": loss}
        if trial.state is TrialState.PRUNED and trial.intermediate and len(self.signs) == 1:
            # Hyperopt has no pruned state: a pruned trial counts with the last value it
            # reported, a pessimistic stand-in for where it was heading (as Optuna's TPE ranks
            # pruned trials by their last intermediate value).
            last = trial.intermediate[max(trial.intermediate)]
            if math.isfinite(last):
                [loss] = to_minimized((last,), self.signs)
                return {"status": self._base.STATUS_OK, "loss": loss, "unitune_state": "pruned"}
        # FAILED (and PRUNED without a report): Hyperopt's only non-success outcome, which its
        # algorithms leave out of their models.
        return {
            "status": self._base.STATUS_FAIL,
            "loss": None,
            "unitune_state": trial.state.value,
            "failure": trial.failure or trial.state.value,
        }

    def _foreign_doc(self, trial: Trial, result: dict[str, Any]) -> dict:
        """A finished document for a trial Hyperopt never proposed (replayed history)."""
        vals = self.codec.encode(trial.params)  # a SpaceError names what does not fit
        [tid] = self._trials.new_trial_ids(1)
        misc = {
            "tid": tid,
            "cmd": self._domain.cmd,
            "workdir": self._domain.workdir,
            "idxs": {label: [tid] if v else [] for label, v in vals.items()},
            "vals": vals,
        }
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
