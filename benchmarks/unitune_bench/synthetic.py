"""Synthetic test functions with known optima (all minimized).

Definitions follow the usual references (Surjanovic & Bingham's virtual library of simulation
experiments); each problem records its known optimum so simple regret can be computed.
Besides the continuous classics there is a mixed problem (log-scaled integer and float, a stepped
float and a categorical) and a conditional one (branches with their own sub-spaces), so every
space feature is exercised.

>>> round(branin(-math.pi, 12.275), 6)
0.397887
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from unitune import Categorical, Float, Int
from unitune_bench.problem import Problem

__all__ = [
    "BRANIN_MIN",
    "HARTMANN3_MIN",
    "HARTMANN6_MIN",
    "ackley",
    "branin",
    "hartmann3",
    "hartmann6",
    "levy",
    "rosenbrock",
    "six_hump_camel",
    "styblinski_tang",
    "synthetic_problems",
]

BRANIN_MIN = 0.39788735772973816
HARTMANN3_MIN = -3.86278214782076
HARTMANN6_MIN = -3.32236801141551
SIX_HUMP_MIN = -1.0316284534898774
STYBLINSKI_X = -2.903534027771178
STYBLINSKI_MIN_PER_DIM = -39.16616570377142


def branin(x1: float, x2: float) -> float:
    """Branin-Hoo on [-5, 10] x [0, 15]; minimum 0.397887 at three points."""
    b, c = 5.1 / (4 * math.pi**2), 5 / math.pi
    return (x2 - b * x1**2 + c * x1 - 6) ** 2 + 10 * (1 - 1 / (8 * math.pi)) * math.cos(x1) + 10


_H3_A = np.array([[3.0, 10, 30], [0.1, 10, 35], [3.0, 10, 30], [0.1, 10, 35]])
_H3_P = 1e-4 * np.array([[3689, 1170, 2673], [4699, 4387, 7470], [1091, 8732, 5547], [381, 5743, 8828]])
_H6_A = np.array([
    [10, 3, 17, 3.5, 1.7, 8],
    [0.05, 10, 17, 0.1, 8, 14],
    [3, 3.5, 1.7, 10, 17, 8],
    [17, 8, 0.05, 10, 0.1, 14],
])
_H6_P = 1e-4 * np.array([
    [1312, 1696, 5569, 124, 8283, 5886],
    [2329, 4135, 8307, 3736, 1004, 9991],
    [2348, 1451, 3522, 2883, 3047, 6650],
    [4047, 8828, 8732, 5743, 1091, 381],
])
_H_ALPHA = np.array([1.0, 1.2, 3.0, 3.2])


def _hartmann(x: np.ndarray, a: np.ndarray, p: np.ndarray) -> float:
    inner = np.sum(a * (x[None, :] - p) ** 2, axis=1)
    return float(-np.sum(_H_ALPHA * np.exp(-inner)))


def hartmann3(x: np.ndarray) -> float:
    """Hartmann 3-D on [0, 1]^3; minimum -3.86278."""
    return _hartmann(np.asarray(x, dtype=float), _H3_A, _H3_P)


def hartmann6(x: np.ndarray) -> float:
    """Hartmann 6-D on [0, 1]^6; minimum -3.32237."""
    return _hartmann(np.asarray(x, dtype=float), _H6_A, _H6_P)


def rosenbrock(x: np.ndarray) -> float:
    """Rosenbrock on [-5, 10]^d; minimum 0 at (1, ..., 1)."""
    x = np.asarray(x, dtype=float)
    return float(np.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2))


def ackley(x: np.ndarray) -> float:
    """Ackley on [-32.768, 32.768]^d; minimum 0 at the origin."""
    x = np.asarray(x, dtype=float)
    d = x.size
    first = -20.0 * math.exp(-0.2 * math.sqrt(float(np.sum(x**2)) / d))
    second = -math.exp(float(np.sum(np.cos(2 * math.pi * x))) / d)
    return first + second + 20.0 + math.e


def levy(x: np.ndarray) -> float:
    """Levy on [-10, 10]^d; minimum 0 at (1, ..., 1)."""
    w = 1 + (np.asarray(x, dtype=float) - 1) / 4
    head = math.sin(math.pi * w[0]) ** 2
    mid = np.sum((w[:-1] - 1) ** 2 * (1 + 10 * np.sin(math.pi * w[:-1] + 1) ** 2))
    tail = (w[-1] - 1) ** 2 * (1 + math.sin(2 * math.pi * w[-1]) ** 2)
    return float(head + mid + tail)


def styblinski_tang(x: np.ndarray) -> float:
    """Styblinski-Tang on [-5, 5]^d; minimum -39.16617 d at x_i = -2.903534."""
    x = np.asarray(x, dtype=float)
    return float(np.sum(x**4 - 16 * x**2 + 5 * x) / 2)


def six_hump_camel(x1: float, x2: float) -> float:
    """Six-hump camel on [-3, 3] x [-2, 2]; minimum -1.03163 at (+-0.0898, -+0.7126)."""
    return (4 - 2.1 * x1**2 + x1**4 / 3) * x1**2 + x1 * x2 + (-4 + 4 * x2**2) * x2**2


def _vector(params: dict[str, Any], d: int) -> np.ndarray:
    return np.array([params[f"x{i}"] for i in range(d)], dtype=float)


def _box(low: float, high: float, d: int) -> dict[str, Float]:
    return {f"x{i}": Float(low, high) for i in range(d)}


def _vector_problem(name, fn, low, high, d, optimum, description) -> Problem:
    return Problem(name, _box(low, high, d), lambda p: fn(_vector(p, d)), optimum=optimum,
                   tags=("synthetic", "continuous"), description=description)


_MIXED_KIND_PENALTY = {"relu": 0.0, "tanh": 0.5, "sigmoid": 1.0, "linear": 2.0}


def _mixed(params: dict[str, Any]) -> float:
    return (
        (math.log2(params["units"]) - 4.0) ** 2 / 4.0
        + (math.log10(params["lr"]) + 2.0) ** 2
        + (params["dropout"] - 0.3) ** 2 * 4.0
        + _MIXED_KIND_PENALTY[params["activation"]]
    )


def _conditional(params: dict[str, Any]) -> float:
    family = params["family"]
    if family == "bowl":
        return 1.0 + params["bx"] ** 2 + params["by"] ** 2
    if family == "branin":
        return branin(params["x1"], params["x2"])
    return 5.0


def synthetic_problems() -> list[Problem]:
    """Every built-in synthetic problem."""
    cont = ("synthetic", "continuous")
    return [
        Problem("branin", {"x1": Float(-5.0, 10.0), "x2": Float(0.0, 15.0)},
                lambda p: branin(p["x1"], p["x2"]), optimum=BRANIN_MIN, tags=cont,
                description="Branin-Hoo, 2-D, three global minima"),
        _vector_problem("hartmann3", hartmann3, 0.0, 1.0, 3, HARTMANN3_MIN, "Hartmann, 3-D"),
        _vector_problem("hartmann6", hartmann6, 0.0, 1.0, 6, HARTMANN6_MIN, "Hartmann, 6-D"),
        _vector_problem("rosenbrock4", rosenbrock, -5.0, 10.0, 4, 0.0, "Rosenbrock, 4-D"),
        _vector_problem("ackley5", ackley, -32.768, 32.768, 5, 0.0, "Ackley, 5-D, highly multimodal"),
        _vector_problem("levy5", levy, -10.0, 10.0, 5, 0.0, "Levy, 5-D"),
        _vector_problem("styblinski_tang5", styblinski_tang, -5.0, 5.0, 5,
                        5 * STYBLINSKI_MIN_PER_DIM, "Styblinski-Tang, 5-D"),
        Problem("six_hump_camel", {"x1": Float(-3.0, 3.0), "x2": Float(-2.0, 2.0)},
                lambda p: six_hump_camel(p["x1"], p["x2"]), optimum=SIX_HUMP_MIN, tags=cont,
                description="Six-hump camel, 2-D, two global minima"),
        Problem("mixed", {
            "units": Int(1, 256, log=True),
            "lr": Float(1e-5, 1.0, log=True),
            "dropout": Float(0.0, 0.9, step=0.1),
            "activation": Categorical(list(_MIXED_KIND_PENALTY)),
        }, _mixed, optimum=0.0, tags=("synthetic", "mixed"),
            description="log-int, log-float, stepped float and categorical; 0 at units=16, "
                        "lr=0.01, dropout=0.3, relu"),
        Problem("conditional", {
            "family": Categorical({
                "bowl": {"bx": Float(-5.0, 5.0), "by": Float(-5.0, 5.0)},
                "branin": {"x1": Float(-5.0, 10.0), "x2": Float(0.0, 15.0)},
                "flat": None,
            }),
        }, _conditional, optimum=BRANIN_MIN, tags=("synthetic", "conditional"),
            description="three branches with their own sub-spaces; best in the Branin branch"),
    ]
