"""The backend protocol (v2): trials are told by identity.

The study hands :meth:`Backend.ask` the numbers of the trials it is about to start; the backend
returns one :class:`Proposal` per number. :meth:`Backend.tell` reports one of the backend's own
trials by that number, never by matching parameters. Finished trials the backend never proposed
(a resumed study, ``add_trials``, a backend switched midway) arrive through :meth:`Backend.replay`.
A running trial's intermediate values may be heard through :meth:`Backend.report`.

A backend sees only the space, its seed, the study's directions and what it is told; never the
study itself. Each algorithm is declared once, as an :class:`Algorithm` record.

>>> from unitune import Float, Space
>>> from unitune.backends.random_search import RandomSearch
>>> backend = RandomSearch(Space({"x": Float(0.0, 1.0)}), seed=0)
>>> [proposal] = backend.ask([0])
>>> proposal.number, 0.0 <= proposal.params["x"] <= 1.0
(0, True)
"""

from __future__ import annotations

import abc
import enum
import functools
import importlib.metadata
import importlib.util
import numbers
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, ClassVar

from unitune.errors import BackendError, BackendNotInstalledError, CapabilityError, ConversionError
from unitune.space import Space
from unitune.trial import Direction, Trial

__all__ = [
    "Algorithm",
    "Backend",
    "Capabilities",
    "Conversion",
    "Fidelity",
    "Proposal",
    "PrunedPolicy",
    "check_options",
    "check_seed",
    "params_key",
]


@dataclass(frozen=True)
class Capabilities:
    """What a backend (or one of its algorithms) can do natively."""

    conditional: bool = True
    batch: bool = True
    multi_objective: bool = False
    replay: bool = True
    seeded: bool = True

    def as_dict(self) -> dict[str, bool]:
        """The capabilities as a plain dict (for tables and JSON)."""
        return {
            "conditional": self.conditional,
            "batch": self.batch,
            "multi_objective": self.multi_objective,
            "replay": self.replay,
            "seeded": self.seeded,
        }


class Fidelity(str, enum.Enum):
    """How faithfully a backend expresses a space feature."""

    EXACT = "exact"
    APPROXIMATED = "approximated"
    EMULATED = "emulated"


class PrunedPolicy(str, enum.Enum):
    """What a backend's optimizer learns from a PRUNED trial.

    Each backend class declares one (:attr:`Backend.pruned_policy`); it is shown beside the
    conversion report (``unitune conversion``, ``unitune backends``, :meth:`Backend.pruned_trials`).
    """

    #: told to the library as its own pruned state, with every intermediate value reported
    NATIVE = "native"
    #: told as a success whose value is the last reported value (a failure when there is none)
    LAST_VALUE = "last_value"
    #: told with the worst value among COMPLETE trials so far, held back until one completes
    WORST_VALUE = "worst_value"
    #: the algorithm learns nothing from told values (random, grid)
    NOT_USED = "not_used"

    @property
    def detail(self) -> str:
        """The policy in words."""
        return _PRUNED_DETAILS[self]


_PRUNED_DETAILS = {
    PrunedPolicy.NATIVE: "told to the library as its own PRUNED state, with every intermediate value "
    "the trial reported",
    PrunedPolicy.LAST_VALUE: "told as a success whose value is the last intermediate value the trial "
    "reported (as a failure when it reported none, or the last one is NaN or infinite)",
    PrunedPolicy.WORST_VALUE: "told with the worst value among the COMPLETE trials so far (held back "
    "until one has completed); its intermediate values are not used",
    PrunedPolicy.NOT_USED: "nothing to learn: the algorithm's proposals do not depend on told values",
}


@dataclass(frozen=True)
class Conversion:
    """How one parameter (or one feature of it) is expressed in the backend."""

    param: str
    fidelity: Fidelity
    detail: str

    @property
    def lossy(self) -> bool:
        """True for anything but an exact conversion."""
        return self.fidelity is not Fidelity.EXACT


def params_key(params: Mapping[str, Any]) -> tuple:
    """A hashable, order-independent, type-aware key of a parameter dict (``1``, ``1.0`` and
    ``True`` differ; lists and dicts of constants become tuples). Backends call it per trial."""
    items = []
    for name, value in params.items():
        cls = type(value)
        if cls is list or cls is dict:
            value = _hashable(value)
        items.append((name, cls, value))
    items.sort()  # names are unique, so only names are ever compared
    return tuple(items)


def _hashable(value: Any) -> Any:
    if isinstance(value, list):
        return tuple(_hashable(v) for v in value)
    if isinstance(value, dict):
        return tuple(sorted((k, _hashable(v)) for k, v in value.items()))
    return (type(value).__name__, value)


def check_options(backend: str, options: Mapping[str, Any], allowed: Iterable[str]) -> None:
    """Raise BackendError naming every option ``backend`` does not know."""
    allowed = set(allowed)
    unknown = sorted(set(options) - allowed)
    if unknown:
        raise BackendError(
            f"backend {backend!r} got unknown option(s) {unknown!r}; "
            f"it accepts {sorted(allowed) or 'no options'}"
        )


