"""The harness measures pruning: pruned labels (``random+asha``), resource per trial and per run,
the report's cost section, resuming, and the errors for bad labels and problems."""

from __future__ import annotations

import csv
import json
import math

import pytest
from unitune_bench import render_report, run_benchmark
from unitune_bench.cli import main
from unitune_bench.cost import resource_scores
from unitune_bench.fidelity import MAX_EPOCHS, EpochObjective, make_fidelity_problem
from unitune_bench.plots import plot_resource
from unitune_bench.problem import Problem, builtin_problems
from unitune_bench.pruning import (
    PRUNERS,
    asha_min_resource,
    is_multi_fidelity,
    make_harness_pruner,
    pruned_twins,
    split_label,
)
from unitune_bench.runner import read_runs

import unitune
from unitune import Float
from unitune.errors import UnituneError
from unitune.pruners import ASHA, Hyperband


def _run(out, **kwargs):
    options = {
        "backends": ["random"],
        "pruners": ["asha"],
        "problems": ["mf-branin", "branin"],
        "seeds": 2,
        "budget": 12,
        "jobs": 2,
        "timeout": 120.0,
        "out": out,
        "progress": False,
    }
    options.update(kwargs)
    return run_benchmark("quick", **options)


@pytest.mark.timeout(300)
def test_pruned_twin_runs_on_the_fidelity_problem_records_resource_and_resumes(tmp_path) -> None:
    result = _run(tmp_path)
    runs = {(r["backend"], r["problem"], r["seed"]): r for r in read_runs(tmp_path)}
    # The twin runs only where there is something to prune: not on plain Branin.
    assert sorted(runs) == sorted(
        [(b, "mf-branin", s) for b in ("random", "random+asha") for s in (0, 1)]
        + [("random", "branin", s) for s in (0, 1)]
    )
    assert len(result.new_runs) == 6 and all(r["status"] == "ok" for r in runs.values())
    assert "resource" not in runs["random", "branin", 0]
    problem = make_fidelity_problem("branin")
    for seed in (0, 1):
        full, pruned = runs["random", "mf-branin", seed], runs["random+asha", "mf-branin", seed]
        assert [t["state"] for t in full["trials"]] == ["complete"] * 12
        assert [t["resource"] for t in full["trials"]] == [MAX_EPOCHS] * 12
        assert full["resource"] == 12 * MAX_EPOCHS
        # The harness's hand-driven run prunes exactly as Study.optimize does with the same ASHA:
        # docs/pruning.md's rule, the first rung at R // 9 = 3 epochs of 27.
        native = unitune.optimize(
            problem.objective,
            problem.space,
            "random",
            n_trials=12,
            seed=seed,
            pruner=ASHA(min_resource=3, reduction_factor=3, max_resource=MAX_EPOCHS),
            show_progress=False,
        )
        expected = [(t.state.value, max(t.intermediate)) for t in native.trials]
        assert [(t["state"], t["resource"]) for t in pruned["trials"]] == expected
        assert "pruned" in {t["state"] for t in pruned["trials"]}
        for trial in pruned["trials"]:
            if trial["state"] == "pruned":
                assert trial["value"] is None and trial["resource"] in (3, 9)
                assert trial["failure"].startswith("pruned at epoch")
            else:
                assert trial["state"] == "complete" and trial["resource"] == MAX_EPOCHS
        assert pruned["resource"] == sum(r for _, r in expected) < full["resource"]
        # Random search proposes the same configurations with or without pruning (same seed), so a
        # trial that went to the end has the value of the same trial in the unpruned run.
        for kept, same in zip(pruned["trials"], full["trials"]):
            assert kept["value"] == (same["value"] if kept["state"] == "complete" else None)

    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert manifest["backends"] == ["random", "random+asha"]
    assert manifest["problems"]["mf-branin"]["max_resource"] == MAX_EPOCHS
    assert manifest["backend_setup"]["random+asha"]["pruner_setup"] == [
        "ASHA(min_resource=3, reduction_factor=3, min_early_stopping_rate=0, max_resource=27)"
    ]
    # The report's text and tables (the other plots are covered by test_runner.py), then the
    # plot of best value against cumulative resource on its own.
    summary = render_report(tmp_path, plots=False).read_text()
    assert summary.startswith("# unitune benchmark: custom run (defaults of the quick suite)")
    assert manifest["suite"] == "custom"
    assert "## Cost on the resource axis" in summary and "### mf-branin (resource: epochs)" in summary
    assert "| random+asha | none | none declared | ASHA(min_resource=3, reduction_factor=3" in summary
    assert "max_resource=27); PRUNED trials: not_used |" in summary
    assert manifest["backend_setup"]["random+asha"]["pruned_trials"] == "not_used"
    cost = resource_scores(read_runs(tmp_path), manifest["problems"], budget=12)
    assert [item.problem for item in cost] == ["mf-branin"]
    assert plot_resource(cost, tmp_path) == {"mf-branin": "plots/resource/mf-branin.png"}
    assert (tmp_path / "plots" / "resource" / "mf-branin.png").stat().st_size > 5000
    with open(tmp_path / "resource.csv") as fh:
        rows = {r["backend"]: r for r in csv.DictReader(fh)}
    assert set(rows) == {"random", "random+asha"}
    totals = sorted(runs["random+asha", "mf-branin", s]["resource"] for s in (0, 1))
    assert float(rows["random+asha"]["median_resource"]) == sum(totals) / 2
    assert float(rows["random+asha"]["saved_vs_unpruned"]) == pytest.approx(
        12 * MAX_EPOCHS / (sum(totals) / 2)
    )

    # Resuming: the pruner is part of each run's identity, so nothing runs again.
    again = _run(tmp_path)
    assert again.new_runs == [] and again.skipped == 6
    # A pruned label given directly (and a new seed for every backend and problem) runs only what
    # is new; the new seed on mf-branin alone would leave plain Branin without it: refused.
    with pytest.raises(UnituneError, match="random on branin would lack seed 2"):
        _run(tmp_path, backends=["random+asha"], pruners=None, problems=["mf-branin"], seeds=3)
    more = _run(tmp_path, backends=["random+asha"], pruners=None, seeds=3, report=False)
    assert sorted((r["backend"], r["problem"], r["seed"]) for r in more.new_runs) == [
        ("random", "branin", 2), ("random", "mf-branin", 2), ("random+asha", "mf-branin", 2)]


