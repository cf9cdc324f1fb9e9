"""Run (backend, problem, seed) triples in isolated, killable worker processes.

Each run is one process that drives a :class:`unitune.Study` by hand (ask, objective, tell) and
streams one JSON line per trial to a trace file, timing the backend (``ask`` + ``tell``) apart
from the objective. The parent keeps up to ``jobs`` processes alive, kills any that exceed the
per-run time limit, and appends one JSON line per finished run to ``runs.jsonl``: a crash, an
exception or a hang becomes a run with status ``crashed``, ``failed`` or ``timeout`` and never
stops the others. Runs already in ``runs.jsonl`` are skipped, so an interrupted benchmark resumes.

On a multi-fidelity problem the objective gets the trial handle: it reports a value per unit of
resource, each trial's trace line records the ``resource`` it spent (its last reported step), and
a label ``BACKEND+PRUNER`` (:mod:`unitune_bench.pruning`) runs the study with that pruner, so
trials the pruner stops are told PRUNED.
"""

from __future__ import annotations

import importlib
import json
import logging
import math
import multiprocessing
import os
import signal
import time
import traceback
import warnings
from collections import deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from multiprocessing.connection import wait
from pathlib import Path
from typing import Any

from unitune import Backend, Space, Study, TrialPruned
from unitune.errors import SearchExhausted, UnituneError
from unitune.execution.loop import is_count, is_seconds
from unitune.execution.orphans import die_with_driver
from unitune.registry import load_backend_class, split_name
from unitune_bench.fidelity import resource_of
from unitune_bench.problem import Problem
from unitune_bench.pruning import is_multi_fidelity, make_harness_pruner, split_label

__all__ = ["RUNS_FILE", "RunSpec", "execute_run", "read_runs", "run_all"]

logger = logging.getLogger("unitune_bench")

RUNS_FILE = "runs.jsonl"
_TRACE_DIR = ".traces"
#: Statuses of a finished run. ``ok`` and ``exhausted`` (the backend ran out of candidates) count
#: as successful; the others are failures shown in the report.
STATUSES = ("ok", "exhausted", "failed", "timeout", "crashed")

BackendSpec = str | type[Backend]


@dataclass(frozen=True)
class RunSpec:
    """One run: a backend (by its label, ``optuna.tpe+asha`` for a pruned variant), a problem, a
    seed and a trial budget."""

    backend: str
    problem: str
    seed: int
    budget: int

    @property
    def key(self) -> tuple[str, str, int, int]:
        """Identity of the run in ``runs.jsonl``."""
        return (self.backend, self.problem, self.seed, self.budget)

    @property
    def slug(self) -> str:
        """A file-name-safe identifier."""
        return f"{self.backend}__{self.problem}__{self.seed}__{self.budget}".replace("/", "_")


def grid_options(space: Space, budget: int) -> dict[str, Any]:
    """Grid search under a budget: the coarsest grid with at least ``budget`` points (so the whole
    budget is used), visited in a seeded random order, so that a grid larger than the budget is not
    cut off along its first axes."""
    resolution = 2
    while resolution < 100 and len(space.grid(resolution)) < budget:
        resolution += 1
    return {"resolution": resolution, "shuffle": True}


def planned_budget_options(backend: BackendSpec, budget: int) -> dict[str, Any]:
    """``{"budget": budget}`` for an algorithm that declares a ``budget`` option (the number of
    trials it plans for, e.g. Nevergrad's NGOpt, which picks its sub-optimizer from it), else ``{}``:
    every backend then plans for the run's real trial budget, as its own users would set it."""
    if isinstance(backend, str):
        family, algorithm = split_name(backend)
        cls = load_backend_class(family)
    else:
        cls, algorithm = backend, None
    record = cls.algorithms.get(algorithm or next(iter(cls.algorithms)))
    return {"budget": budget} if record is not None and "budget" in record.options else {}


