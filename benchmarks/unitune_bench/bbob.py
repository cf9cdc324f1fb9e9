"""COCO's BBOB problems as a problem pack (optional: ``pip install 'unitune-benchmarks[bbob]'``,
which brings ``coco-experiment``, module ``cocoex``).

Names read ``bbob-f<F>-d<D>[-i<I>]``: function ``F`` of the 24 noiseless BBOB functions, in
dimension ``D`` (2, 3, 5, 10, 20 or 40), instance ``I`` (default 1). Each number may be a list
joined by ``+`` or a range ``a..b``: ``bbob-f1..24-d5`` is the whole suite in 5-D,
``bbob-f8+10-d2+5-i1..3`` twelve problems. The search space is COCO's box ``[-5, 5]^D``
(parameters ``x0 .. x{D-1}``), the objective the BBOB function (minimized), and the optimum
``f_opt`` COCO's own: the function's value at the optimal solution COCO reports.

>>> expand("bbob-f8+10-d2-i1..2")  # doctest: +NORMALIZE_WHITESPACE
['bbob-f8-d2-i1', 'bbob-f8-d2-i2', 'bbob-f10-d2-i1', 'bbob-f10-d2-i2']
"""

from __future__ import annotations

import os
import re
import tempfile
import threading
from typing import Any

import numpy as np

from unitune import Float
from unitune_bench.problem import PackUnavailable, Problem, ProblemError

__all__ = ["DIMENSIONS", "FUNCTIONS", "INSTALL", "PREFIX", "bbob_problem", "expand", "matches"]

PREFIX = "bbob-"
INSTALL = "pip install 'unitune-benchmarks[bbob]'  (or: pip install coco-experiment)"
FUNCTIONS = range(1, 25)
DIMENSIONS = (2, 3, 5, 10, 20, 40)
_NAME = re.compile(r"^bbob-f(?P<f>[0-9.+]+)-d(?P<d>[0-9.+]+)(?:-i(?P<i>[0-9.+]+))?$")
_NAMES = ("sphere", "ellipsoid separable", "Rastrigin separable", "skew Rastrigin-Bueche",
          "linear slope", "attractive sector", "step ellipsoid", "Rosenbrock original",
          "Rosenbrock rotated", "ellipsoid", "discus", "bent cigar", "sharp ridge",
          "different powers", "Rastrigin", "Weierstrass", "Schaffer F7", "Schaffer F7 ill-conditioned",
          "Griewank-Rosenbrock", "Schwefel", "Gallagher 101 peaks", "Gallagher 21 peaks", "Katsuura",
          "Lunacek bi-Rastrigin")
_LOCK = threading.Lock()


def matches(name: str) -> bool:
    """True when ``name`` belongs to this pack (it may still be malformed)."""
    return name.startswith(PREFIX)


def _numbers(text: str, what: str, name: str) -> list[int]:
    out: list[int] = []
    for part in text.split("+"):
        lo, sep, hi = part.partition("..")
        if not lo.isdigit() or (sep and not hi.isdigit()):
            raise ProblemError(
                f"{name!r}: {what} must be numbers joined by '+' or ranges 'a..b', got {text!r}")
        if sep and int(hi) < int(lo):
            raise ProblemError(f"{name!r}: the {what} range {part!r} is empty; write it low..high")
        out += list(range(int(lo), int(hi) + 1)) if sep else [int(lo)]
    return out


