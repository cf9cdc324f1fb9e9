"""Whether a results directory holds a complete comparison, and whether its seeds varied.

A comparison is complete when every backend ran every problem (a pruned label, ``b+asha``, every
multi-fidelity problem) with the same seeds. Three uses:

- :func:`check_extension`, before a run writes into an existing directory: a selection that,
  together with what the directory holds, would leave holes in that matrix is refused before
  anything runs;
- :func:`coverage`, for the report: the true counts, and the backend/problem pairs that hold
  fewer (or more) runs than the others (interrupted or failed work, files edited by hand, a
  directory merged before this check existed);
- :func:`identical_seeds`, for the report: the backends whose seeds all gave the same run on a
  problem, whose intervals therefore have no spread.

>>> planned_cells(["random", "random+asha"], {"branin": {}, "mf-branin": {"max_resource": 27}})
[('random', 'branin'), ('random', 'mf-branin'), ('random+asha', 'mf-branin')]
>>> seeds_text([0, 1, 2])
'3 seeds (0-2)'
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from unitune.errors import UnituneError
from unitune_bench.manifest import read_manifest
from unitune_bench.problem import Problem
from unitune_bench.pruning import is_multi_fidelity, split_label
from unitune_bench.runner import read_runs

__all__ = [
    "Cell",
    "Coverage",
    "check_extension",
    "coverage",
    "directory_coverage",
    "identical_seeds",
    "planned_cells",
    "seeds_text",
]

#: A (backend label, problem name) pair of the comparison.
Cell = tuple[str, str]

_SHOWN = 6  # pairs named in a message before "and N more"


def planned_cells(backends: Iterable[str],
                  problems: Mapping[str, Problem | Mapping[str, Any]]) -> list[Cell]:
    """The (backend, problem) pairs a complete comparison runs: every backend on every problem,
    a pruned label only on the multi-fidelity problems."""
    return [(b, p) for b in backends for p, info in problems.items()
            if split_label(b)[1] is None or is_multi_fidelity(info)]


def seeds_text(seeds: Iterable[int]) -> str:
    """``3 seeds (0-2)`` for the seeds ``--seeds 3`` gives, ``2 seeds (0, 4)`` otherwise."""
    seeds = sorted(set(seeds))
    if not seeds:
        return "no seeds"
    plural = "s" if len(seeds) > 1 else ""
    if seeds == list(range(len(seeds))) and len(seeds) > 2:
        return f"{len(seeds)} seeds (0-{seeds[-1]})"
    return f"{len(seeds)} seed{plural} ({', '.join(map(str, seeds))})"


def _seeds_option(seeds: Sequence[int]) -> str:
    """``--seeds N`` when the seeds are the ones it gives (0 to N-1), else the seeds listed."""
    seeds = sorted(set(seeds))
    return f"--seeds {len(seeds)}" if seeds == list(range(len(seeds))) else f"the seeds {seeds}"


def _names(items: Iterable[str], word: str) -> str:
    """The names, or for a long list their number and the first few."""
    items = list(items)
    if len(items) <= _SHOWN:
        return ", ".join(items)
    return f"{len(items)} {word} ({', '.join(items[:3])}, ...)"


def _selection(backends: Sequence[str], problems: Iterable[str], seeds: Iterable[int]) -> str:
    return f"{_names(backends, 'backends')} on {_names(problems, 'problems')} with {seeds_text(seeds)}"


def _missing(manifest: Mapping[str, Any], backends: Sequence[str], problems: Mapping[str, Any],
             seeds: Iterable[int]) -> dict[Cell, list[int]]:
    """The seeds each pair would lack if this selection ran into the directory of ``manifest``."""
    old_seeds, new_seeds = set(manifest["seeds"]), set(seeds)
    every = old_seeds | new_seeds
    old_cells = set(planned_cells(manifest["backends"], manifest["problems"]))
    new_cells = set(planned_cells(backends, problems))
    all_backends = list(dict.fromkeys([*manifest["backends"], *backends]))
    missing: dict[Cell, list[int]] = {}
    for cell in planned_cells(all_backends, {**manifest["problems"], **problems}):
        held = (old_seeds if cell in old_cells else set()) | (new_seeds if cell in new_cells else set())
        if every - held:
            missing[cell] = sorted(every - held)
    return missing


def check_extension(out_dir: Path, manifest: Mapping[str, Any], backends: Sequence[str],
                    problems: Mapping[str, Problem], seeds: Sequence[int]) -> None:
    """Refuse a run into ``out_dir`` (whose ``manifest`` records what earlier runs planned) that
    would leave the comparison incomplete: afterwards every backend must have every problem at
    every seed of the directory. The identical selection (resuming), a part of it, new backends
    with the same problems and seeds, new problems with the same backends and seeds, and more
    seeds for every backend and problem pass; anything else is refused, saying what the directory
    holds, what was asked, what would be missing and how to proceed."""
    missing = _missing(manifest, backends, problems, seeds)
    if not missing:
        return
    holes = "; ".join(f"{b} on {p} would lack seed{'s' if len(s) > 1 else ''} {', '.join(map(str, s))}"
                      for (b, p), s in list(missing.items())[:_SHOWN])
    if len(missing) > _SHOWN:
        holes += f"; and {len(missing) - _SHOWN} more pairs"
    raise UnituneError(
        f"{out_dir} holds {_selection(manifest['backends'], manifest['problems'], manifest['seeds'])}; "
        f"this run asks for {_selection(backends, problems, seeds)}. Together they would not be a "
        f"complete comparison (every backend on every problem with the same seeds): {holes} "
        f"({_count(sum(map(len, missing.values())), 'run')} missing). "
        + _advice(manifest, backends, problems, seeds))


def _advice(manifest: Mapping[str, Any], backends: Sequence[str], problems: Mapping[str, Any],
            seeds: Sequence[int]) -> str:
    """How to proceed: the directory's seeds, the selection that completes it, or another --out."""
    old_seeds = sorted(set(manifest["seeds"]))
    steps = []
    if set(seeds) != set(old_seeds) and not _missing(manifest, backends, problems, old_seeds):
        steps.append(f"run it with {_seeds_option(old_seeds)} as before")
    every = sorted(set(old_seeds) | set(seeds))
    wider = (f"--backends {','.join(dict.fromkeys([*manifest['backends'], *backends]))} "
             f"--problems {','.join(dict.fromkeys([*manifest['problems'], *problems]))}")
    if every == list(range(len(every))):
        wider += f" --seeds {len(every)}"
    steps.append(f"run every backend and problem of both together ({wider})")
    steps.append("choose another --out")
    return "To proceed: " + "; or ".join(steps) + "."


