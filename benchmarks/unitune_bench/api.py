"""The Python API: plan a benchmark, run it (resuming), and render its report.

>>> from unitune_bench import run_benchmark                       # doctest: +SKIP
>>> result = run_benchmark(suite="quick", out="bench-results/quick")  # doctest: +SKIP
>>> print(result.summary_path.read_text()[:300])                   # doctest: +SKIP
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from unitune import Backend
from unitune.errors import BackendError, UnituneError
from unitune.execution.loop import is_count
from unitune.registry import list_backends, load_backend_class, split_name
from unitune_bench.coverage import check_extension
from unitune_bench.manifest import backend_setup, environment, now, read_manifest, write_manifest
from unitune_bench.problem import Problem, discover_problems, load_problem_path, select_problems
from unitune_bench.pruning import is_multi_fidelity, make_harness_pruner, pruned_twins, split_label
from unitune_bench.runner import (
    BackendSpec,
    RunSpec,
    check_timeout,
    default_jobs,
    pending_specs,
    planned_budget_options,
    preload,
    read_runs,
    run_all,
)
from unitune_bench.scoring import BASELINE
from unitune_bench.suites import SUITES, Suite

__all__ = ["BenchmarkResult", "default_backends", "parse_backend_options", "plan", "run_benchmark"]


@dataclass
class BenchmarkResult:
    """Where the results went and what the run did."""

    out_dir: Path
    summary_path: Path | None
    new_runs: list[dict[str, Any]]
    skipped: int
    wall_time: float
    #: problems or packs that could not be loaded, each {"source": ..., "reason": ...}
    skipped_problems: list[dict[str, str]] = field(default_factory=list)


def _suite(suite: str | Suite) -> Suite:
    if isinstance(suite, Suite):
        return suite
    if suite not in SUITES:
        raise UnituneError(f"unknown suite {suite!r}; choose one of {sorted(SUITES)}")
    return SUITES[suite]


def default_backends(suite: str | Suite = "quick") -> list[str]:
    """Every installed backend family at its default algorithm, plus the suite's extras;
    random search first (the baselines come from it)."""
    suite = _suite(suite)
    # Only algorithms whose own requirements are met (optuna.gp needs torch, hyperopt.atpe lightgbm).
    installed = {
        info.name: [a for a in info.algorithms if not info.algorithm_missing.get(a)]
        for info in list_backends() if info.installed
    }
    installed = {family: algorithms for family, algorithms in installed.items() if algorithms}
    if suite.backends:  # the suite names its backends: those that can run, in its order
        return _with_baseline(b for b in suite.backends if _runnable(b, installed))
    labels: list[str] = []
    for family, algorithms in installed.items():
        if suite.all_algorithms and len(algorithms) > 1:
            labels += [f"{family}.{a}" for a in algorithms]
        else:
            labels.append(f"{family}.{algorithms[0]}" if len(algorithms) > 1 else family)
    for extra in suite.extra_backends:
        if _runnable(extra, installed) and extra not in labels:
            labels.append(extra)
    return _with_baseline(labels)


def _runnable(label: str, installed: dict[str, list[str]]) -> bool:
    """Whether ``label`` (a family or family.algorithm) is installed with what it needs."""
    family, algorithm = split_name(label)
    return family in installed and (algorithm is None or algorithm in installed[family])


def _with_baseline(labels: Iterable[str]) -> list[str]:
    labels = [label for label in labels if label != BASELINE]
    return [BASELINE, *dict.fromkeys(labels)]


def plan(backends: Sequence[str], problems: Sequence[str], seeds: Sequence[int],
         budget: int) -> list[RunSpec]:
    """Every (backend, problem, seed) at ``budget``, interleaved so that partial results
    already cover every backend."""
    return [RunSpec(b, p, s, budget) for s in seeds for p in problems for b in backends]


def _option_value(text: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def parse_backend_options(texts: Sequence[str]) -> dict[str, dict[str, Any]]:
    """``--backend-options`` values to ``{label: {option: value}}``.

    Each text is either JSON, ``{"skopt.gp": {"n_initial_points": 5}}``, or
    ``LABEL:KEY=VALUE[;KEY=VALUE...]`` such as ``skopt.gp:n_initial_points=5;acq_func=EI``, where
    each value is read as JSON when it parses (``5``, ``true``, ``"x"``) and as a string otherwise.

    >>> parse_backend_options(["skopt.gp:n_initial_points=5", '{"optuna.tpe": {"n_startup_trials": 3}}'])
    {'skopt.gp': {'n_initial_points': 5}, 'optuna.tpe': {'n_startup_trials': 3}}
    """
    out: dict[str, dict[str, Any]] = {}
    for text in texts:
        text = text.strip()
        if text.startswith("{"):
            try:
                data = json.loads(text)
            except json.JSONDecodeError as exc:
                raise UnituneError(f"--backend-options: invalid JSON {text!r}: {exc}") from exc
            if not all(isinstance(k, str) and isinstance(v, dict) for k, v in data.items()):
                raise UnituneError(
                    f"--backend-options: JSON must map backend labels to objects of options, got {text!r}")
            for label, options in data.items():
                out.setdefault(label, {}).update(options)
            continue
        label, sep, rest = text.partition(":")
        pairs = [item for item in rest.split(";") if item.strip()]
        if not sep or not label or not pairs or any("=" not in item for item in pairs):
            raise UnituneError(
                f"--backend-options: expected LABEL:KEY=VALUE[;KEY=VALUE...] (e.g. "
                f"skopt.gp:n_initial_points=5) or a JSON object, got {text!r}")
        for item in pairs:
            key, _, value = item.partition("=")
            out.setdefault(label.strip(), {})[key.strip()] = _option_value(value.strip())
    return out


def _check_backend(spec: BackendSpec) -> None:
    """Refuse, before anything runs, a backend that could not run: a name whose algorithm does not
    exist, or an algorithm whose modules are missing (every run of it would fail, and those failed
    runs, saved, would be skipped when the directory is resumed after installing them)."""
    if isinstance(spec, str):
        family, algorithm = split_name(spec)
        load_backend_class(family).checked_algorithm(algorithm)
    elif isinstance(spec, type) and issubclass(spec, Backend):
        spec.checked_algorithm()
    else:
        raise BackendError(
            f"a backend must be a name such as 'optuna.tpe' or a Backend subclass, got {spec!r}")


def _positive(name: str, value: Any) -> int:
    if not is_count(value):
        raise UnituneError(f"{name} must be a positive integer, got {value!r}")
    return int(value)


def run_benchmark(
    suite: str | Suite = "quick",
    *,
    backends: Sequence[str] | Mapping[str, BackendSpec] | None = None,
    problems: Sequence[str] | None = None,
    seeds: int | None = None,
    budget: int | None = None,
    jobs: int | None = None,
    timeout: float | None = None,
    out: str | Path | None = None,
    problem_paths: Sequence[str] = (),
    extra_problems: Sequence[Problem] = (),
    progress: bool = True,
    report: bool = True,
    command: Sequence[str] | None = None,
    backend_options: Mapping[str, Mapping[str, Any]] | None = None,
    pruners: Sequence[str] | None = None,
) -> BenchmarkResult:
    """Run a suite (or a custom selection), resuming from ``out`` if it holds earlier results.

    ``backends`` is a list of names (``"optuna.tpe"``) or a mapping label -> name or Backend
    class; random search is always added. ``problems`` are names, globs, ``tag:NAME`` or a pack's
    names (``bbob-f8-d5``); without it, the suite's problems plus every problem published through
    the ``unitune.problems`` entry points run. ``backend_options`` maps a label to the options its
    backend is built with (a pruned label ``b+asha`` also gets the options of ``b``). Seeds are
    ``0 .. seeds-1`` for every backend. ``pruners`` (default: the suite's) adds a pruned twin
    ``label+pruner`` of every backend for each harness pruner named
    (:data:`unitune_bench.pruning.PRUNERS`); pruned labels, given here or in ``backends``, run on
    the multi-fidelity problems only. A run that changes the suite's selection (problems,
    backends, seeds, budget, options, pruners) is reported as a custom run. Into an existing
    ``out``, a selection that would leave the comparison incomplete (a backend without some
    problem or seed the others have; :func:`unitune_bench.coverage.check_extension`) is refused
    before anything runs, as are another budget and other options. Returns where the report was
    written.
    """
    started = time.monotonic()
    custom = any(v not in (None, (), [], {}) for v in (backends, problems, seeds, budget, problem_paths,
                                                          extra_problems, backend_options, pruners))
    suite = _suite(suite)
    budget = _positive("budget", suite.budget if budget is None else budget)
    seed_list = list(range(_positive("seeds", suite.seeds if seeds is None else seeds)))
    jobs = _positive("jobs", default_jobs() if jobs is None else jobs)
    timeout = suite.timeout if timeout is None else timeout
    check_timeout(timeout)  # before the directory is written: a refused run leaves nothing behind
    name = "custom" if custom else suite.name
    out_dir = Path(out) if out is not None else Path.cwd() / "bench-results" / name
    twins_of = suite.pruners if pruners is None else tuple(pruners)
    if isinstance(backends, Mapping):
        given: dict[str, BackendSpec] = dict(backends)
        given.setdefault(BASELINE, BASELINE)
        labels = pruned_twins(_with_baseline(given), twins_of)
        backend_map = {label: given.get(label, given.get(split_label(label)[0])) for label in labels}
    else:
        labels = pruned_twins(_with_baseline(backends) if backends else default_backends(suite), twins_of)
        backend_map = {label: split_label(label)[0] for label in labels}
    for spec in dict.fromkeys(backend_map.values()):
        _check_backend(spec)
    options = _label_options(labels, backend_options)
    extra = [*extra_problems]
    for path in problem_paths:
        extra += load_problem_path(path)
    catalog = discover_problems(extra)
    patterns = (list(problems) if problems
                else [*suite.problems, *catalog.entry_point_names, *(p.name for p in extra)])
    skipped = list(catalog.skipped)
    chosen = select_problems(patterns, catalog.factories, skipped)
    if not chosen:
        reasons = "; ".join(f"{s['source']}: {s['reason']}" for s in skipped) or "nothing matched"
        raise UnituneError(f"no problem left to run ({reasons})")
    by_name = {p.name: p for p in chosen}
    fidelity = [p for p in chosen if is_multi_fidelity(p)]
    pruned = [label for label in labels if split_label(label)[1] is not None]
    if pruned and not fidelity:
        raise UnituneError(
            f"pruned variants {pruned} need multi-fidelity problems (objectives that report per "
            f"epoch, tag:fidelity such as mf-branin), and none of {sorted(by_name)} is one")
    setup = {label: backend_setup(backend_map[label], options.get(label)) for label in labels}
    for label in labels:  # what the harness itself sets (a planned budget), unless the user did
        planned = {k: v for k, v in planned_budget_options(backend_map[label], budget).items()
                   if k not in (options.get(label) or {})}
        if planned:
            setup[label]["harness_options"] = planned
    for label in pruned:
        pruner_name = split_label(label)[1]
        setup[label]["pruner"] = pruner_name
        built = {p.name: repr(make_harness_pruner(pruner_name, p)) for p in fidelity}
        setup[label]["pruner_by_problem"] = built
        setup[label]["pruner_setup"] = sorted(set(built.values()))

    out_dir.mkdir(parents=True, exist_ok=True)
    manifest = _merge_manifest(out_dir, name, suite, budget, seed_list, labels, chosen, timeout, jobs,
                               command, setup, skipped)
    published = [p for p in catalog.entry_point_names if p in by_name and not problems]
    if published:  # entry-point problems joined the suite's own: the title says so
        manifest["published_problems"] = sorted(set(manifest.get("published_problems", [])) | set(published))
    write_manifest(out_dir, manifest)
    # A pruned label runs only where there is something to prune: the multi-fidelity problems.
    specs = [s for s in plan(labels, list(by_name), seed_list, budget)
             if split_label(s.backend)[1] is None or is_multi_fidelity(by_name[s.problem])]
    done = read_runs(out_dir)
    todo = pending_specs(specs, done)
    n_skipped = len(specs) - len(todo)
    preload([backend_map[label] for label in labels], chosen)
    bar = _progress(progress, len(specs), n_skipped, name)
    failures = 0

    def on_done(run: dict[str, Any]) -> None:
        nonlocal failures
        failures += run["status"] not in ("ok", "exhausted")
        if bar is not None:
            bar.set_postfix_str(f"failed={failures} last={run['backend']}/{run['problem']}", refresh=False)
            bar.update(1)

    try:
        new_runs = run_all(todo, by_name, backend_map, out_dir, jobs=jobs, timeout=timeout,
                           on_done=on_done, options=options)
    finally:
        if bar is not None:
            bar.close()
    manifest["finished_at"] = now()
    manifest["invocations"][-1]["wall_time"] = time.monotonic() - started
    manifest["invocations"][-1]["new_runs"] = len(new_runs)
    write_manifest(out_dir, manifest)
    summary = None
    if report:
        from unitune_bench.report import render_report

        summary = render_report(out_dir)
    return BenchmarkResult(out_dir, summary, new_runs, n_skipped, time.monotonic() - started, skipped)


def _label_options(labels: Sequence[str],
                   backend_options: Mapping[str, Mapping[str, Any]] | None) -> dict[str, dict[str, Any]]:
    """Options per label of the run; a pruned label ``b+p`` gets ``b``'s options, then its own."""
    given = {label: dict(o) for label, o in (backend_options or {}).items()}
    bases = {split_label(label)[0] for label in labels}
    unknown = sorted(set(given) - set(labels) - bases)
    if unknown:
        raise UnituneError(f"backend options for {unknown} but the benchmark runs only {list(labels)}; "
                           "name options by a backend label of this run")
    out = {}
    for label in labels:
        merged = {**given.get(split_label(label)[0], {}), **given.get(label, {})}
        if merged:
            out[label] = merged
    return out


