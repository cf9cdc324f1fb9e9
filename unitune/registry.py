"""Backend discovery through the ``unitune.backends`` entry-point group.

Entry points are read lazily and name backend classes by dotted string; loading a class imports
only its adapter module, never the optimizer library (adapters import it when instantiated).
A backend is chosen by ``"family"`` or ``"family.algorithm"``, e.g. ``"optuna.cmaes"``.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from importlib.metadata import entry_points
from typing import Any

from unitune.backend import Backend, Capabilities, Conversion, PrunedPolicy
from unitune.errors import BackendError, BackendNotFoundError, BackendNotInstalledError
from unitune.space import Space
from unitune.trial import Direction

__all__ = [
    "BackendInfo",
    "conversion_report",
    "list_backends",
    "load_backend_class",
    "make_backend",
    "split_name",
]

GROUP = "unitune.backends"

#: Backends the unitune project publishes, with the distribution that provides each.
KNOWN_DISTRIBUTIONS: Mapping[str, str] = {
    "random": "unitune",
    "grid": "unitune",
    "optuna": "unitune-optuna",
    "hyperopt": "unitune-hyperopt",
    "skopt": "unitune-skopt",
    "nevergrad": "unitune-nevergrad",
}


@dataclass(frozen=True)
class BackendInfo:
    """What ``unitune backends`` shows about one backend family."""

    name: str
    installed: bool
    install_hint: str
    algorithms: Mapping[str, str]
    capabilities: Mapping[str, Capabilities]
    options: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    missing: tuple[str, ...] = ()
    algorithm_missing: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    algorithm_install: Mapping[str, str] = field(default_factory=dict)
    #: what the family's optimizers learn from a PRUNED trial (None: not declared)
    pruned_policy: PrunedPolicy | None = None


@lru_cache(maxsize=1)
def _entry_points() -> dict[str, Any]:
    return {ep.name: ep for ep in entry_points(group=GROUP)}


def split_name(spec: str) -> tuple[str, str | None]:
    """``"optuna.cmaes"`` -> ``("optuna", "cmaes")``; ``"random"`` -> ``("random", None)``."""
    if not isinstance(spec, str) or not spec:
        raise BackendError(f"a backend name must be a non-empty string, got {spec!r}")
    family, _, algorithm = spec.partition(".")
    return family, algorithm or None


def load_backend_class(family: str) -> type[Backend]:
    """Import the backend class registered as ``family``, with errors that say what to do."""
    eps = _entry_points()
    if family not in eps:
        if family in KNOWN_DISTRIBUTIONS:
            raise BackendNotInstalledError(
                f"backend {family!r} is not installed; install it with: pip install "
                f"{KNOWN_DISTRIBUTIONS[family]}"
            )
        raise BackendNotFoundError(
            f"no backend named {family!r}; installed backends: {sorted(eps)!r}"
        )
    try:
        cls = eps[family].load()
    except ImportError as exc:
        raise BackendNotInstalledError(
            f"backend {family!r} could not be imported ({exc}); reinstall "
            f"{KNOWN_DISTRIBUTIONS.get(family, 'its distribution')}"
        ) from exc
    if not (isinstance(cls, type) and issubclass(cls, Backend)):
        raise BackendError(
            f"entry point {family!r} in group {GROUP!r} must name a unitune.Backend subclass, got {cls!r}"
        )
    return cls


def _missing_requirements(cls: type[Backend], algorithm: str | None = None) -> tuple[str, ...]:
    needed = cls.requires if algorithm is None else cls.requires_of(algorithm)
    return tuple(mod for mod in needed if importlib.util.find_spec(mod) is None)


def list_backends() -> list[BackendInfo]:
    """Every installed backend family plus the known ones that are not installed."""
    infos = []
    for family in sorted(set(_entry_points()) | set(KNOWN_DISTRIBUTIONS)):
        try:
            cls = load_backend_class(family)
        except BackendNotInstalledError:
            hint = f"pip install {KNOWN_DISTRIBUTIONS.get(family, family)}"
            infos.append(BackendInfo(family, False, hint, {}, {}))
            continue
        missing = _missing_requirements(cls)
        infos.append(
            BackendInfo(
                name=family,
                installed=not missing,
                install_hint=cls.install or f"pip install {KNOWN_DISTRIBUTIONS.get(family, family)}",
                algorithms={a: spec.description for a, spec in cls.algorithms.items()},
                capabilities={a: cls.capabilities_of(a) for a in cls.algorithms},
                options={a: dict(spec.options) for a, spec in cls.algorithms.items()},
                missing=missing,
                algorithm_missing={a: _missing_requirements(cls, a) for a in cls.algorithms},
                algorithm_install={a: cls.install_of(a) for a in cls.algorithms},
                pruned_policy=cls.pruned_policy,
            )
        )
    return infos


def make_backend(
    backend: str | type[Backend] | Backend,
    space: Space | Mapping[str, Any],
    *,
    seed: int | None = None,
    directions: Sequence[str | Direction] = (Direction.MINIMIZE,),
    strict: bool = False,
    options: Mapping[str, Any] | None = None,
) -> Backend:
    """Build a backend from a name (``"optuna.tpe"``), a Backend subclass, or pass one through.

    ``options`` go to the backend's constructor; unknown ones are rejected by the backend.
    In ``strict`` mode any lossy conversion of the space raises ConversionError.
    """
    options = dict(options or {})
    reserved = sorted(set(options) & {"seed", "directions", "direction", "algorithm", "space"})
    if reserved:
        raise BackendError(
            f"backend options {reserved!r} are set by the study, not through backend options: "
            "pass seed=..., direction=... to the study and the algorithm in the name ('optuna.tpe')"
        )
    if isinstance(backend, Backend):
        if options:
            raise BackendError("options cannot be applied to an already built backend instance")
        instance = backend
    else:
        algorithm = None
        if isinstance(backend, str):
            family, algorithm = split_name(backend)
            cls = load_backend_class(family)
            chosen = algorithm or cls.default_algorithm()
            missing = _missing_requirements(cls, chosen) if chosen in cls.algorithms else ()
            if missing:
                hint = cls.install_of(chosen) or (
                    "pip install " + KNOWN_DISTRIBUTIONS.get(family, family)
                )
                raise BackendNotInstalledError(
                    f"backend {backend!r} needs the missing module(s) {list(missing)!r}; install with: {hint}"
                )
        elif isinstance(backend, type) and issubclass(backend, Backend):
            cls = backend
        else:
            raise BackendError(
                f"backend must be a name such as 'random' or 'optuna.tpe', a Backend subclass or "
                f"instance, got {backend!r}"
            )
        instance = cls(space, seed=seed, directions=directions, algorithm=algorithm, **options)
    if strict:
        instance.check_strict()
    return instance


def conversion_report(
    backend: str | type[Backend] | Backend,
    space: Space | Mapping[str, Any],
    options: Mapping[str, Any] | None = None,
) -> list[Conversion]:
    """How ``backend`` expresses each parameter of ``space`` (exact, approximated or emulated).

    >>> from unitune import Float
    >>> [c.fidelity.value for c in conversion_report("random", {"x": Float(0.0, 1.0)})]
    ['exact']
    """
    return make_backend(backend, space, seed=0, options=options).conversion_report()