@dataclass(frozen=True)
class Algorithm:
    """One algorithm of a backend, declared once: what it is, what it can do, what it needs.

    ``options`` maps every option the algorithm accepts to its default; the base class rejects
    any other option and fills in the defaults (``Backend.options``). ``requires`` lists the
    importable modules it needs beyond its family's own, ``install`` what to install for them.
    """

    description: str
    capabilities: Capabilities = Capabilities()
    requires: tuple[str, ...] = ()
    install: str = ""
    options: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "requires", tuple(self.requires))
        object.__setattr__(self, "options", MappingProxyType(dict(self.options)))


@dataclass(frozen=True, slots=True, init=False)
class Proposal:
    """A configuration proposed for one trial, identified by the study's trial number."""

    number: int
    params: dict[str, Any]

    def __init__(self, number: int, params: dict[str, Any]) -> None:
        # By hand through the slots' setters, as Trial.__init__ (why: unitune.trial): one is
        # built at every ask.
        _set_number(self, number)
        _set_params(self, params)


_set_number, _set_params = Proposal.__dict__["number"].__set__, Proposal.__dict__["params"].__set__


#: The largest seed: every backend's library accepts 0 to 2**32 - 1 (numpy's RandomState).
MAX_SEED = 2**32 - 1


def check_seed(seed: Any) -> int | None:
    """``seed`` as a plain int (numpy integers accepted), or None; BackendError outside 0 to
    2**32 - 1, the one range every backend takes, so a seed that works on one backend works on all."""
    if seed is None:
        return None
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral):
        raise BackendError(f"seed must be an integer from 0 to 2**32 - 1, or None; got {seed!r} "
                           f"({type(seed).__name__})")
    if not 0 <= seed <= MAX_SEED:
        raise BackendError(f"seed must be an integer from 0 to 2**32 - 1 ({MAX_SEED}), the range every "
                           f"backend's library accepts, or None; got {seed!r}")
    return int(seed)