def execute_run(problem: Problem, backend: BackendSpec, seed: int, budget: int,
                trace: Callable[[dict[str, Any]], None],
                options: Mapping[str, Any] | None = None, pruner: str | None = None) -> str:
    """Run one study by hand and report each trial to ``trace``; return the final status.

    ``options`` go to the backend (grid search also gets :func:`grid_options`, and an algorithm
    with a ``budget`` option :func:`planned_budget_options`; ``options`` override both).
    The backend's time is ``ask_batch(1)`` plus ``tell``; the objective's time is its call alone
    (on a multi-fidelity problem it includes the reports and the pruner's decisions).
    An exception in the objective is a FAILED trial; an exception in the backend ends the run.
    ``pruner`` names a harness pruner (:data:`unitune_bench.pruning.PRUNERS`); a trial it stops
    (:class:`unitune.TrialPruned`) is told PRUNED.
    """
    backend_options = {**(grid_options(problem.space, budget) if backend == "grid" else {}),
                       **planned_budget_options(backend, budget), **(options or {})}
    fidelity = is_multi_fidelity(problem)
    study = Study(problem.space, backend=backend, seed=seed, direction=problem.direction,
                  backend_options=backend_options or None,
                  pruner=make_harness_pruner(pruner, problem) if pruner else None)
    best: float | None = None
    for number in range(budget):
        start = time.perf_counter()
        try:
            [handle] = study.ask_batch(1)
        except SearchExhausted:
            return "exhausted"
        asked = time.perf_counter()
        failure = pruned = None
        try:
            if fidelity:
                value = float(problem.objective(dict(handle.params), handle))
            else:
                value = float(problem.objective(dict(handle.params)))
        except TrialPruned as exc:  # the pruner stopped it: a PRUNED trial
            value, pruned = None, str(exc) or "pruned"
        except Exception as exc:  # the objective failed: a FAILED trial, recorded below
            value, failure = None, f"{type(exc).__name__}: {exc}"
        evaluated = time.perf_counter()
        if pruned is not None:
            record = study.tell(handle, state="pruned", failure=pruned)
        elif value is not None and math.isfinite(value):
            record = study.tell(handle, value)
        else:
            failure = failure or f"objective returned {value!r}"
            record = study.tell(handle, state="failed", failure=failure)
        told = time.perf_counter()
        if record.state.value == "complete":
            value = record.values[0]
            if best is None or problem.loss(value) < problem.loss(best):
                best = value
        else:
            value = None
        trace({"n": number, "state": record.state.value, "value": value, "best": best,
               "ask": asked - start, "tell": told - evaluated, "objective": evaluated - asked,
               **({"resource": resource_of(record)} if fidelity else {}),
               **({"failure": (failure or pruned)[:300]} if failure or pruned else {})})
    return "ok"


def _worker(problem: Problem, backend: BackendSpec, seed: int, budget: int, path: str,
            limit_threads: bool, options: Mapping[str, Any] | None = None,
            pruner: str | None = None) -> None:
    """Process entry point: run and stream the trace; the last line says how it ended.

    The run ends with the harness however the harness ends (SIGTERM, SIGKILL: it reruns on
    resume), and Ctrl-C is the harness's to handle: it stops its runs itself, with the processes
    their objectives started (a run is a process group of its own on POSIX)."""
    die_with_driver()
    if hasattr(os, "setpgrp"):  # the run and what its objective starts: one group, stopped whole
        os.setpgrp()
    signal.signal(signal.SIGINT, _left_to_the_harness)
    if limit_threads:
        _limit_threads()
    # SciPy's COBYLA (which Nevergrad's NGOpt picks for some small budgets) warns on every run that
    # it adjusted its final trust radius: noise that would scroll the progress bar away.
    warnings.filterwarnings("ignore", message="COBYLA: Invalid RHOEND")
    started = time.perf_counter()
    with open(path, "a", encoding="utf-8") as out:
        def trace(line: dict[str, Any]) -> None:
            out.write(json.dumps(line) + "\n")
            out.flush()

        try:
            status, error = execute_run(problem, backend, seed, budget, trace, options, pruner), None
        except Exception as exc:  # the backend (or the harness) failed: a failed run
            status, error = "failed", "".join(traceback.format_exception(exc))[-4000:]
        trace({"end": status, "error": error, "wall": time.perf_counter() - started})


