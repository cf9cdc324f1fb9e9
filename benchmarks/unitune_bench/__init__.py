"""unitune-benchmarks: every unitune backend on the same problems, seeds and budgets.

Run ``unitune bench --quick`` (or ``python -m unitune_bench --quick``), or from Python::

    from unitune_bench import run_benchmark
    result = run_benchmark("quick", out="bench-results/quick")
"""

from unitune_bench.api import BenchmarkResult, default_backends, run_benchmark
from unitune_bench.problem import Problem, ProblemError
from unitune_bench.report import render_report
from unitune_bench.suites import SUITES, Suite

__all__ = [
    "SUITES",
    "BenchmarkResult",
    "Problem",
    "ProblemError",
    "Suite",
    "default_backends",
    "render_report",
    "run_benchmark",
]
