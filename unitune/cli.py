"""The unitune command: list backends, show conversion reports, read and resume stored studies,
run benchmarks."""

from __future__ import annotations

import argparse
import importlib
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from unitune.errors import UnituneError
from unitune.registry import BackendInfo, list_backends, make_backend
from unitune.space import Space

__all__ = ["capability_matrix", "main"]

_CAPS = ("conditional", "batch", "multi_objective", "replay", "seeded")


def capability_matrix(infos: Sequence[BackendInfo] | None = None) -> str:
    """A Markdown table of every backend algorithm, its declared capabilities and what it needs.

    It depends on the declarations only, not on what happens to be installed.
    """
    infos = list_backends() if infos is None else infos
    head = "| backend | " + " | ".join(c.replace("_", "-") for c in _CAPS) + " | install | description |"
    rows = [head, "|" + "---|" * (len(_CAPS) + 3)]
    for info in infos:
        if not info.algorithms:
            rows.append(f"| {info.name} |" + " |" * len(_CAPS) + f" `{info.install_hint}` | |")
            continue
        for i, (algorithm, text) in enumerate(info.algorithms.items()):
            name = info.name if i == 0 else f"{info.name}.{algorithm}"
            caps = info.capabilities[algorithm].as_dict()
            marks = " | ".join("yes" if caps[c] else "no" for c in _CAPS)
            install = info.algorithm_install.get(algorithm) or info.install_hint
            rows.append(f"| `{name}` | {marks} | `{install}` | {text} |")
    return "\n".join(rows)


def _backends(args: argparse.Namespace) -> int:
    infos = list_backends()
    if args.json:
        print(json.dumps([
            {"name": i.name, "installed": i.installed, "install": i.install_hint,
             "missing": list(i.missing), "algorithms": dict(i.algorithms),
             "algorithm_missing": {a: list(m) for a, m in i.algorithm_missing.items()},
             "capabilities": {a: c.as_dict() for a, c in i.capabilities.items()},
             "pruned_trials": i.pruned_policy.value if i.pruned_policy else None,
             "options": {a: {k: v if isinstance(v, (str, int, float, bool, type(None))) else repr(v)
                             for k, v in o.items()} for a, o in i.options.items()}}
            for i in infos
        ], indent=2))
        return 0
    if args.markdown:
        print(capability_matrix(infos))
        return 0
    for info in infos:
        if not info.installed:
            missing = f" (missing {', '.join(info.missing)})" if info.missing else ""
            print(f"{info.name:<10} not installed{missing}: {info.install_hint}")
            continue
        print(f"{info.name:<10} installed")
        policy = info.pruned_policy
        learned = f"{policy.value}: {policy.detail}" if policy else "not declared by the backend"
        print(f"  {'PRUNED trials':<24} {learned}")
        for i, (algorithm, text) in enumerate(info.algorithms.items()):
            caps = [c for c, on in info.capabilities[algorithm].as_dict().items() if on]
            label = f"{info.name}.{algorithm}" + (" (default)" if i == 0 else "")
            print(f"  {label:<24} {text}  [{', '.join(caps)}]")
            options = info.options.get(algorithm)
            if options:
                listed = ", ".join(f"{k}={v!r}" for k, v in options.items())
                print(f"  {'':<24} options: {listed}")
            needs = info.algorithm_missing.get(algorithm)
            if needs:
                print(f"  {'':<24} not usable here: missing {', '.join(needs)}; "
                      f"{info.algorithm_install.get(algorithm) or info.install_hint}")
    return 0


