"""The unitune command: list backends, show conversion reports, run benchmarks."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

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
    lossy = [c for c in report if c.lossy]
    if args.strict and lossy:
        print(f"strict mode: {len(lossy)} lossy conversion(s); the backend would be refused", file=sys.stderr)
        return 1
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
    sub.add_parser("bench", help="run the benchmark harness (see 'unitune bench --help')", add_help=False)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``unitune`` console script."""
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        if argv and argv[0] == "bench":
            return _bench(argv[1:])
        args = _parser().parse_args(argv)
        if args.command == "backends":
            return _backends(args)
        return _conversion(args)
    except UnituneError as exc:
        print(f"unitune: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
