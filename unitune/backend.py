"""The backend protocol: ``ask(n)`` proposes configurations, ``tell(trial)`` reports outcomes.

A backend sees only the space, its seed, the study's directions and the trials it is told;
never the study itself. ``tell`` must accept trials it did not propose: that is how history is
replayed on resume and how a study changes backend midway.

>>> from unitune import Float, Space
>>> from unitune.backends.random_search import RandomSearch
>>> backend = RandomSearch(Space({"x": Float(0.0, 1.0)}), seed=0)
>>> [params] = backend.ask(1)
>>> 0.0 <= params["x"] <= 1.0
True
"""

from __future__ import annotations

import abc
import enum
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from unitune.errors import BackendError, CapabilityError, ConversionError
from unitune.space import Space
from unitune.trial import Direction, Trial

__all__ = ["Backend", "Capabilities", "Conversion", "Fidelity", "check_options", "params_key"]


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


class Backend(abc.ABC):
    """Base class of every optimizer backend.

    Subclasses set ``name``, ``algorithms`` (name -> one-line description, the first being the
    default), ``requires`` (importable module names their library needs) and ``install`` (what to
    install when they are missing), implement :meth:`ask` and :meth:`tell`, and may override
    :meth:`capabilities_of` and :meth:`conversion_report`.
    """

    name: ClassVar[str] = "backend"
    algorithms: ClassVar[Mapping[str, str]] = {"default": "the backend's only algorithm"}
    capabilities: ClassVar[Capabilities] = Capabilities()
    requires: ClassVar[Sequence[str]] = ()
    install: ClassVar[str] = ""

    def __init__(
        self,
        space: Space | Mapping[str, Any],
        *,
        seed: int | None = None,
        directions: Sequence[str | Direction] = (Direction.MINIMIZE,),
        algorithm: str | None = None,
    ):
        self.space = Space.coerce(space)
        self.seed = seed
        self.directions = tuple(Direction.parse(d) for d in directions)
        if not self.directions:
            raise BackendError("a backend needs at least one direction")
        self.algorithm = self.default_algorithm() if algorithm is None else algorithm
        if self.algorithm not in self.algorithms:
            raise BackendError(
                f"backend {self.name!r} has no algorithm {self.algorithm!r}; "
                f"choose one of {sorted(self.algorithms)!r}"
            )
        caps = self.capabilities_of(self.algorithm)
        if len(self.directions) > 1 and not caps.multi_objective:
            raise CapabilityError(
                f"backend {self.full_name!r} optimizes a single objective; the study has "
                f"{len(self.directions)} directions. Use a multi-objective backend such as 'optuna.nsga2'"
            )

    @classmethod
    def default_algorithm(cls) -> str:
        """The algorithm used when none is named."""
        return next(iter(cls.algorithms))

    @classmethod
    def requires_of(cls, algorithm: str) -> Sequence[str]:
        """Importable modules one algorithm needs (defaults to the class-wide ``requires``)."""
        return cls.requires

    @classmethod
    def install_of(cls, algorithm: str) -> str:
        """What to install for one algorithm (defaults to the class-wide ``install``)."""
        return cls.install

    @classmethod
    def capabilities_of(cls, algorithm: str) -> Capabilities:
        """Capabilities of one algorithm (defaults to the class-wide ``capabilities``)."""
        return cls.capabilities

    @property
    def full_name(self) -> str:
        """``name`` or ``name.algorithm`` when the algorithm is not the default."""
        if self.algorithm == self.default_algorithm():
            return self.name
        return f"{self.name}.{self.algorithm}"

    @property
    def exhaustible(self) -> bool:
        """True when :meth:`ask` is sure to raise SearchExhausted eventually (a grid, a finite
        space without repeats), so a study may run without a trial or time budget."""
        return False

    @abc.abstractmethod
    def ask(self, n: int = 1) -> list[dict[str, Any]]:
        """Propose ``n`` configurations (fewer only just before raising SearchExhausted).

        Raises :class:`unitune.errors.SearchExhausted` when no candidate is left.
        """

    @abc.abstractmethod
    def tell(self, trial: Trial) -> None:
        """Report a finished trial (COMPLETE, FAILED or PRUNED), proposed here or not."""

    def conversion_report(self) -> list[Conversion]:
        """How each parameter of the space is expressed here; exact unless overridden."""
        return [
            Conversion(name, Fidelity.EXACT, f"{dim!r} expressed natively")
            for name, dim, _ in self.space.walk()
        ]

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