def _left_to_the_harness(signum: int, frame: Any) -> None:
    """A run's SIGINT handler: Ctrl-C reaches every process of the terminal's group, and the
    harness stops its runs itself (a handler, not SIG_IGN, which programs the objective starts
    would inherit)."""


def _limit_threads() -> None:
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        logger.debug("threadpoolctl is missing; BLAS threads are not limited")
        return
    threadpool_limits(1)


def _read_trace(path: Path) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
    trials, end = [], None
    if not path.exists():
        return trials, end
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            item = json.loads(line)
        except json.JSONDecodeError:  # the process was killed mid-line; the line is lost
            logger.warning("dropping a truncated trace line in %s", path)
            continue
        if "end" in item:
            end = item
        else:
            trials.append(item)
    return trials, end


def read_runs(out_dir: str | Path) -> list[dict[str, Any]]:
    """Every run recorded in ``out_dir/runs.jsonl`` (a truncated last line is skipped)."""
    path = Path(out_dir) / RUNS_FILE
    if not path.exists():
        return []
    runs = []
    lines = path.read_text(encoding="utf-8").splitlines()
    for i, line in enumerate(lines):
        if not line.strip():
            continue
        try:
            runs.append(json.loads(line))
        except json.JSONDecodeError:
            logger.warning("skipping unreadable line %d of %s (interrupted write?)", i + 1, path)
    return runs


def _context() -> multiprocessing.context.BaseContext:
    # fork is cheap and needs no pickling (user problems may be lambdas); spawn elsewhere.
    methods = multiprocessing.get_all_start_methods()
    return multiprocessing.get_context("fork" if "fork" in methods else "spawn")


def preload(backends: Iterable[BackendSpec], problems: Iterable[Problem]) -> None:
    """Import backend libraries and scikit-learn once in the parent, so forked runs start warm."""
    from unitune.registry import load_backend_class, split_name

    for spec in backends:
        cls = spec if isinstance(spec, type) else load_backend_class(split_name(spec)[0])
        for module in cls.requires:
            importlib.import_module(module)
    for problem in problems:  # modules a problem asks to have imported before the fork
        for module in problem.meta.get("preload", ()):
            importlib.import_module(module)
    if any("ml" in p.tags for p in problems):
        for module in ("sklearn.model_selection", "sklearn.ensemble", "sklearn.svm",
                       "sklearn.neural_network", "sklearn.linear_model", "sklearn.neighbors",
                       "sklearn.tree", "sklearn.calibration", "sklearn.pipeline"):
            importlib.import_module(module)


@dataclass
class _Running:
    spec: RunSpec
    process: Any
    started: float
    trace: Path


