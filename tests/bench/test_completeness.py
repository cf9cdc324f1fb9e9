"""A results directory holds a complete comparison (every backend on every problem with the same
seeds), and the report says when it does not, or when a backend's seeds all gave the same run.
Real harness runs on tiny budgets."""

from __future__ import annotations

import csv
import json
import re

import pytest
from unitune_bench import Problem, render_report, run_benchmark
from unitune_bench.cli import main
from unitune_bench.coverage import directory_coverage
from unitune_bench.runner import read_runs

from unitune import Backend, Float
from unitune.backend import Algorithm, Capabilities, Proposal
from unitune.errors import UnituneError


def _bench(out, backends, problems=("branin",), seeds=2, **kwargs):
    options = {"backends": list(backends) if not isinstance(backends, dict) else backends,
               "problems": list(problems), "seeds": seeds, "budget": 4, "jobs": 2,
               "timeout": 60.0, "out": out, "progress": False, "report": False}
    options.update(kwargs)
    return run_benchmark("quick", **options)


def _keys(runs):
    return sorted((r["backend"], r["problem"], r["seed"]) for r in runs)


def _rows(summary: str, heading: str) -> list[str]:
    """The body rows of the first table from the line starting with ``heading`` on."""
    lines = summary.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(heading))
    table: list[str] = []
    for line in lines[start:]:
        if table and not line.startswith("|"):
            break
        if line.startswith("|"):
            table.append(line)
    return table[2:]  # without the header and the alignment row


def test_a_run_that_would_leave_holes_is_refused_before_anything_runs(tmp_path, capsys) -> None:
    first = _bench(tmp_path, ["random", "optuna.tpe"])
    assert len(first.new_runs) == 4
    saved = (tmp_path / "runs.jsonl").read_text()
    manifest = (tmp_path / "manifest.json").read_text()
    # The audit's case: other backends and one more seed; optuna.tpe would miss seed 2.
    with pytest.raises(UnituneError, match=re.escape(
            f"{tmp_path} holds random, optuna.tpe on branin with 2 seeds (0, 1); this run asks for "
            "random, grid on branin with 3 seeds (0-2). Together they would not be a complete "
            "comparison (every backend on every problem with the same seeds): optuna.tpe on branin "
            "would lack seed 2 (1 run missing). To proceed: run it with --seeds 2 as before; or run "
            "every backend and problem of both together (--backends random,optuna.tpe,grid "
            "--problems branin --seeds 3); or choose another --out.")):
        _bench(tmp_path, ["random", "grid"], seeds=3)
    # A new problem without every backend the directory holds.
    with pytest.raises(UnituneError, match=r"optuna\.tpe on six_hump_camel would lack seeds 0, 1"):
        _bench(tmp_path, ["random"], problems=["branin", "six_hump_camel"])
    # Fewer seeds with a new backend: the new one would lack seed 1.
    with pytest.raises(UnituneError, match=r"grid on branin would lack seed 1 .*--seeds 2 as before"):
        _bench(tmp_path, ["random", "optuna.tpe", "grid"], seeds=1)
    # Refused up front: nothing ran and the manifest is as it was.
    assert (tmp_path / "runs.jsonl").read_text() == saved
    assert (tmp_path / "manifest.json").read_text() == manifest
    # The CLI says the same and exits with 2.
    code = main(["--backends", "random,grid", "--problems", "branin", "--seeds", "3", "--budget", "4",
                 "--out", str(tmp_path), "--no-progress", "--no-report"])
    assert code == 2
    err = capsys.readouterr().err
    assert err.startswith(f"unitune bench: error: {tmp_path} holds random, optuna.tpe on branin")
    # The same command again resumes: nothing left to run.
    again = _bench(tmp_path, ["random", "optuna.tpe"])
    assert again.new_runs == [] and again.skipped == 4