@dataclass(frozen=True)
class Coverage:
    """What a results directory holds against the complete comparison it plans."""

    backends: list[str]
    problems: list[str]
    #: every seed planned (manifest) or found in a run
    seeds: list[int]
    #: the pairs a complete comparison runs (pruned labels: multi-fidelity problems only)
    cells: list[Cell]
    #: pair -> the seeds of the runs it holds, duplicates kept
    held: dict[Cell, list[int]]

    @property
    def expected(self) -> int:
        """Runs in a complete comparison."""
        return len(self.cells) * len(self.seeds)

    @property
    def short(self) -> dict[Cell, list[int]]:
        """The pairs whose runs are not exactly one per seed (missing or repeated seeds)."""
        return {c: self.held.get(c, []) for c in self.cells if sorted(self.held.get(c, [])) != self.seeds}

    @property
    def complete(self) -> bool:
        return not self.short

    def count_line(self, budget: int, runs: int, failed: int) -> str:
        """The report's count sentence, with the true numbers."""
        nb, np_, ns = len(self.backends), len(self.problems), len(self.seeds)
        pairs = f"{_count(nb, 'backend')} × {_count(np_, 'problem')}"
        if len(self.cells) != nb * np_:
            pairs += (f" ({len(self.cells)} backend/problem pairs: pruned labels on multi-fidelity "
                      "problems only)")
        line = f"{pairs} × {_count(ns, 'seed')} × {budget} trials"
        if self.complete:
            return f"{line}: {_count(runs, 'run')} ({failed} failed)."
        held = sorted({len(self.held.get(c, [])) for c in self.cells})
        per = f"from {held[0]} to {held[-1]}" if len(held) > 1 else str(held[0])
        return (f"{line} would be {_count(self.expected, 'run')}; this directory holds {runs} ({failed} "
                f"failed), {per} per backend/problem pair instead of {ns} each (see the warning above).")

    def warning(self, budget: int) -> str | None:
        """A visible line naming the pairs with fewer (or repeated) runs and how to complete them,
        or None when the comparison is complete."""
        short = self.short
        if not short:
            return None
        parts = [_cell_text(c, held, self.seeds) for c, held in list(short.items())[:_SHOWN]]
        if len(short) > _SHOWN:
            parts.append(f"and {len(short) - _SHOWN} more")
        fixes = []
        lacking = [c for c, held in short.items() if set(self.seeds) - set(held)]
        if lacking:
            seeds = _seeds_option(self.seeds)
            fixes.append("run the missing seeds into this directory (saved runs are skipped): `unitune "
                         f"bench --backends {','.join(dict.fromkeys(b for b, _ in lacking))} --problems "
                         f"{','.join(dict.fromkeys(p for _, p in lacking))} {seeds} --budget {budget} "
                         "--out DIR`")
        if any(len(held) > len(set(held)) for held in short.values()):
            fixes.append("keep one line per backend, problem and seed in runs.jsonl and re-render with "
                         "`unitune bench report DIR`")
        return (f"**Warning: incomplete comparison.** {len(short)} of {len(self.cells)} backend/problem "
                f"pairs {'does' if len(short) == 1 else 'do'} not hold exactly one run for each of the "
                f"{seeds_text(self.seeds)}: "
                f"{'; '.join(parts)}. Their scores, intervals and tests rest on other runs than the "
                f"others', so the ranking below is not like for like. To complete it, "
                f"{'; and '.join(fixes)}.")