class Backend(abc.ABC):
    """Base class of every optimizer backend.

    Subclasses set ``name`` (the family), ``algorithms`` (name -> :class:`Algorithm`, the first
    being the default), ``requires`` and ``install`` (what the whole family needs),
    ``distributions`` (whose versions a benchmark records), ``pruned_policy`` (what a PRUNED
    trial teaches the optimizer, :class:`PrunedPolicy`) and ``proposals_in_space``; they
    implement :meth:`ask`, :meth:`tell` and :meth:`replay`, and may override :meth:`setup`, :meth:`report`,
    :meth:`conversion_report`, :attr:`exhaustible` and :meth:`close`.

    The constructor is the same for every backend: it validates the options against the
    algorithm's declaration, stores them (defaults filled in) as ``self.options``, then calls
    :meth:`setup`.
    """

    name: ClassVar[str] = "backend"
    algorithms: ClassVar[Mapping[str, Algorithm]] = {"default": Algorithm("the backend's only algorithm")}
    requires: ClassVar[Sequence[str]] = ()
    install: ClassVar[str] = ""
    distributions: ClassVar[Sequence[str]] = ()
    #: What the optimizer learns from a PRUNED trial (None: not declared by the backend).
    pruned_policy: ClassVar[PrunedPolicy | None] = None
    #: True when every proposal is a configuration of the space by construction (decoded onto
    #: the dimensions, plain Python values): the study then skips checking each proposal. Set it
    #: once :mod:`unitune.testing` passes; a subclass that defines its own ``ask`` or ``propose``
    #: is checked again unless it declares it too.
    proposals_in_space: ClassVar[bool] = False

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        # A subclass that makes proposals its own way is checked again unless it says otherwise.
        if ("ask" in vars(cls) or "propose" in vars(cls)) and "proposals_in_space" not in vars(cls):
            cls.proposals_in_space = False

    def __init__(
        self,
        space: Space | Mapping[str, Any],
        *,
        seed: int | None = None,
        directions: Sequence[str | Direction] = (Direction.MINIMIZE,),
        algorithm: str | None = None,
        **options: Any,
    ):
        self.space = Space.coerce(space)
        self.seed = check_seed(seed)
        self.directions = tuple(Direction.parse(d) for d in directions)
        if not self.directions:
            raise BackendError("a backend needs at least one direction")
        self.algorithm = self.checked_algorithm(algorithm)
        declared = self.algorithms[self.algorithm].options
        check_options(self.full_name, options, declared)
        self.options: dict[str, Any] = {**declared, **options}
        caps = self.capabilities_of(self.algorithm)
        if len(self.directions) > 1 and not caps.multi_objective:
            raise CapabilityError(
                f"backend {self.full_name!r} optimizes a single objective; the study has "
                f"{len(self.directions)} directions. Use a multi-objective backend such as 'optuna.nsga2'"
            )
        self.setup()

    def setup(self) -> None:  # noqa: B027 - optional hook
        """Build the optimizer once the space, seed, directions and options are set."""

    # Declarations, read without building a backend.
    @classmethod
    def default_algorithm(cls) -> str:
        """The algorithm used when none is named."""
        return next(iter(cls.algorithms))

    @classmethod
    def requires_of(cls, algorithm: str) -> tuple[str, ...]:
        """Importable modules one algorithm needs: its family's, then its own."""
        return (*cls.requires, *cls.algorithms[algorithm].requires)

    @classmethod
    def install_of(cls, algorithm: str) -> str:
        """What to install for one algorithm."""
        return cls.algorithms[algorithm].install or cls.install

    @classmethod
    def capabilities_of(cls, algorithm: str) -> Capabilities:
        """What one algorithm can do natively."""
        return cls.algorithms[algorithm].capabilities

    @classmethod
    def versions(cls) -> dict[str, str]:
        """Installed version of each of ``distributions`` (for manifests); absent ones are left out."""
        found = {}
        for dist in cls.distributions:
            try:
                found[dist] = importlib.metadata.version(dist)
            except importlib.metadata.PackageNotFoundError:
                continue
        return found

    @classmethod
    def checked_algorithm(cls, algorithm: str | None = None) -> str:
        """``algorithm`` (the default when None) once it is known to run here: BackendError
        naming the choices for an unknown one, BackendNotInstalledError naming the missing
        modules and the install command for one whose requirements are missing."""
        chosen = cls.default_algorithm() if algorithm is None else algorithm
        if chosen not in cls.algorithms:
            raise BackendError(
                f"backend {cls.name!r} has no algorithm {chosen!r}; choose one of {sorted(cls.algorithms)!r}"
            )
        missing = [m for m in cls.requires_of(chosen) if importlib.util.find_spec(m) is None]
        if missing:
            raise BackendNotInstalledError(
                f"backend {cls._name_of(chosen)!r} needs the missing module(s) {missing!r}; install with: "
                f"{cls.install_of(chosen) or 'pip install ' + cls.name}"
            )
        return chosen

    @classmethod
    def _name_of(cls, algorithm: str) -> str:
        """``name`` for the default algorithm, ``name.algorithm`` for the others."""
        return cls.name if algorithm == cls.default_algorithm() else f"{cls.name}.{algorithm}"

    @functools.cached_property  # the algorithm is fixed at construction; read at every ask and tell
    def full_name(self) -> str:
        """``name`` or ``name.algorithm`` when the algorithm is not the default."""
        return self._name_of(self.algorithm)

    @property
    def exhaustible(self) -> bool:
        """True when :meth:`ask` is sure to raise SearchExhausted eventually (a grid, a finite
        space without repeats), so a study may run without a trial or time budget."""
        return False

    # The protocol.
    @abc.abstractmethod
    def ask(self, numbers: Sequence[int]) -> list[Proposal]:
        """Propose one configuration for each trial number, in order (fewer only just before
        raising :class:`~unitune.errors.SearchExhausted`, which means no candidate is left)."""

    @abc.abstractmethod
    def tell(self, trial: Trial) -> None:
        """Report one of this backend's own trials, identified by ``trial.number``.

        The trial is finished: COMPLETE, FAILED, PRUNED, or INTERRUPTED (it never ran to its end;
        the backend forgets it and learns nothing from it).
        """

    @abc.abstractmethod
    def replay(self, trials: Sequence[Trial]) -> None:
        """Learn finished trials this backend never proposed (history, another backend's trials).

        INTERRUPTED trials are never replayed.
        """

    def report(self, number: int, step: int, value: float) -> None:  # noqa: B027 - optional hook
        """Hear an intermediate value of one of this backend's running trials (default: ignore)."""

    def conversion_report(self) -> list[Conversion]:
        """How each parameter of the space is expressed here; exact unless overridden."""
        return [
            Conversion(name, Fidelity.EXACT, f"{dim!r} expressed natively")
            for name, dim, _ in self.space.walk()
        ]

    def pruned_trials(self) -> str:
        """What this backend does with a PRUNED trial, in words (from :attr:`pruned_policy`),
        shown beside the conversion report."""
        policy = self.pruned_policy
        if policy is None:
            return "not declared by the backend"
        return f"{policy.value}: {policy.detail}"

    def check_strict(self) -> None:
        """Raise ConversionError listing every lossy conversion (used by strict mode)."""
        lossy = [c for c in self.conversion_report() if c.lossy]
        if lossy:
            lines = "; ".join(f"{c.param}: {c.fidelity.value} ({c.detail})" for c in lossy)
            raise ConversionError(
                f"strict mode: backend {self.full_name!r} cannot express this space exactly: {lines}"
            )

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release resources; the default does nothing."""
