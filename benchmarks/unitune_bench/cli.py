"""``unitune bench``: run a suite, or re-render a report from saved results.

    unitune bench --quick
    unitune bench --suite standard --backends optuna.tpe,skopt.gp --jobs 2
    unitune bench --problems bbob-f1..24-d5 --backend-options skopt.gp:n_initial_points=5
    unitune bench --suite fidelity                      # pruning: every backend with and without ASHA
    unitune bench --problems tag:fidelity --backends optuna.tpe --pruners asha
    unitune bench report bench-results/quick
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from unitune.errors import UnituneError
from unitune.execution.signals import Terminated, termination_handled
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
                       help="quick (default, about 4 min on 2 cores), standard, full, or fidelity "
                            "(pruning on multi-fidelity problems, a few minutes)")
    parser.add_argument("--backends", type=_csv, default=None,
                        help="comma-separated backends, e.g. optuna.tpe,skopt.gp (default: every "
                             "installed family at its default algorithm plus the suite's extras; "
                             "random is always added)")
    parser.add_argument("--problems", type=_csv, default=None,
                        help="comma-separated problem names, globs (ml-*-iris-acc), tag:NAME, or BBOB "
                             "problems bbob-f<F>-d<D>[-i<I>] with lists (f1+8) and ranges (f1..24)")
    parser.add_argument("--backend-options", action="append", default=[], metavar="LABEL:K=V[;K=V]",
                        help="options for one backend of the run (repeatable), e.g. "
                             "skopt.gp:n_initial_points=5, or JSON {\"skopt.gp\": {...}}")
    parser.add_argument("--pruners", type=_csv, default=None, metavar="asha[,hyperband,median]",
                        help="add a pruned twin BACKEND+PRUNER of every backend for each pruner; "
                             "pruned labels (also given directly, e.g. --backends optuna.tpe+asha) "
                             "run on the multi-fidelity problems only")
    parser.add_argument("--problem-path", action="append", default=[], metavar="MODULE:ATTR",
                        help="add user problems (repeatable); they join the selection")
    parser.add_argument("--seeds", type=int, default=None, help="number of seeds (0..N-1)")
    parser.add_argument("--budget", type=int, default=None, help="trials per run")
    parser.add_argument("--jobs", type=int, default=None, help="parallel runs (default: cores)")
    parser.add_argument("--timeout", type=float, default=None,
                        help="seconds per run before it is killed and recorded as timeout")
    parser.add_argument("--out", type=Path, default=None,
                        help="results directory (default bench-results/<suite>); an existing one "
                             "is resumed or extended, as long as every backend ends up with every "
                             "problem and seed (else refused before anything runs)")
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
    _warn_if_incomplete(args.dir, summary)
    return 0


def _warn_if_incomplete(out_dir: Path, summary: Path) -> None:
    """Say on stderr when the directory's comparison has holes (summary.md names them)."""
    from unitune_bench.coverage import directory_coverage

    held = directory_coverage(out_dir)
    if not held.complete:
        print(f"unitune bench: warning: incomplete comparison in {out_dir}: {len(held.short)} of "
              f"{len(held.cells)} backend/problem pairs do not hold one run per seed; {summary} "
              "names them", file=sys.stderr)


def _list_problems(paths: list[str]) -> int:
    from unitune_bench.problem import discover_problems, load_problem_path

    extra = [p for path in paths for p in load_problem_path(path)]
    catalog = discover_problems(extra)
    for name in catalog.factories:
        print(name)
    print("bbob-f<1..24>-d<2|3|5|10|20|40>[-i<N>]  (COCO's BBOB pack; needs coco-experiment)")
    for item in catalog.skipped:
        print(f"skipped {item['source']}: {item['reason']}", file=sys.stderr)
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
        from unitune_bench.api import parse_backend_options, run_benchmark

        suite = "quick" if args.quick or args.suite is None else args.suite
        with termination_handled():  # SIGTERM stops the runs as Ctrl-C does
            result = run_benchmark(
                suite, backends=args.backends, problems=args.problems, seeds=args.seeds,
                budget=args.budget, jobs=args.jobs, timeout=args.timeout, out=args.out,
                problem_paths=args.problem_path, progress=not args.no_progress,
                report=not args.no_report, command=["unitune", "bench", *argv],
                backend_options=parse_backend_options(args.backend_options) or None,
                pruners=args.pruners,
            )
    except UnituneError as exc:
        print(f"unitune bench: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt as exc:
        print("unitune bench: interrupted; finished runs are saved, run again to resume",
              file=sys.stderr)
        return 143 if isinstance(exc, Terminated) else 130
    for item in result.skipped_problems:
        print(f"unitune bench: skipped {item['source']}: {item['reason']}", file=sys.stderr)
    failed = sum(r["status"] not in ("ok", "exhausted") for r in result.new_runs)
    print(f"{len(result.new_runs)} runs done ({failed} failed, {result.skipped} already saved) "
          f"in {result.wall_time:.1f} s")
    if result.summary_path is not None:
        print(f"report: {result.summary_path}")
        _warn_if_incomplete(result.out_dir, result.summary_path)
    return 0