def _conversion(args: argparse.Namespace) -> int:
    path = Path(args.space)
    try:
        space = Space.from_json(path.read_text())
    except OSError as exc:
        raise UnituneError(f"cannot read the space file {str(path)!r}: {exc}") from exc
    except json.JSONDecodeError as exc:
        raise UnituneError(f"{str(path)!r} is not valid JSON: {exc}") from exc
    backend = make_backend(args.backend, space, seed=0)
    report = backend.conversion_report()
    width = max((len(c.param) for c in report), default=5)
    print(f"conversion of {path} for backend {backend.full_name!r}:")
    for conv in report:
        print(f"  {conv.param:<{width}}  {conv.fidelity.value:<12}  {conv.detail}")
    print(f"  PRUNED trials: {backend.pruned_trials()}")
    lossy = [c for c in report if c.lossy]
    if args.strict and lossy:
        print(f"strict mode: {len(lossy)} lossy conversion(s); the backend would be refused", file=sys.stderr)
        return 1
    return 0


def _existing(location: str) -> tuple[str, dict[str, Any]]:
    """The store's file path and its options (``x.db?timeout=5``, as ``storage=`` takes them);
    StorageError when there is no such file (a command must not create one)."""
    from unitune.storage import StorageError, parse_location

    path, options = parse_location(location)
    file = path.removeprefix("sqlite:///")
    if not Path(file).is_file():
        raise StorageError(f"no store at {file!r}" + (f" (from {location!r})" if file != location else ""))
    return file, options


def _open(location: str):
    """The store at ``location``, opened read-only."""
    from unitune.storage import SQLiteStorage

    file, options = _existing(location)
    return SQLiteStorage(file, readonly=True, **options)


def _study_names(store, wanted: str | None) -> list[str]:
    from unitune.storage import StudyNotFoundError

    names = store.study_names()
    if wanted is None:
        return names
    if wanted not in names:
        raise StudyNotFoundError(f"no study named {wanted!r} in {store.location} (it has {names!r})")
    return [wanted]


def _single(store, wanted: str | None) -> str:
    names = _study_names(store, wanted)
    if len(names) != 1:
        raise UnituneError(f"{store.location} holds {len(names)} studies {names!r}; choose one with --study")
    return names[0]


def _status(args: argparse.Namespace) -> int:
    from unitune.storage.export import status_text

    with _open(args.file) as store:
        names = _study_names(store, args.study)
        if not names:
            print(f"{store.location} holds no study yet")
        print("\n\n".join(status_text(store, name) for name in names))
    return 0


def _trials(args: argparse.Namespace) -> int:
    from unitune.storage.export import trials_table

    with _open(args.file) as store:
        print(trials_table(store.trials(_single(store, args.study), running=True)))
    return 0


def _export(args: argparse.Namespace) -> int:
    from unitune.storage.export import write_csv, write_jsonl

    with _open(args.file) as store:
        trials = store.trials(_single(store, args.study), running=args.running)
    write = write_csv if args.format == "csv" else write_jsonl
    if args.output in (None, "-"):
        write(trials, sys.stdout)
        return 0
    try:
        with open(args.output, "w", encoding="utf-8", newline="") as out:
            write(trials, out)
    except OSError as exc:  # a missing folder, a directory, no permission, a full disk
        raise UnituneError(f"cannot write the export to {args.output!r}: {exc.strerror or exc}") from exc
    return 0


def _load_objective(spec: str):
    module_name, _, attr = spec.partition(":")
    if not module_name or not attr:
        raise UnituneError(f"--objective must look like 'module:function', got {spec!r}")
    if "" not in sys.path:
        sys.path.insert(0, "")  # the current folder, as 'python -m' would
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise UnituneError(f"cannot import the objective's module {module_name!r}: {exc}") from exc
    objective = getattr(module, attr, None)
    if not callable(objective):
        raise UnituneError(f"{module_name!r} has no callable named {attr!r}")
    return objective