def expand(pattern: str) -> list[str]:
    """The single-problem names ``bbob-f<F>-d<D>-i<I>`` a pattern stands for, checked."""
    m = _NAME.match(pattern)
    if m is None:
        raise ProblemError(
            f"{pattern!r} is not a BBOB problem name; expected bbob-f<F>-d<D>[-i<I>] such as "
            "bbob-f8-d5 or bbob-f1..24-d2+5-i1..3"
        )
    functions = _numbers(m["f"], "functions", pattern)
    dimensions = _numbers(m["d"], "dimensions", pattern)
    instances = _numbers(m["i"] or "1", "instances", pattern)
    bad_f = [f for f in functions if f not in FUNCTIONS]
    bad_d = [d for d in dimensions if d not in DIMENSIONS]
    bad_i = [i for i in instances if i < 1]
    if bad_f or bad_d or bad_i:
        raise ProblemError(
            f"{pattern!r}: BBOB has functions 1..24, dimensions {list(DIMENSIONS)} and instances >= 1; "
            f"got functions {bad_f or 'ok'}, dimensions {bad_d or 'ok'}, instances {bad_i or 'ok'}"
        )
    return [f"bbob-f{f}-d{d}-i{i}" for f in functions for d in dimensions for i in instances]


def _cocoex() -> Any:
    try:
        import cocoex
    except ImportError as exc:
        raise PackUnavailable(f"the BBOB pack needs the coco-experiment package: {INSTALL}") from exc
    return cocoex


def _coco_problem(function: int, dimension: int, instance: int) -> Any:
    """A fresh COCO problem (each holds its own evaluation counter).

    The suite is built with exactly this instance (``instances:I``): ``instance_indices`` would
    be a position in the suite's instance list of the year (1-5 then 71-80), and COCO silently
    ignores one past 15.
    """
    cocoex = _cocoex()
    suite = cocoex.Suite("bbob", f"instances:{instance}",
                         f"function_indices:{function} dimensions:{dimension}")
    problem = next(iter(suite))
    got = (problem.id_function, problem.dimension, problem.id_instance)
    if got != (function, dimension, instance):
        raise ProblemError(f"COCO gave f{got[0]} in {got[1]}-D, instance {got[2]}, for "
                           f"bbob-f{function}-d{dimension}-i{instance}")
    return suite, problem


def _optimum(function: int, dimension: int, instance: int) -> float:
    """COCO's f_opt: the function at the optimal solution COCO writes out (to the working
    directory, so this runs in a temporary one, one call at a time)."""
    suite, problem = _coco_problem(function, dimension, instance)
    with _LOCK, tempfile.TemporaryDirectory() as tmp:
        here = os.getcwd()
        os.chdir(tmp)
        try:
            problem._best_parameter("print")
            x_opt = np.loadtxt("._bbob_problem_best_parameter.txt", ndmin=1)
        finally:
            os.chdir(here)
    value = float(problem(x_opt))
    del suite
    return value


class BBOBObjective:
    """The BBOB function, built in the process that first calls it (workers build their own)."""

    def __init__(self, function: int, dimension: int, instance: int):
        self.key = (function, dimension, instance)
        self._problem: Any = None
        self._suite: Any = None
        self._pid: int | None = None

    def __call__(self, params: dict[str, Any]) -> float:
        if self._problem is None or self._pid != os.getpid():
            self._suite, self._problem = _coco_problem(*self.key)
            self._pid = os.getpid()
        x = np.array([params[f"x{i}"] for i in range(self.key[1])], dtype=float)
        return float(self._problem(x))

    def __getstate__(self) -> dict[str, Any]:
        return {"key": self.key}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(*state["key"])


def bbob_problem(name: str) -> Problem:
    """The BBOB problem ``bbob-f<F>-d<D>-i<I>`` (a single one; see :func:`expand`)."""
    names = expand(name)
    if len(names) != 1:
        raise ProblemError(f"{name!r} names {len(names)} problems; bbob_problem builds one")
    f, d, i = (int(v) for v in re.findall(r"\d+", names[0]))
    _cocoex()
    space = {f"x{k}": Float(-5.0, 5.0) for k in range(d)}
    return Problem(names[0], space, BBOBObjective(f, d, i), optimum=_optimum(f, d, i),
                   tags=("bbob", "synthetic-coco", "continuous"),
                   description=f"BBOB f{f} ({_NAMES[f - 1]}), {d}-D, instance {i} (COCO)",
                   meta={"suite": "bbob", "function": f, "dimension": d, "instance": i})
