"""Benchmark problems: a small object, a registry of the built-in ones, and loading user problems.

A :class:`Problem` is a name, a search space, an objective, a direction and (when known) the
optimal value. Users add problems without editing the harness, either as ``module:attr`` paths
(``--problem-path``) or through the ``unitune.problems`` entry-point group; ``attr`` may be a
Problem, an iterable of Problems, or a callable returning either.

>>> from unitune import Float
>>> p = Problem("square", {"x": Float(-1.0, 1.0)}, lambda params: params["x"] ** 2, optimum=0.0)
>>> p.loss(0.25), p.direction
(0.25, 'minimize')
"""

from __future__ import annotations

import fnmatch
import importlib
import inspect
import logging
import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from typing import Any

from unitune import Space
from unitune.errors import UnituneError

__all__ = [
    "ENTRY_POINT_GROUP",
    "Catalog",
    "PackUnavailable",
    "Problem",
    "ProblemError",
    "all_problems",
    "builtin_problems",
    "discover_problems",
    "load_problem_path",
    "select_problems",
]

ENTRY_POINT_GROUP = "unitune.problems"
logger = logging.getLogger("unitune_bench")


class ProblemError(UnituneError):
    """A problem is malformed, unknown, or cannot be loaded."""


class PackUnavailable(ProblemError):
    """A problem pack cannot be used here (its optional dependency is missing)."""


@dataclass(frozen=True)
class Problem:
    """One benchmark problem.

    Args:
        name: unique name (used in file names: letters, digits, ``-``, ``_``, ``.``).
        space: a unitune Space (or dict of dimensions).
        objective: ``objective(params) -> float``.
        direction: ``"minimize"`` or ``"maximize"``.
        optimum: the best achievable value when known (enables simple regret).
        tags: free labels such as ``"synthetic"`` or ``"ml"`` (selectable as ``tag:ml``).
        description: one line for the report.
    """

    name: str
    space: Space | Mapping[str, Any]
    objective: Callable[[dict[str, Any]], float]
    direction: str = "minimize"
    optimum: float | None = None
    tags: tuple[str, ...] = ()
    description: str = ""
    meta: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name or any(
            not (c.isalnum() or c in "-_.") for c in self.name
        ):
            raise ProblemError(
                f"a problem name must be non-empty and use only letters, digits, '-', '_' and '.', "
                f"got {self.name!r}"
            )
        object.__setattr__(self, "space", Space.coerce(self.space))
        if self.direction not in ("minimize", "maximize"):
            raise ProblemError(
                f"problem {self.name!r}: direction must be 'minimize' or 'maximize', got {self.direction!r}"
            )
        if not callable(self.objective):
            raise ProblemError(f"problem {self.name!r}: objective must be callable, got {self.objective!r}")
        if self.optimum is not None and not math.isfinite(float(self.optimum)):
            raise ProblemError(f"problem {self.name!r}: optimum must be finite, got {self.optimum!r}")
        object.__setattr__(self, "tags", tuple(self.tags))

    @property
    def sign(self) -> float:
        """+1 for minimization, -1 for maximization: ``loss = sign * value``."""
        return 1.0 if self.direction == "minimize" else -1.0

    def loss(self, value: float) -> float:
        """The value turned into a loss (lower is better)."""
        return self.sign * float(value)

    def describe(self) -> dict[str, Any]:
        """JSON-ready description, stored in the manifest."""
        return {
            "name": self.name,
            "direction": self.direction,
            "optimum": self.optimum,
            "tags": list(self.tags),
            "description": self.description,
            "space": self.space.to_dict(),
            "dimensions": len(list(self.space.walk())),
            # A multi-fidelity problem: the resource scale its trials report on.
            **({"max_resource": self.meta["max_resource"], "resource": self.meta.get("resource", "steps")}
               if self.meta.get("max_resource") is not None else {}),
        }


def builtin_problems() -> dict[str, Callable[[], Problem]]:
    """Factories of the built-in problems by name (built lazily: ML ones load data)."""
    from unitune_bench.fidelity import fidelity_problem_factories
    from unitune_bench.ml import ml_problem_factories
    from unitune_bench.synthetic import synthetic_problems

    factories: dict[str, Callable[[], Problem]] = {}
    for problem in synthetic_problems():
        factories[problem.name] = _constant(problem)
    factories.update(ml_problem_factories())
    factories.update(fidelity_problem_factories())
    return factories


def _constant(problem: Problem) -> Callable[[], Problem]:
    return lambda: problem


def _as_problems(obj: Any, origin: str) -> list[Problem]:
    if isinstance(obj, Problem):
        return [obj]
    if callable(obj) and not isinstance(obj, type):
        if _needs_arguments(obj):  # an objective named by mistake, say
            raise ProblemError(
                f"{origin} is a callable that takes arguments ({obj!r}); it must be a Problem, an "
                "iterable of Problems or a callable taking none that returns them (an objective goes "
                "inside a Problem: see docs/benchmarks.md, 'Adding a problem')"
            )
        return _as_problems(obj(), origin)
    if isinstance(obj, Iterable) and not isinstance(obj, (str, bytes, Mapping)):
        out = []
        for item in obj:
            if not isinstance(item, Problem):
                raise ProblemError(f"{origin} must yield unitune_bench.Problem objects, got {item!r}")
            out.append(item)
        return out
    raise ProblemError(
        f"{origin} must be a Problem, an iterable of Problems or a callable returning them, got {obj!r}"
    )