def _fidelity_problem(name: str, max_resource: int) -> Problem:
    """A multi-fidelity problem with full resource ``max_resource`` (anything for the rule tests)."""
    return Problem(name, {"x": Float(0.0, 1.0)}, EpochObjective(_short_curve, max_resource),
                   tags=("fidelity",), meta={"max_resource": max_resource, "resource": "epochs"})


def _short_curve(params):
    """Learning curves that end at (x - 0.3)^2 and start high, the steepest for small x."""
    x = params["x"]
    return lambda epoch: (x - 0.3) ** 2 + (1.0 - x) / epoch


def test_asha_first_rung_follows_the_documented_rule() -> None:
    # docs/pruning.md: the first rung at R / 9 with reduction factor 3 (3 epochs of 27).
    asha = PRUNERS["asha"](MAX_EPOCHS)
    assert isinstance(asha, ASHA)
    assert (asha.min_resource, asha.reduction_factor, asha.max_resource) == (3, 3, 27)
    assert asha.rungs() == [3, 9] and asha.budgets(0) == [3, 9, 27]
    # Every multi-fidelity problem of the harness: each harness pruner is accepted for its R.
    fidelity = [f() for f in builtin_problems().values()]
    fidelity = [p for p in fidelity if is_multi_fidelity(p)]
    assert sorted(p.name for p in fidelity) == ["mf-branin", "mf-mlp-digits", "mf-sgd-digits"]
    for problem in fidelity:
        assert problem.meta["max_resource"] == MAX_EPOCHS
        assert make_harness_pruner("asha", problem).min_resource == 3
        for name in PRUNERS:
            assert make_harness_pruner(name, problem).budgets(0)[-1] == MAX_EPOCHS
    # A small R (a user's problem): R // 9 == 0, so the first rung is at 1.
    for small, rungs in [(1, []), (2, [1]), (5, [1, 3]), (8, [1, 3])]:
        pruner = make_harness_pruner("asha", _fidelity_problem("short", small))
        assert (pruner.min_resource, pruner.rungs(), pruner.budgets(0)[-1]) == (1, rungs, small)
    assert [asha_min_resource(r) for r in (9, 17, 18, 26, 80, 81, 100)] == [1, 1, 2, 2, 8, 9, 11]
    # Every harness pruner builds for any R, and ends every trial's schedule at R.
    for r in range(1, 120):
        assert PRUNERS["asha"](r).min_resource == max(1, r // 9)
        for name, build in PRUNERS.items():
            assert build(r).budgets(0)[-1] == r, (name, r)
    # Hyperband keeps its first rung at 1: its brackets hedge over the first rung themselves.
    hyperband = PRUNERS["hyperband"](MAX_EPOCHS)
    assert isinstance(hyperband, Hyperband) and hyperband.min_resource == 1
    assert [b.rungs() for b in hyperband._brackets] == [[1, 3, 9], [3, 9], [9], []]


@pytest.mark.timeout(600)
def test_a_pruned_run_stops_trials_only_at_rungs_from_the_first_rung_on(tmp_path) -> None:
    # A real harness run of pruned labels on a built-in problem (R = 27, first rung 3) and on a
    # user's problem with a small R (R = 5: R // 9 == 0, first rung 1).
    short = _fidelity_problem("mf-short", 5)
    _run(tmp_path, backends=["optuna.tpe"], problems=["mf-sgd-digits", "mf-short"],
         extra_problems=[short], seeds=1, budget=10)
    runs = {(r["backend"], r["problem"]): r for r in read_runs(tmp_path)}
    assert sorted(runs) == sorted((b, p) for b in ("random", "random+asha", "optuna.tpe", "optuna.tpe+asha")
                                  for p in ("mf-sgd-digits", "mf-short"))
    first_rungs = {"mf-sgd-digits": 3, "mf-short": 1}
    full = {"mf-sgd-digits": MAX_EPOCHS, "mf-short": 5}
    for (label, problem), run in runs.items():
        assert run["status"] == "ok" and len(run["trials"]) == 10
        states = [t["state"] for t in run["trials"]]
        assert set(states) <= {"complete", "pruned"}, states
        if split_label(label)[1] is None:
            assert states == ["complete"] * 10
            continue
        rungs = ASHA(first_rungs[problem], 3, 0, full[problem]).rungs()
        for trial in run["trials"]:
            if trial["state"] == "pruned":
                assert trial["resource"] >= first_rungs[problem] and trial["resource"] in rungs, trial
                assert trial["value"] is None and trial["failure"] == f"pruned at epoch {trial['resource']}"
            else:
                assert trial["resource"] == full[problem] and trial["value"] is not None
        assert run["resource"] == sum(t["resource"] for t in run["trials"])
    # No trial of the 27-epoch problem stopped before 3 epochs, and some were stopped.
    for label in ("random+asha", "optuna.tpe+asha"):
        assert "pruned" in {t["state"] for t in runs[label, "mf-sgd-digits"]["trials"]}
    # The manifest and the report say which ASHA ran: one per full resource among the problems.
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    setups = [
        "ASHA(min_resource=1, reduction_factor=3, min_early_stopping_rate=0, max_resource=5)",
        "ASHA(min_resource=3, reduction_factor=3, min_early_stopping_rate=0, max_resource=27)",
    ]
    for label in ("random+asha", "optuna.tpe+asha"):
        assert manifest["backend_setup"][label]["pruner_setup"] == setups
    [line] = [x for x in (tmp_path / "summary.md").read_text().splitlines()
              if x.startswith("| optuna.tpe+asha | none | ")]  # the setup table's row
    assert f" | {'; '.join(setups)}; PRUNED trials: native | " in line


def test_pruned_labels_are_validated_with_clear_errors(tmp_path) -> None:
    assert split_label("optuna.tpe+hyperband") == ("optuna.tpe", "hyperband")
    assert pruned_twins(["random", "optuna.tpe", "random+median"], ["asha"]) == [
        "random",
        "optuna.tpe",
        "random+median",
        "random+asha",
        "optuna.tpe+asha",
    ]
    with pytest.raises(UnituneError, match=r"expected BACKEND\+PRUNER with PRUNER one of \['asha'"):
        _run(tmp_path, backends=["random+nope"], pruners=None)
    with pytest.raises(UnituneError, match="unknown harness pruner 'sha'; choose from"):
        _run(tmp_path, pruners=["sha"])
    with pytest.raises(UnituneError, match=r"need multi-fidelity problems .* none of \[.branin.\] is one"):
        _run(tmp_path, problems=["branin"])
    with pytest.raises(
        UnituneError, match=r"backend options for \['optuna.tpe'\] but the benchmark runs only"
    ):
        _run(tmp_path, backend_options={"optuna.tpe": {"n_startup_trials": 3}})
    assert sorted(PRUNERS) == ["asha", "hyperband", "median"]
    assert not (tmp_path / "runs.jsonl").exists()


def test_cli_pruners_option_reports_a_bad_name(capsys) -> None:
    assert main(["--pruners", "asha,nope", "--problems", "mf-branin", "--no-progress"]) == 2
    assert "unknown harness pruner 'nope'" in capsys.readouterr().err


def test_resource_scores_by_hand() -> None:
    def run(backend, seed, trials):
        return {
            "backend": backend,
            "problem": "p",
            "seed": seed,
            "budget": 3,
            "status": "ok",
            "resource": sum(r for r, _ in trials),
            "trials": [{"resource": r, "value": v} for r, v in trials],
        }

    runs = [
        run("random", 0, [(3, 5.0), (3, 2.0), (3, 4.0)]),  # best 2 after 6
        run("random", 1, [(3, 1.0), (3, 3.0), (3, 3.0)]),  # best 1 after 3
        run("random+asha", 0, [(1, None), (3, 1.5), (1, None)]),  # reaches 1.5 after 4
        run("random+asha", 1, [(1, None), (1, None), (1, None)]),
    ]  # never completes
    info = {
        "p": {"direction": "minimize", "max_resource": 3, "resource": "epochs"},
        "q": {"direction": "minimize"},
    }
    [scores] = resource_scores(runs, info, budget=3)
    assert scores.problem == "p" and scores.resource == "epochs"
    assert scores.level == 1.5  # the median of random's final bests 2 and 1
    rows = {row.backend: row for row in scores.rows}
    assert [row.backend for row in scores.rows] == ["random", "random+asha"]
    assert rows["random"].total == 9 and rows["random"].saved is None
    assert rows["random+asha"].total == 4 and rows["random+asha"].saved == 9 / 4
    assert rows["random"].best == 1.5 and math.isinf(rows["random+asha"].best)  # seed 1 never completes
    # Random seed 0 never gets to 1.5, seed 1 does after 3; the pruned seed 0 after 4, seed 1 never.
    assert rows["random"].reached == 1 and math.isinf(rows["random"].to_reach)
    assert rows["random+asha"].reached == 1 and math.isinf(rows["random+asha"].to_reach)
    xs, ys = scores.curves["random+asha"][0]
    assert xs.tolist() == [1, 4, 5] and ys.tolist() == [math.inf, 1.5, 1.5]


@pytest.mark.timeout(300)
def test_resuming_with_changed_pruner_settings_is_refused(tmp_path, monkeypatch) -> None:
    first = _run(tmp_path, problems=["mf-branin"], seeds=1, budget=6, jobs=1)
    assert all(r["status"] == "ok" for r in first.new_runs)
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    entry = manifest["backend_setup"]["random+asha"]
    built = "ASHA(min_resource=3, reduction_factor=3, min_early_stopping_rate=0, max_resource=27)"
    assert entry["pruner_by_problem"] == {"mf-branin": built} and entry["pruner_setup"] == [built]

    # The same settings resume (nothing left to run) and the record is kept.
    again = _run(tmp_path, problems=["mf-branin"], seeds=1, budget=6, jobs=1)
    assert again.new_runs == [] and again.skipped == 2

    # Another first rung for a problem already run: refused, naming both settings.
    monkeypatch.setitem(PRUNERS, "asha", lambda r: ASHA(min_resource=1, reduction_factor=3, max_resource=r))
    with pytest.raises(UnituneError, match=r"ran 'random\+asha' on \['mf-branin'\] with the pruner "
                                           r"ASHA\(min_resource=3.*not ASHA\(min_resource=1"):
        _run(tmp_path, problems=["mf-branin"], seeds=1, budget=6, jobs=1)


@pytest.mark.timeout(300)
def test_a_results_folder_from_before_per_problem_pruners_is_checked_too(tmp_path) -> None:
    _run(tmp_path, problems=["mf-branin"], seeds=1, budget=6, jobs=1)
    path = tmp_path / "manifest.json"
    manifest = json.loads(path.read_text())
    entry = manifest["backend_setup"]["random+asha"]
    del entry["pruner_by_problem"]  # as written before this record existed, by a +asha at 1 epoch
    entry["pruner_setup"] = ["ASHA(min_resource=1, reduction_factor=3, min_early_stopping_rate=0, max_resource=27)"]
    path.write_text(json.dumps(manifest))
    with pytest.raises(UnituneError, match=r"with the pruner ASHA\(min_resource=1.*not ASHA\(min_resource=3"):
        _run(tmp_path, problems=["mf-branin"], seeds=1, budget=6, jobs=1)