def run_all(
    specs: Sequence[RunSpec],
    problems: Mapping[str, Problem],
    backends: Mapping[str, BackendSpec],
    out_dir: str | Path,
    *,
    jobs: int = 1,
    timeout: float | None = None,
    on_done: Callable[[dict[str, Any]], None] | None = None,
    options: Mapping[str, Mapping[str, Any]] | None = None,
) -> list[dict[str, Any]]:
    """Run every spec not yet in ``runs.jsonl``; append each finished run; return the new ones.
    ``options`` maps a backend label to the options its backend is built with; a label
    ``BACKEND+PRUNER`` runs ``backends[label]`` with that harness pruner."""
    if not is_count(jobs):
        raise UnituneError(f"jobs must be a positive integer, got {jobs!r}")
    check_timeout(timeout)
    out = Path(out_dir)
    traces = out / _TRACE_DIR
    traces.mkdir(parents=True, exist_ok=True)
    ctx = _context()
    queue = deque(specs)
    running: list[_Running] = []
    finished: list[dict[str, Any]] = []
    _end_with_newline(out / RUNS_FILE)
    with open(out / RUNS_FILE, "a", encoding="utf-8") as runs_file:
        def record(item: _Running, forced: str | None) -> None:
            trials, end = _read_trace(item.trace)
            if forced:
                status, error = forced, f"killed after the per-run limit of {timeout:g} s"
            elif end is None:
                status = "crashed"
                error = f"worker process exited with code {item.process.exitcode} before finishing"
            else:
                status, error = end["end"], end["error"]
            run = {"backend": item.spec.backend, "problem": item.spec.problem,
                   "seed": item.spec.seed, "budget": item.spec.budget, "status": status,
                   "error": error, "wall": time.monotonic() - item.started,
                   "finished_at": time.time(), "trials": trials}
            if any("resource" in t for t in trials):  # a multi-fidelity run: what it spent
                run["resource"] = sum(t.get("resource", 0) for t in trials)
            runs_file.write(json.dumps(run) + "\n")
            runs_file.flush()
            item.trace.unlink(missing_ok=True)
            finished.append(run)
            if on_done is not None:
                on_done(run)

        try:
            while queue or running:
                while queue and len(running) < jobs:
                    spec = queue.popleft()
                    trace = traces / f"{spec.slug}.jsonl"
                    trace.unlink(missing_ok=True)
                    proc = ctx.Process(
                        target=_worker, daemon=True, name=f"bench-{spec.slug}",
                        args=(problems[spec.problem], backends[spec.backend], spec.seed,
                              spec.budget, str(trace), jobs > 1, (options or {}).get(spec.backend),
                              split_label(spec.backend)[1]))
                    proc.start()
                    running.append(_Running(spec, proc, time.monotonic(), trace))
                now = time.monotonic()
                wait_for = 1.0 if timeout is None else max(
                    0.01, min(r.started + timeout - now for r in running))
                wait([r.process.sentinel for r in running], timeout=min(wait_for, 1.0))
                now = time.monotonic()
                for item in list(running):
                    if not item.process.is_alive():
                        item.process.join()
                        _signal_group(item.process, signal.SIGKILL)  # what the run left behind
                        running.remove(item)
                        record(item, None)
                    elif timeout is not None and now - item.started > timeout:
                        _stop(item.process)
                        running.remove(item)
                        record(item, "timeout")
        finally:
            for item in running:  # interrupted: stop what is in flight; it reruns on resume
                _stop(item.process)
                item.trace.unlink(missing_ok=True)
    return finished


def check_timeout(timeout: float | None) -> None:
    """A per-run limit is None or a positive number of seconds."""
    if timeout is not None and not is_seconds(timeout):
        raise UnituneError(f"timeout must be a positive number of seconds, got {timeout!r}")


def _end_with_newline(path: Path) -> None:
    """After an interrupted write the file may end mid-line; start the next record on a new line."""
    if path.exists() and path.stat().st_size:
        with open(path, "rb+") as fh:
            fh.seek(-1, os.SEEK_END)
            if fh.read(1) != b"\n":
                fh.write(b"\n")


def _stop(process: Any) -> None:
    """End a run and every process its objective started (its process group, on POSIX)."""
    _signal_group(process, signal.SIGTERM)
    process.join(2.0)
    _signal_group(process, signal.SIGKILL)
    process.join(2.0)


def _signal_group(process: Any, signum: int) -> None:
    """Send ``signum`` to the run's process group (the run alone where there are none, or
    before the run has made its group)."""
    killpg = getattr(os, "killpg", None)
    try:
        if killpg is not None and process.pid is not None:
            killpg(process.pid, signum)
            return
    except ProcessLookupError:  # no such group: the run had not made it yet, or all have ended
        pass
    if not process.is_alive():
        return
    if signum == getattr(signal, "SIGKILL", None):
        process.kill()
    else:
        process.terminate()


def pending_specs(specs: Iterable[RunSpec], done: Iterable[Mapping[str, Any]]) -> list[RunSpec]:
    """The specs whose run is not recorded yet."""
    seen = {(r["backend"], r["problem"], r["seed"], r["budget"]) for r in done}
    return [s for s in specs if s.key not in seen]


def default_jobs() -> int:
    """One job per core."""
    return os.cpu_count() or 1