def _count(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def _cell_text(cell: Cell, held: list[int], seeds: list[int]) -> str:
    backend, problem = cell
    missing = sorted(set(seeds) - set(held))
    twice = sorted({s for s in held if held.count(s) > 1})
    text = f"`{backend}` on {problem} has {len(held)} run{'s' if len(held) != 1 else ''}"
    notes = []
    if missing:
        notes.append(f"seed{'s' if len(missing) > 1 else ''} {', '.join(map(str, missing))} missing")
    if twice:
        notes.append(f"seed{'s' if len(twice) > 1 else ''} {', '.join(map(str, twice))} more than once")
    return f"{text} ({'; '.join(notes)})"


def coverage(manifest: Mapping[str, Any], runs: Sequence[Mapping[str, Any]]) -> Coverage:
    """Compare the runs (at the manifest's budget, on its problems) with the complete comparison
    of the manifest's backends, problems and seeds (plus any backend or seed found in a run)."""
    info = manifest["problems"]
    runs = [r for r in runs if r["budget"] == manifest["budget"] and r["problem"] in info]
    backends = list(dict.fromkeys([*manifest.get("backends", []), *(r["backend"] for r in runs)]))
    seeds = sorted(set(manifest.get("seeds", [])) | {r["seed"] for r in runs})
    held: dict[Cell, list[int]] = {}
    for r in runs:
        held.setdefault((r["backend"], r["problem"]), []).append(r["seed"])
    cells = planned_cells(backends, info)
    cells += [c for c in held if c not in cells]  # a pruned label found on another problem
    return Coverage(backends, list(info), seeds, cells, held)


def directory_coverage(out_dir: str | Path) -> Coverage:
    """:func:`coverage` of a results directory (its manifest and runs.jsonl)."""
    manifest = read_manifest(out_dir)
    if manifest is None:
        raise UnituneError(f"{out_dir} holds no benchmark results (no manifest.json)")
    return coverage(manifest, read_runs(out_dir))


def identical_seeds(runs: Sequence[Mapping[str, Any]]) -> dict[str, dict[str, int]]:
    """backend -> {problem: seeds} for each pair whose runs, at two seeds or more, all recorded the
    same trials (states and values), with at least one value: a backend that ignored the seed
    there. Runs without a single completed trial (an objective that always fails) show nothing
    of the points tried, so they are never marked."""
    traces: dict[Cell, dict[int, tuple]] = {}
    for r in runs:
        trace = tuple((t.get("state"), t.get("value")) for t in r["trials"])
        traces.setdefault((r["backend"], r["problem"]), {})[r["seed"]] = trace
    out: dict[str, dict[str, int]] = {}
    for (backend, problem), by_seed in traces.items():
        distinct = set(by_seed.values())
        if (len(by_seed) >= 2 and len(distinct) == 1
                and any(value is not None for _, value in next(iter(distinct)))):
            out.setdefault(backend, {})[problem] = len(by_seed)
    return out