def _progress(show: bool, total: int, initial: int, name: str):
    if not show:
        return None
    from tqdm import tqdm

    tqdm.monitor_interval = 0  # no monitor thread: workers are forked
    # In a log file (CI) a line every 15 s is plenty; on a terminal the bar refreshes freely.
    interval = 0.1 if sys.stderr.isatty() else 15.0
    return tqdm(total=total, initial=initial, desc=f"unitune bench {name}", unit="run",
                file=sys.stderr, dynamic_ncols=True, mininterval=interval)


def _check_same_pruners(out_dir: Path, label: str, before: dict[str, Any], entry: dict[str, Any],
                        old_problems: Mapping[str, Any]) -> None:
    """Refuse to resume a pruned label whose pruner, as built for a problem it already ran on,
    changed (e.g. ``+asha``'s first rung); on success ``entry`` keeps every problem's pruner."""
    built = entry["pruner_by_problem"]
    known = before.get("pruner_by_problem")
    if known is None:  # written before pruners were recorded per problem: their list only
        listed = set(before.get("pruner_setup") or ())
        changed = [p for p, b in built.items() if listed and p in old_problems and b not in listed]
        was, known = "; ".join(sorted(listed)), {}
    else:
        changed = [p for p, b in built.items() if known.get(p, b) != b]
        was = "; ".join(sorted({known[p] for p in changed}))
    if changed:
        raise UnituneError(
            f"{out_dir} ran {label!r} on {sorted(changed)} with the pruner {was}, not "
            f"{'; '.join(sorted({built[p] for p in changed}))} (the harness's pruner settings "
            "changed since); choose another --out"
        )
    entry["pruner_by_problem"] = {**known, **built}
    entry["pruner_setup"] = sorted(set(entry["pruner_by_problem"].values()))


