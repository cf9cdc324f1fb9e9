"""scikit-optimize as a unitune backend: GP (default), random forest, extra trees, GBRT, random.

>>> import unitune
>>> study = unitune.optimize(lambda p: (p["x"] - 0.3) ** 2, {"x": unitune.Float(0.0, 1.0)},
...                          backend="skopt.rf", n_trials=6, seed=0,
...                          backend_options={"n_initial_points": 3})  # doctest: +SKIP

Rules this adapter follows (see docs/backends/skopt.md):

- skopt minimizes: values go through :func:`unitune.kit.to_minimized` (maximized values negated,
  huge magnitudes squashed) before ``tell``.
- FAILED and PRUNED trials never reach skopt as NaN or inf. They are told with the worst
  value seen so far among COMPLETE trials (so the model learns to avoid the region); before any
  trial has completed they are held back, counted as pending, and told as soon as one completes.
  INTERRUPTED trials teach nothing: their point is forgotten.
- Batch ask uses skopt's constant liar (``batch_strategy``, default ``"cl_min"``, in skopt's
  minimizing sign); points asked and not yet told are lied about too.
- A proposal that repeats a configuration already told or pending is replaced by a random draw
  from skopt's own RNG (what skopt does itself with ``avoid_duplicates`` in its model phase).
  This screens proposals by their parameters (deduplication); trials are told by number.
- Replayed trials (a resumed study, history from another backend) are told to skopt in one
  batch at the first ask, and the RNG is reseeded from ``(seed, number of trials)`` so that a
  restart does not re-propose the first points of the original run.
- A tell that fails or is interrupted inside skopt is rolled back: the optimizer stays as it was.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np

from unitune.backend import Proposal, PrunedPolicy, params_key
from unitune.errors import BackendError, SearchExhausted
from unitune.kit import KitBackend, WorstLoss, library_errors, to_minimized
from unitune.trial import Trial, TrialState
from unitune_skopt.algorithms import ALGORITHMS, BATCH_STRATEGIES, build
from unitune_skopt.codec import SkoptCodec

__all__ = ["SkoptBackend"]

_REDRAWS = 32  # random redraws tried before a repeated configuration is given up on


class SkoptBackend(KitBackend):
    """scikit-optimize's ``Optimizer`` driven through unitune's ask/tell protocol.

    Options (see ``unitune backends``) go to ``skopt.Optimizer`` unchanged, plus
    ``batch_strategy`` for ``ask(n)``; the "random" algorithm takes only ``batch_strategy``.
    """

    name = "skopt"
    algorithms = ALGORITHMS
    requires = ("skopt", "sklearn")
    install = "pip install unitune-skopt"
    distributions = ("scikit-optimize", "scikit-learn", "scipy")
    pruned_policy = PrunedPolicy.WORST_VALUE
    proposals_in_space = True  # the codec decodes onto the dimensions
    codec_class = SkoptCodec

    def setup(self) -> None:
        super().setup()
        options = dict(self.options)
        self._strategy = options.pop("batch_strategy")
        if self._strategy not in BATCH_STRATEGIES:
            raise BackendError(
                f"backend {self.full_name!r}: batch_strategy must be one of {list(BATCH_STRATEGIES)!r}, "
                f"got {self._strategy!r}"
            )
        self._skopt_options = options
        self.codec = SkoptCodec(self.space)
        self._opt = None if self.fixed else self._new_optimizer(self.seed)
        self._history: list[tuple[list[Any], float]] = []  # told before the first ask
        self._stand_in: WorstLoss[list[Any]] = WorstLoss()  # the value a failure is told with
        self._seen: set[tuple] = set()  # configurations told or replayed (for deduplication)
        # self.pending holds (params key, skopt point) for each running trial.

    @property
    def exhaustible(self) -> bool:
        return self.fixed is not None or self.space.cardinality is not None

    @property
    def optimizer(self) -> Any:
        """The underlying ``skopt.Optimizer`` (None when the space has nothing to search)."""
        return self._opt

    # Building the optimizer.
    def _new_optimizer(self, random_state: Any) -> Any:
        action = f"build skopt.Optimizer with the options {self._skopt_options!r}"
        with library_errors(self.full_name, action):
            return build(self.algorithm, self.codec.native_space(), random_state, self._skopt_options)

    def first_ask(self) -> None:
        """Reseed after replayed history and tell it in one batch."""
        if not self._history:
            return
        if self.seed is not None:
            self._opt = self._new_optimizer(self.start_seed())
        points, values = zip(*self._history)
        self._history = []
        self._skopt_tell(list(points), list(values))

    # Asking.
    def propose(self, numbers: Sequence[int]) -> list[Proposal]:
        out = []
        batch_keys: set[tuple] = set()
        for number, point in zip(numbers, self._propose(len(numbers))):
            params, point = self._unique(point, batch_keys)
            if params is None:
                if out:
                    break
                raise SearchExhausted(
                    f"skopt: every one of the {self.space.cardinality} configurations has been "
                    "proposed or told"
                )
            key = params_key(params)
            batch_keys.add(key)
            out.append(self.proposal(number, params, (key, point)))
        return out

    def _pending_keys(self) -> set[tuple]:
        return {key for key, _ in self.pending.values()}

    def _propose(self, n: int) -> list[list[Any]]:
        if not n:
            return []
        opt = self._opt
        pending = [point for _, point in self.pending.values()]
        pending += self._stand_in.held
        with library_errors(self.full_name, "ask"):
            if pending:
                # Constant liar over the points still in flight, on a throw-away copy.
                opt = opt.copy(random_state=opt.rng.randint(0, np.iinfo(np.int32).max))
                opt._tell(pending, [self._lie(opt)] * len(pending))
            with warnings.catch_warnings():
                # skopt warns when its acquisition lands on a known point and it draws a random
                # point instead; repeats are screened here anyway (see _unique): noise.
                warnings.filterwarnings("ignore", message="The objective has been evaluated at point")
                if n == 1:
                    return [opt.ask()]
                return opt.ask(n_points=n, strategy=self._strategy)

    def _lie(self, opt: Any) -> float:
        if not opt.yi:
            return 0.0  # skopt's own lie when nothing is known
        reduce = {"cl_min": np.min, "cl_mean": np.mean, "cl_max": np.max}[self._strategy]
        return float(reduce(opt.yi))

    def _unique(self, point: list[Any], taken: set[tuple]) -> tuple[dict[str, Any] | None, list[Any]]:
        """Decode ``point``; replace it by random draws while it repeats a known configuration."""
        params = self.codec.decode(point)
        pending = self._pending_keys()
        for _ in range(_REDRAWS):
            key = params_key(params)
            if key not in self._seen and key not in pending and key not in taken:
                return params, point
            point = self._opt.space.rvs(random_state=self._opt.rng)[0]
            params = self.codec.decode(point)
        size = self.space.cardinality
        if size is None:
            return params, point  # a continuous space: a repeat is astronomically unlikely
        known = self._seen | pending | taken
        left = [p for p in self.space.grid(max(2, size)) if params_key(p) not in known]
        if not left:
            return None, point
        params = left[int(self._opt.rng.randint(0, len(left)))]
        return params, self.codec.encode(params)

    # Telling: by trial number only. An INTERRUPTED trial never ran: skopt learns nothing, and
    # the configuration may be proposed again.
    def learn(self, trial: Trial, native: tuple[tuple, list[Any]]) -> None:
        key, point = native  # the point skopt proposed for this trial
        self._seen.add(key)
        self._learn(trial, point)

    def learn_replayed(self, trials: Sequence[Trial]) -> None:
        for trial in trials:
            self._seen.add(params_key(trial.params))
            self._learn(trial, self.codec.encode(trial.params))

    def _learn(self, trial: Trial, point: list[Any]) -> None:
        if trial.state is TrialState.COMPLETE:
            if len(trial.values) != 1:
                raise BackendError(
                    f"skopt is single-objective; trial {trial.number} has {len(trial.values)} values"
                )
            [value] = to_minimized(trial.values, self.signs)
            told = self._stand_in.completed(point, value)
        else:
            told = self._stand_in.failed(point)
        if told:
            self._record([p for p, _ in told], [v for _, v in told])

    def _record(self, points: list[list[Any]], values: list[float]) -> None:
        if not self.started:
            self._history.extend(zip(points, values))
            return
        self._skopt_tell(points, values)

    def _skopt_tell(self, points: list[list[Any]], values: list[float]) -> None:
        """skopt's tell, rolled back if it raises (or is interrupted) halfway."""
        opt = self._opt
        saved = (
            len(opt.Xi),
            len(opt.yi),
            len(opt.models),
            opt.__dict__.get("_next_x"),
            opt.__dict__.get("gains_"),
        )
        try:
            with library_errors(self.full_name, "learn a trial"):
                if len(points) == 1:
                    opt.tell(points[0], values[0])
                else:
                    opt.tell(points, values)
        except BaseException:
            n_x, n_y, n_models, next_x, gains = saved
            del opt.Xi[n_x:], opt.yi[n_y:], opt.models[n_models:]
            for attr, old in (("_next_x", next_x), ("gains_", gains)):
                if old is None:
                    opt.__dict__.pop(attr, None)
                else:
                    setattr(opt, attr, old)
            raise