def _needs_arguments(fn: Callable[..., Any]) -> bool:
    """True when ``fn`` cannot be called without arguments (False when its signature is unknown)."""
    try:
        parameters = inspect.signature(fn).parameters.values()
    except (TypeError, ValueError):  # a builtin without a signature: try the call
        return False
    return any(p.default is p.empty and p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)
               for p in parameters)


def load_problem_path(path: str) -> list[Problem]:
    """Load the problems named by ``"package.module:attribute"``."""
    module_name, sep, attr = path.partition(":")
    if not sep or not module_name or not attr:
        raise ProblemError(f"a problem path looks like 'package.module:attribute', got {path!r}")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise ProblemError(f"cannot import module {module_name!r} for problem path {path!r}: {exc}") from exc
    target: Any = module
    for part in attr.split("."):
        try:
            target = getattr(target, part)
        except AttributeError as exc:
            raise ProblemError(f"module {module_name!r} has no attribute {attr!r}") from exc
    return _as_problems(target, f"problem path {path!r}")


def _entry_point_problems(skipped: list[dict[str, str]]) -> list[tuple[str, Problem]]:
    """Problems of every ``unitune.problems`` entry point; one that fails to load (or yields
    something that is not a Problem) is recorded in ``skipped`` and left out, never fatal."""
    out = []
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        source = f"entry point {ep.name!r} ({getattr(ep, 'value', '?')}) in group {ENTRY_POINT_GROUP!r}"
        try:
            problems = _as_problems(ep.load(), f"entry point {ep.name!r}")
        except Exception as exc:  # a broken pack: report it and go on with the others
            reason = f"failed to load: {type(exc).__name__}: {exc}"
            logger.warning("skipping %s: %s", source, reason)
            skipped.append({"source": source, "reason": reason})
            continue
        out.extend((source, problem) for problem in problems)
    return out


@dataclass
class Catalog:
    """Every problem that can be selected by name, and what could not be loaded."""

    factories: dict[str, Callable[[], Problem]]
    #: names published through entry points: they join a suite's default selection
    entry_point_names: list[str] = field(default_factory=list)
    skipped: list[dict[str, str]] = field(default_factory=list)


def discover_problems(extra: Iterable[Problem] = ()) -> Catalog:
    """Built-in, entry-point and ``extra`` problems by name.

    A duplicate name among ``extra`` (the caller's own problems) is an error; an entry-point
    problem whose name is taken is skipped and reported, like an entry point that fails to load.
    """
    factories = builtin_problems()
    catalog = Catalog(factories)
    for source, problem in _entry_point_problems(catalog.skipped):
        if problem.name in factories:
            catalog.skipped.append({"source": source,
                                    "reason": f"problem {problem.name!r} is already defined; rename one"})
            continue
        factories[problem.name] = _constant(problem)
        catalog.entry_point_names.append(problem.name)
    for problem in extra:
        if problem.name in factories:
            raise ProblemError(f"two problems are named {problem.name!r}; rename one")
        factories[problem.name] = _constant(problem)
    return catalog


def all_problems(extra: Iterable[Problem] = ()) -> dict[str, Callable[[], Problem]]:
    """Built-in, entry-point and ``extra`` problems by name (see :func:`discover_problems`)."""
    return discover_problems(extra).factories


def _pack_problems(pattern: str, skipped: list[dict[str, str]] | None) -> list[Problem] | None:
    """Problems of a parametric pack (``bbob-...``), None when ``pattern`` is not a pack's.
    A pack whose dependency is missing is reported in ``skipped`` (or raised without it)."""
    from unitune_bench import bbob

    if not bbob.matches(pattern):
        return None
    names = bbob.expand(pattern)
    try:
        return [bbob.bbob_problem(name) for name in names]
    except PackUnavailable as exc:
        if skipped is None:
            raise
        skipped.append({"source": f"problem pack bbob ({pattern})", "reason": str(exc)})
        logger.warning("skipping %s: %s", pattern, exc)
        return []


def select_problems(
    patterns: Iterable[str], factories: Mapping[str, Callable[[], Problem]],
    skipped: list[dict[str, str]] | None = None,
) -> list[Problem]:
    """Build the problems matching ``patterns`` (names, globs such as ``ml-*-iris-acc``,
    ``tag:NAME``, or a pack's names such as ``bbob-f8-d5``), in the order given; unknown patterns
    are an error. A pack that cannot be used here is recorded in ``skipped`` when given."""
    chosen: dict[str, Problem] = {}
    tag_cache: dict[str, Problem] = {}
    for pattern in patterns:
        packed = None if pattern in factories else _pack_problems(pattern, skipped)
        if packed is not None:
            for problem in packed:
                chosen.setdefault(problem.name, problem)
            continue
        if pattern.startswith("tag:"):
            tag = pattern[4:]
            for name, make in factories.items():
                problem = tag_cache.setdefault(name, make())
                if tag in problem.tags:
                    chosen.setdefault(name, problem)
            matched = any(tag in p.tags for p in chosen.values())
        else:
            names = [n for n in factories if fnmatch.fnmatchcase(n, pattern)]
            for name in names:
                chosen.setdefault(name, tag_cache.get(name) or factories[name]())
            matched = bool(names)
        if not matched:
            raise ProblemError(
                f"no problem matches {pattern!r}; known problems: {', '.join(sorted(factories))}"
            )
    return list(chosen.values())