def _resume(args: argparse.Namespace) -> int:
    from unitune.space import Space
    from unitune.storage import SQLiteStorage
    from unitune.study import optimize

    objective = _load_objective(args.objective)
    file, options = _existing(args.file)
    SQLiteStorage(file, readonly=True, **options).close()  # refuses a file without a store, unwritten
    if args.lease_ttl is not None:
        options["lease_ttl"] = args.lease_ttl
    store = SQLiteStorage(file, **options)
    try:
        name = _single(store, args.study)
        info = store.load_study(name)
        n_trials = args.n_trials if args.n_trials is not None else info.n_trials
        if n_trials is None:
            raise UnituneError(f"study {name!r} has no recorded trial budget; give --n-trials")
        metric = None if info.metric is None else list(info.metric)
        study = optimize(objective, Space.from_dict(info.space), info.backend, n_trials=n_trials,
                         direction=list(info.directions), metric=metric, seed=info.seed,
                         backend_options=dict(info.backend_options), batch_size=args.batch_size,
                         pruner=args.pruner, storage=store, study_name=name, resume=True)
        done = [t for t in study.trials if t.state.value != "interrupted"]
        print(f"study {name!r}: {len(done)} of {n_trials} trials finished")
    finally:
        store.close()
    if study._interrupted:  # Ctrl-C: the shell's status for SIGINT, so `resume && next` stops
        print(f"unitune: interrupted; run the same command again to continue study {name!r}",
              file=sys.stderr)
        return 130
    return 0


def _bench(argv: list[str]) -> int:
    try:
        from unitune_bench.cli import main as bench_main
    except ImportError as exc:
        raise UnituneError(
            f"'unitune bench' needs the benchmark harness: pip install unitune-benchmarks ({exc})"
        ) from exc
    return bench_main(argv)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="unitune", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    backends = sub.add_parser("backends", help="list backends, their algorithms and capabilities")
    fmt = backends.add_mutually_exclusive_group()
    fmt.add_argument("--json", action="store_true", help="machine-readable output")
    fmt.add_argument("--markdown", action="store_true", help="the capability matrix as a Markdown table")
    conv = sub.add_parser("conversion", help="how a backend expresses each parameter of a space")
    conv.add_argument("space", help="a space JSON file (Space.to_json())")
    conv.add_argument("--backend", required=True, help="e.g. optuna.cmaes, hyperopt, skopt.gp")
    conv.add_argument("--strict", action="store_true", help="exit 1 if any conversion is lossy")
    status = sub.add_parser("status", help="summary of the studies in a store (works while a run writes)")
    status.add_argument("file", help="a SQLite store: a path or sqlite:/// URL, as storage= takes it")
    status.add_argument("--study", help="only this study")
    trials = sub.add_parser("trials", help="a table of a study's trials")
    trials.add_argument("file")
    trials.add_argument("--study", help="needed when the file holds several studies")
    export = sub.add_parser("export", help="a study's trials as CSV or JSON lines (Trial.from_record)")
    export.add_argument("file")
    export.add_argument("--study", help="needed when the file holds several studies")
    export.add_argument("--format", choices=("csv", "jsonl"), default="jsonl")
    export.add_argument("--output", "-o", help="a file to write (default: standard output)")
    export.add_argument("--running", action="store_true", help="include RUNNING trials")
    resume = sub.add_parser("resume", help="continue a stored study until it has its number of trials")
    resume.add_argument("file")
    resume.add_argument("--study", help="needed when the file holds several studies")
    resume.add_argument("--objective", required=True, help="the objective, as module:function")
    resume.add_argument("--n-trials", type=int, help="total trials wanted (default: the recorded budget)")
    resume.add_argument("--batch-size", type=int, default=1)
    resume.add_argument("--pruner", help="a pruner by name (asha, median, hyperband, optuna.<name>) with "
                        "its default settings; the store does not keep the pruner a study ran with")
    resume.add_argument("--lease-ttl", type=float, default=None, help=argparse.SUPPRESS)
    sub.add_parser("bench", help="run the benchmark harness (see 'unitune bench --help')", add_help=False)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``unitune`` console script."""
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        if argv and argv[0] == "bench":
            return _bench(argv[1:])
        args = _parser().parse_args(argv)
        commands = {"backends": _backends, "conversion": _conversion, "status": _status,
                    "trials": _trials, "export": _export, "resume": _resume}
        return commands[args.command](args)
    except UnituneError as exc:
        print(f"unitune: error: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # the reader went away (``unitune trials ... | head``): not an error
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


if __name__ == "__main__":
    sys.exit(main())