#: What makes a problem the same problem from one run of a directory to the next.
_PROBLEM_IDENTITY = ("direction", "optimum", "space", "max_resource")


def _check_same_problems(out_dir: Path, recorded: Mapping[str, Any], problems: Sequence[Problem]) -> None:
    """Refuse to resume a problem whose definition changed since the directory ran it (another
    space, optimum, direction or resource): its saved runs were made on another problem."""
    for problem in problems:
        before = recorded.get(problem.name)
        if before is None:
            continue
        now = json.loads(json.dumps(problem.describe(), default=str))  # as the manifest holds it
        changed = [key for key in _PROBLEM_IDENTITY if key in before and before[key] != now.get(key)]
        if changed:
            shown = "; ".join(key if key == "space" else f"{key} {before.get(key)!r}, now {now.get(key)!r}"
                              for key in changed)
            raise UnituneError(
                f"{out_dir} ran the problem {problem.name!r} with another definition ({shown}); its "
                "saved runs were made on another problem: choose another --out")


def _merge_manifest(out_dir: Path, name: str, suite: Suite, budget: int, seeds: list[int],
                    labels: list[str], problems: list[Problem], timeout: float | None, jobs: int,
                    command: Sequence[str] | None, setup: dict[str, dict[str, Any]],
                    skipped: list[dict[str, str]]) -> dict[str, Any]:
    old = read_manifest(out_dir)
    invocation = {"command": list(command) if command is not None else list(sys.argv),
                  "started_at": now(), "jobs": jobs, "timeout": timeout}
    env = environment()
    for entry in setup.values():
        env["versions"].update(entry["versions"])
    if old is None:
        return {"format": 2, "suite": name, "base_suite": suite.name, "budget": budget, "seeds": seeds,
                "backends": labels, "backend_setup": setup,
                "problems": {p.name: p.describe() for p in problems}, "skipped": skipped,
                "timeout": timeout, "created_at": now(), "invocations": [invocation], **env}
    if old.get("budget") != budget:
        raise UnituneError(
            f"{out_dir} holds a benchmark with a budget of {old.get('budget')} trials, not {budget}; "
            "resume with the same --budget or choose another --out"
        )
    _check_same_problems(out_dir, old["problems"], problems)
    check_extension(out_dir, old, labels, {p.name: p for p in problems}, seeds)
    old_setup = old.setdefault("backend_setup", {})
    for label, entry in setup.items():
        before = old_setup.get(label, {}).get("options")
        if before is not None and before != entry["options"]:
            raise UnituneError(
                f"{out_dir} ran {label!r} with the options {before!r}, not {entry['options']!r}; "
                "resume with the same --backend-options or choose another --out"
            )
        if "pruner_by_problem" in entry:
            _check_same_pruners(out_dir, label, old_setup.get(label, {}), entry, old["problems"])
        old_setup[label] = entry
    if old.get("suite") != name:
        old["suite"] = "custom"
    old["seeds"] = sorted(set(old["seeds"]) | set(seeds))
    old["backends"] = list(dict.fromkeys([*old["backends"], *labels]))
    old["problems"].update({p.name: p.describe() for p in problems})
    old["skipped"] = skipped
    old["invocations"].append(invocation)
    if env["versions"] != old.get("versions"):
        invocation["versions"] = env["versions"]
    return old