def test_extensions_that_keep_the_comparison_complete_run_only_what_is_new(tmp_path) -> None:
    _bench(tmp_path, ["random"])
    # More backends, the same problems and seeds.
    more = _bench(tmp_path, ["random", "grid"])
    assert _keys(more.new_runs) == [("grid", "branin", 0), ("grid", "branin", 1)]
    # More problems, the same backends and seeds.
    more = _bench(tmp_path, ["random", "grid"], problems=["branin", "six_hump_camel"])
    assert _keys(more.new_runs) == [(b, "six_hump_camel", s) for b in ("grid", "random") for s in (0, 1)]
    # More seeds, for every backend and problem.
    more = _bench(tmp_path, ["random", "grid"], problems=["branin", "six_hump_camel"], seeds=3)
    assert _keys(more.new_runs) == [(b, p, 2) for b in ("grid", "random") for p in ("branin", "six_hump_camel")]
    # A part of the directory (one backend, fewer seeds) resumes: nothing to run.
    part = _bench(tmp_path, ["random"], problems=["six_hump_camel"], seeds=1)
    assert part.new_runs == [] and part.skipped == 1
    assert directory_coverage(tmp_path).complete
    summary = render_report(tmp_path, plots=False).read_text()
    assert "Warning: incomplete" not in summary
    assert "2 backends × 2 problems × 3 seeds × 4 trials: 12 runs (0 failed)." in summary


def test_the_report_names_pairs_with_missing_or_repeated_runs_and_still_ranks(tmp_path, capsys) -> None:
    _bench(tmp_path, ["random", "grid"], problems=["branin", "six_hump_camel"], seeds=3)
    # Edited by hand (or interrupted, or merged before the check): grid lost two runs on Branin,
    # random's seed 0 on six_hump_camel is there twice.
    lines = (tmp_path / "runs.jsonl").read_text().splitlines()
    runs = [json.loads(line) for line in lines]
    kept = [line for line, r in zip(lines, runs)
            if not (r["backend"] == "grid" and r["problem"] == "branin" and r["seed"] in (0, 2))]
    kept += [line for line, r in zip(lines, runs)
             if (r["backend"], r["problem"], r["seed"]) == ("random", "six_hump_camel", 0)]
    (tmp_path / "runs.jsonl").write_text("\n".join(kept) + "\n")

    assert main(["report", str(tmp_path), "--no-plots"]) == 0
    assert "incomplete comparison in" in capsys.readouterr().err
    text = (tmp_path / "summary.md").read_text()
    summary = text.splitlines()
    warning = summary[2]
    assert warning.startswith("**Warning: incomplete comparison.** 2 of 4 backend/problem pairs do not "
                              "hold exactly one run for each of the 3 seeds (0-2): ")
    assert "`grid` on branin has 1 run (seeds 0, 2 missing)" in warning
    assert "`random` on six_hump_camel has 4 runs (seed 0 more than once)" in warning
    assert ("`unitune bench --backends grid --problems branin --seeds 3 --budget 4 --out DIR`"
            in warning)
    count = next(line for line in summary if line.startswith("2 backends × 2 problems"))
    assert count.startswith("2 backends × 2 problems × 3 seeds × 4 trials would be 12 runs; this "
                            "directory holds 11 (0 failed), from 1 to 4 per backend/problem pair "
                            "instead of 3 each (see the warning above).")
    # Still ranked: both backends in the leaderboard.
    board = _rows(text, "| Rank | Backend")
    assert sorted(line.split(" | ")[1] for line in board) == ["grid", "random"]

    # The suggested command fills the missing runs; only the repeated one is left to warn about.
    filled = _bench(tmp_path, ["grid"], problems=["branin"], seeds=3)
    assert _keys(filled.new_runs) == [("grid", "branin", 0), ("grid", "branin", 2)]
    left = directory_coverage(tmp_path).short
    assert list(left) == [("random", "six_hump_camel")]
    assert sorted(left[("random", "six_hump_camel")]) == [0, 0, 1, 2]


class SeedlessBackend(Backend):
    """Proposes the same points whatever the seed, and says so (not ``seeded``)."""

    name = "seedless"
    algorithms = {"seedless": Algorithm("the same points for every seed", Capabilities(seeded=False))}

    def ask(self, numbers):
        return [Proposal(n, self.space.sample(seed=n)) for n in numbers]

    def tell(self, trial):
        pass

    def replay(self, trials):
        pass


