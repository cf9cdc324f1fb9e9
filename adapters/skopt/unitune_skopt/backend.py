"""scikit-optimize as a unitune backend: GP (default), random forest, extra trees, GBRT, random.

>>> import unitune
>>> study = unitune.optimize(lambda p: (p["x"] - 0.3) ** 2, {"x": unitune.Float(0.0, 1.0)},
...                          backend="skopt.rf", n_trials=6, seed=0,
...                          backend_options={"n_initial_points": 3})  # doctest: +SKIP

Rules this adapter follows (see docs/backends/skopt.md):

- skopt minimizes: maximized values are negated before ``tell``.
- FAILED and PRUNED trials never reach skopt as NaN or inf. They are told with the worst
  value seen so far among COMPLETE trials (so the model learns to avoid the region); before any
  trial has completed they are held back, counted as pending, and told as soon as one completes.
- Batch ask uses skopt's constant liar (``batch_strategy``, default ``"cl_min"``, in skopt's
  minimizing sign); points asked and not yet told are lied about too.
- A proposal that repeats a configuration already told or pending is replaced by a random draw
  from skopt's own RNG (what skopt does itself with ``avoid_duplicates`` in its model phase).
- Trials told before the first ask (a resumed study, history from another backend) are told to
  skopt in one batch, and the RNG is reseeded from ``(seed, number of trials)`` so that a restart
  does not re-propose the first points of the original run.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from unitune.backend import Algorithm, Backend, Capabilities, Conversion, Proposal, check_options, params_key
from unitune.errors import BackendError, SearchExhausted
from unitune.kit import PendingTrials
from unitune.space import Space
from unitune.trial import Direction, Trial, TrialState
from unitune_skopt.translate import SpaceCodec

__all__ = ["SkoptBackend"]

_STRATEGIES = ("cl_min", "cl_mean", "cl_max")
_REDRAWS = 32  # random redraws tried before a repeated configuration is given up on


class SkoptBackend(Backend):
    """scikit-optimize's ``Optimizer`` driven through unitune's ask/tell protocol.

    Keyword options go to ``skopt.Optimizer`` unchanged (``n_initial_points``,
    ``initial_point_generator``, ``acq_func``, ``acq_optimizer``, ``acq_func_kwargs``,
    ``acq_optimizer_kwargs``, ``n_jobs``, ``model_queue_size``, ``avoid_duplicates``), plus
    ``batch_strategy`` for ``ask(n)``. The "random" algorithm takes only ``batch_strategy``.
    """

    name = "skopt"
    algorithms = {
        name: Algorithm(description, Capabilities(conditional=False, batch=True, multi_objective=False,
                                                  replay=True, seeded=True))
        for name, description in {
            "gp": "Gaussian process surrogate (skopt base_estimator='GP', gp_minimize)",
            "rf": "random forest surrogate (skopt base_estimator='RF', forest_minimize)",
            "et": "extra trees surrogate (skopt base_estimator='ET', forest_minimize)",
            "gbrt": "gradient-boosted quantile trees surrogate (skopt 'GBRT', gbrt_minimize)",
            "random": "random sampling from skopt's RNG (skopt base_estimator='dummy')",
        }.items()
    }
    requires = ("skopt", "sklearn")
    install = "pip install unitune-skopt"
    distributions = ("scikit-optimize", "scikit-learn", "scipy")

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
        from unitune_skopt import algorithms  # imports scikit-optimize

        check_options(self.full_name, options, algorithms.options_for(self.algorithm))
        self._strategy = options.pop("batch_strategy", "cl_min")
        if self._strategy not in _STRATEGIES:
            raise BackendError(
                f"backend {self.full_name!r}: batch_strategy must be one of {list(_STRATEGIES)!r}, "
                f"got {self._strategy!r}"
            )
        self._build = algorithms.build_optimizer
        self._options = options
        self._sign = -1.0 if self.directions[0] is Direction.MAXIMIZE else 1.0
        self._codec = SpaceCodec(self.space)
        self._opt = None if self._codec.empty else self._new_optimizer(seed)
        self._started = False  # True after the first ask
        self._history: list[tuple[list[Any], float]] = []  # told before the first ask
        self._held: list[list[Any]] = []  # failed points waiting for a first COMPLETE value
        self._worst: float | None = None  # worst internal (minimized) value seen
        self._told = 0
        self._seen: set[tuple] = set()
        self._pending: PendingTrials[tuple[tuple, list[Any]]] = PendingTrials(self.full_name)

    def conversion_report(self) -> list[Conversion]:
        return self._codec.report()

    @property
    def optimizer(self) -> Any:
        """The underlying ``skopt.Optimizer`` (None when the space has nothing to search)."""
        return self._opt

    # Building the optimizer.
    def _new_optimizer(self, random_state: Any) -> Any:
        try:
            return self._build(self.algorithm, self._codec.dimensions(), random_state, self._options)
        except (ValueError, TypeError) as exc:
            raise BackendError(
                f"backend {self.full_name!r}: scikit-optimize rejected the options "
                f"{self._options!r}: {exc}"
            ) from exc

    def _start(self) -> None:
        """On the first ask: reseed after replayed history and tell it in one batch."""
        self._started = True
        if self._opt is None or not self._history:
            return
        if self.seed is not None:
            derived = np.random.SeedSequence([int(self.seed), self._told]).generate_state(1)[0]
            self._opt = self._new_optimizer(int(derived))
        points, values = zip(*self._history)
        self._history = []
        self._skopt_tell(list(points), list(values))

    # Asking.
    def ask(self, numbers: Sequence[int]) -> list[Proposal]:
        if not self._started:
            self._start()
        if self._opt is None:
            return self._ask_fixed(numbers)
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
            self._pending.add(number, (key, point))
            out.append(Proposal(number, params))
        return out

    def _pending_keys(self) -> set[tuple]:
        return {key for key, _ in self._pending.values()}

    def _ask_fixed(self, numbers: Sequence[int]) -> list[Proposal]:
        params = self._codec.decode([])
        key = params_key(params)
        if key in self._seen or key in self._pending_keys():
            raise SearchExhausted("skopt: the space has a single configuration, already proposed")
        self._pending.add(numbers[0], (key, []))
        return [Proposal(numbers[0], params)]

    def _propose(self, n: int) -> list[list[Any]]:
        opt = self._opt
        pending = [point for _, point in self._pending.values()]
        pending += self._held
        try:
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
        except (ValueError, TypeError, RuntimeError) as exc:
            raise BackendError(f"backend {self.full_name!r}: scikit-optimize failed to ask: {exc}") from exc

    def _lie(self, opt: Any) -> float:
        if not opt.yi:
            return 0.0  # skopt's own lie when nothing is known
        reduce = {"cl_min": np.min, "cl_mean": np.mean, "cl_max": np.max}[self._strategy]
        return float(reduce(opt.yi))

    def _unique(self, point: list[Any], taken: set[tuple]) -> tuple[dict[str, Any] | None, list[Any]]:
        """Decode ``point``; replace it by random draws while it repeats a known configuration."""
        params = self._codec.decode(point)
        pending = self._pending_keys()
        for _ in range(_REDRAWS):
            key = params_key(params)
            if key not in self._seen and key not in pending and key not in taken:
                return params, point
            point = self._opt.space.rvs(random_state=self._opt.rng)[0]
            params = self._codec.decode(point)
        size = self.space.cardinality
        if size is None:
            return params, point  # a continuous space: a repeat is astronomically unlikely
        known = self._seen | pending | taken
        left = [p for p in self.space.grid(max(2, size)) if params_key(p) not in known]
        if not left:
            return None, point
        params = left[int(self._opt.rng.randint(0, len(left)))]
        return params, self._codec.encode(params)

    # Telling.
    def tell(self, trial: Trial) -> None:
        if not trial.state.is_finished:
            raise BackendError(f"skopt: tell needs a finished trial, trial {trial.number} is running")
        key, point = self._pending.pop(trial.number)  # the point skopt proposed
        if trial.state is TrialState.INTERRUPTED:
            return  # never ran: skopt learns nothing, and the configuration may be proposed again
        self._learn(trial, key, point)

    def replay(self, trials: Sequence[Trial]) -> None:
        for trial in trials:
            if trial.state is not TrialState.INTERRUPTED:
                key = params_key(trial.params)
                self._learn(trial, key, None if self._opt is None else self._codec.encode(trial.params))

    def _learn(self, trial: Trial, key: tuple, point: list[Any] | None) -> None:
        self._seen.add(key)
        self._told += 1
        if self._opt is None:
            return
        if trial.state is TrialState.COMPLETE:
            if len(trial.values) != 1:
                raise BackendError(
                    f"skopt is single-objective; trial {trial.number} has {len(trial.values)} values"
                )
            value = self._sign * trial.values[0]
            self._worst = value if self._worst is None else max(self._worst, value)
            held, self._held = self._held, []
            self._record([point, *held], [value] + [self._worst] * len(held))
        elif self._worst is None:
            self._held.append(point)  # no finite value to stand for the failure yet
        else:
            self._record([point], [self._worst])

    def _record(self, points: list[list[Any]], values: list[float]) -> None:
        if not self._started:
            self._history.extend(zip(points, values))
            return
        self._skopt_tell(points, values)

    def _skopt_tell(self, points: list[list[Any]], values: list[float]) -> None:
        try:
            if len(points) == 1:
                self._opt.tell(points[0], values[0])
            else:
                self._opt.tell(points, values)
        except (ValueError, TypeError) as exc:
            raise BackendError(
                f"backend {self.full_name!r}: scikit-optimize rejected a trial: {exc}"
            ) from exc
