"""``unitune bench``: run a suite, or re-render a report from saved results.

    unitune bench --quick
    unitune bench --suite standard --backends optuna.tpe,skopt.gp --jobs 2
    unitune bench report bench-results/quick
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from unitune.errors import UnituneError
from unitune_bench.suites import SUITES

__all__ = ["main"]


def _csv(text: str) -> list[str]:
    return [item.strip() for item in text.split(",") if item.strip()]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="unitune bench",
        description="Run every backend on the same problems, seeds and budgets, and report who "
                    "wins. 'unitune bench report DIR' re-renders a report from saved results.",
    )
    which = parser.add_mutually_exclusive_group()
    which.add_argument("--quick", action="store_true", help="shorthand for --suite quick")
    which.add_argument("--suite", choices=sorted(SUITES), default=None,
                       help="quick (default, < 3 min), standard or full")
    parser.add_argument("--backends", type=_csv, default=None,
                        help="comma-separated backends, e.g. optuna.tpe,skopt.gp (default: every "
                             "installed family at its default algorithm plus the suite's extras; "
                             "random is always added)")
    parser.add_argument("--problems", type=_csv, default=None,
                        help="comma-separated problem names, globs (ml-*-iris-acc) or tag:NAME")
    parser.add_argument("--problem-path", action="append", default=[], metavar="MODULE:ATTR",
                        help="add user problems (repeatable); they join the selection")
    parser.add_argument("--seeds", type=int, default=None, help="number of seeds (0..N-1)")
    parser.add_argument("--budget", type=int, default=None, help="trials per run")
    parser.add_argument("--jobs", type=int, default=None, help="parallel runs (default: cores)")
    parser.add_argument("--timeout", type=float, default=None,
                        help="seconds per run before it is killed and recorded as timeout")
    parser.add_argument("--out", type=Path, default=None,
                        help="results directory (default bench-results/<suite>); an existing one "
                             "is resumed")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.add_argument("--no-report", action="store_true", help="skip rendering the report")
    parser.add_argument("--list-problems", action="store_true", help="list problems and exit")
    return parser


def _report_main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="unitune bench report",
                                     description="Re-render the report of a results directory.")
    parser.add_argument("dir", type=Path)
    parser.add_argument("--no-plots", action="store_true")
    args = parser.parse_args(argv)
    from unitune_bench.report import render_report

    summary = render_report(args.dir, plots=not args.no_plots)
    print(f"report: {summary}")
    return 0


def _list_problems(paths: list[str]) -> int:
    from unitune_bench.problem import all_problems, load_problem_path

    extra = [p for path in paths for p in load_problem_path(path)]
    for name in all_problems(extra):
        print(name)
    return 0


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``unitune bench`` (``argv`` without the word ``bench``); returns the exit code."""
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        if argv and argv[0] == "report":
            return _report_main(argv[1:])
        args = _parser().parse_args(argv)
        if args.list_problems:
            return _list_problems(args.problem_path)
        from unitune_bench.api import run_benchmark

        suite = "quick" if args.quick or args.suite is None else args.suite
        result = run_benchmark(
            suite, backends=args.backends, problems=args.problems, seeds=args.seeds,
            budget=args.budget, jobs=args.jobs, timeout=args.timeout, out=args.out,
            problem_paths=args.problem_path, progress=not args.no_progress,
            report=not args.no_report, command=["unitune", "bench", *argv],
        )
    except UnituneError as exc:
        print(f"unitune bench: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("unitune bench: interrupted; finished runs are saved, run again to resume",
              file=sys.stderr)
        return 130
    failed = sum(r["status"] not in ("ok", "exhausted") for r in result.new_runs)
    print(f"{len(result.new_runs)} runs done ({failed} failed, {result.skipped} already saved) "
          f"in {result.wall_time:.1f} s")
    if result.summary_path is not None:
        print(f"report: {result.summary_path}")
    return 0