class CarelessBackend(SeedlessBackend):
    """Declared seeded, yet ignores the seed."""

    name = "careless"
    algorithms = {"careless": Algorithm("declared seeded, ignores the seed", Capabilities(seeded=True))}


def test_a_backend_whose_seeds_gave_identical_runs_is_marked_and_still_ranked(tmp_path) -> None:
    _bench(tmp_path, {"seedless": SeedlessBackend, "careless": CarelessBackend, "grid": "grid"},
           seeds=3, budget=6)
    summary = render_report(tmp_path, plots=False).read_text()
    board = _rows(summary, "| Rank | Backend")
    # Nobody dropped from the ranking; grid is declared not seeded too, but the harness shuffles
    # it with the seed, so its runs differ and it is not marked.
    assert sorted(line.split(" | ")[1] for line in board) == ["careless †", "grid", "random", "seedless †"]
    assert ("† `seedless`: its seeds gave identical runs on branin (1 of 1 problem; it is declared "
            "not seeded, see `unitune backends`). There its 95% interval has no spread and its tests "
            "rest on one distinct run, not 3; it is ranked all the same.") in summary
    assert "† `careless`: its seeds gave identical runs on branin (1 of 1 problem; although it is " \
           "declared seeded)." in summary
    row = next(line for line in summary.splitlines() if line.startswith("| seedless † | "))
    median, lo, hi = re.match(r"\| seedless † \| (\S+) \[(\S+), (\S+)\]", row).groups()
    assert median == lo == hi  # the degenerate interval the footnote explains
    assert "† `seedless`: its 3 seeds gave identical runs here" in summary
    with open(tmp_path / "problems.csv") as fh:
        rows = {r["backend"]: r for r in csv.DictReader(fh)}
    assert {b: rows[b]["identical_runs"] for b in rows} == {
        "random": "False", "grid": "False", "seedless": "True", "careless": "True"}
    assert all(rows[b]["runs"] == "3" for b in rows)
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert manifest["backend_setup"]["seedless"]["seeded"] is False
    assert manifest["backend_setup"]["careless"]["seeded"] is True
    assert manifest["backend_setup"]["random"]["seeded"] is True


def _always_fails(params):
    raise RuntimeError("broken objective")


def test_runs_without_any_value_are_not_marked_as_ignoring_the_seed(tmp_path) -> None:
    # Every trial FAILED: the traces match whatever points each seed tried, so they prove nothing.
    broken = Problem("broken", {"x": Float(0.0, 1.0)}, _always_fails)
    _bench(tmp_path, ["optuna.tpe"], problems=["broken", "branin"], extra_problems=[broken], seeds=2)
    runs = [r for r in read_runs(tmp_path) if r["problem"] == "broken"]
    assert {t["state"] for r in runs for t in r["trials"]} == {"failed"}
    summary = render_report(tmp_path, plots=False).read_text()
    assert "†" not in summary
    assert "- broken: no trial completed on any backend; not scored" in summary
    with open(tmp_path / "problems.csv") as fh:
        assert {r["identical_runs"] for r in csv.DictReader(fh)} == {"False"}


def test_nevergrad_ngopt_on_branin_is_marked(tmp_path) -> None:
    pytest.importorskip("unitune_nevergrad")
    _bench(tmp_path, ["nevergrad.ngopt"], problems=["branin", "mixed"], seeds=3, budget=6)
    runs = [r for r in read_runs(tmp_path) if r["backend"] == "nevergrad.ngopt"]
    traces = {p: {tuple(t["value"] for t in r["trials"]) for r in runs if r["problem"] == p}
              for p in ("branin", "mixed")}
    assert len(traces["branin"]) == 1  # NGOpt picks Cobyla there: deterministic
    summary = render_report(tmp_path, plots=False).read_text()
    assert "| nevergrad.ngopt † |" in summary
    assert ("† `nevergrad.ngopt`: its seeds gave identical runs on branin (1 of 2 problems; it is "
            "declared not seeded, see `unitune backends`)") in summary
    if len(traces["mixed"]) > 1:  # its seeds did vary on the mixed space: that row is not marked
        assert any(line.startswith("| nevergrad.ngopt | ") for line in _rows(summary, "### mixed"))
