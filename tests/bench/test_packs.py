"""Problem packs: COCO's BBOB through cocoex, entry-point problems, broken packs, backend options."""

from __future__ import annotations

import json

import numpy as np
import pytest
from unitune_bench import Problem, ProblemError, Suite, run_benchmark
from unitune_bench.bbob import bbob_problem, expand
from unitune_bench.runner import read_runs
from unitune_bench.scoring import compute_scores
from unitune_bench.synthetic import branin

from unitune import Float
from unitune.errors import UnituneError

TINY = Suite(name="tiny", problems=("branin",), seeds=1, budget=3, timeout=120.0)


def test_bbob_names_expand_and_are_checked() -> None:
    assert expand("bbob-f8-d5") == ["bbob-f8-d5-i1"]
    assert len(expand("bbob-f1..24-d2+5-i1..3")) == 24 * 2 * 3
    with pytest.raises(ProblemError, match=r"functions 1\.\.24.*got functions \[25\]"):
        expand("bbob-f25-d2")
    with pytest.raises(ProblemError, match=r"dimensions \[2, 3, 5, 10, 20, 40\].*dimensions \[4\]"):
        expand("bbob-f1-d4")
    with pytest.raises(ProblemError, match="not a BBOB problem name"):
        expand("bbob-sphere")
    with pytest.raises(ProblemError, match=r"'bbob-f1-d2-i2\.\.1': the instances range '2\.\.1' is empty"):
        expand("bbob-f1-d2-i2..1")


def test_bbob_problem_takes_its_optimum_from_coco() -> None:
    import cocoex

    problem = bbob_problem("bbob-f1-d2-i1")
    assert problem.optimum == pytest.approx(79.48)  # BBOB's f_opt of f1, instance 1
    suite = cocoex.Suite("bbob", "", "function_indices:1 dimensions:2 instance_indices:1")
    coco = next(iter(suite))
    x = np.array([0.3, -1.2])
    assert problem.objective({"x0": 0.3, "x1": -1.2}) == coco(x)
    assert coco(x) > problem.optimum


def test_bbob_instance_is_the_coco_instance_of_that_number() -> None:
    import cocoex

    # COCO's 2010 suite holds instances 1..15 in order; its problems are the reference.
    suite = cocoex.Suite("bbob", "year:2010", "function_indices:8 dimensions:2")
    x = np.array([0.3, -1.2])
    reference = {p.id_instance: p(x) for p in suite}
    # Instance 6 was COCO's instance 71 (a position in the current year's list, not a number),
    # and 16 silently instance 1.
    for instance in (1, 6, 15):
        problem = bbob_problem(f"bbob-f8-d2-i{instance}")
        assert problem.objective({"x0": 0.3, "x1": -1.2}) == reference[instance]
    optima = [bbob_problem(f"bbob-f8-d2-i{i}").optimum for i in (1, 6, 16, 100)]
    assert len(set(optima)) == 4


@pytest.mark.timeout(300)
def test_bbob_run_regrets_equal_optuna_called_directly_on_cocoex(tmp_path) -> None:
    import cocoex
    import optuna

    budget = 8
    run_benchmark(TINY, backends=["optuna.tpe"], problems=["bbob-f8-d2"], seeds=1, budget=budget,
                  jobs=1, out=tmp_path, progress=False, report=False)
    runs = read_runs(tmp_path)
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    ours = next(r for r in runs if r["backend"] == "optuna.tpe")
    assert ours["status"] == "ok" and [t["state"] for t in ours["trials"]] == ["complete"] * budget
    fopt = manifest["problems"]["bbob-f8-d2-i1"]["optimum"]

    # The same optimizer, called directly on the cocoex problem with the same seed.
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    suite = cocoex.Suite("bbob", "", "function_indices:8 dimensions:2 instance_indices:1")
    coco = next(iter(suite))
    study = optuna.create_study(sampler=optuna.samplers.TPESampler(seed=0))
    direct = []
    for _ in range(budget):
        trial = study.ask()
        x = [trial.suggest_float(f"x{k}", -5.0, 5.0) for k in range(2)]
        value = float(coco(np.array(x)))
        study.tell(trial, value)
        direct.append(value)
    assert [t["value"] for t in ours["trials"]] == direct
    expected_regrets = np.minimum.accumulate(direct) - fopt
    sc = compute_scores(runs, manifest["problems"], budget)
    assert sc.curves["bbob-f8-d2-i1"]["optuna.tpe"][0] - fopt == pytest.approx(expected_regrets, abs=0)
    assert sc.regret["bbob-f8-d2-i1"]["optuna.tpe"].tolist() == [expected_regrets[-1]]


class _EntryPoint:
    def __init__(self, name, value, load):
        self.name, self.value, self._load = name, value, load

    def load(self):
        return self._load()


def _broken():
    raise ImportError("No module named 'missing_dependency'")


@pytest.mark.timeout(300)
def test_a_broken_entry_point_does_not_stop_another_problems_run(tmp_path, monkeypatch, capsys) -> None:
    import unitune_bench.problem as problem_module
    from unitune_bench.cli import main

    bowl = Problem("plugin-bowl", {"x": Float(-1.0, 1.0)}, lambda p: p["x"] ** 2, optimum=0.0)
    points = [_EntryPoint("broken", "broken_pack.problems:PROBLEMS", _broken),
              _EntryPoint("good", "good_pack:PROBLEMS", lambda: [bowl])]
    monkeypatch.setattr(problem_module, "entry_points", lambda *, group: points)
    # Without --problems, entry-point problems join the suite's problems (as documented).
    result = run_benchmark(TINY, backends=["random"], jobs=1, out=tmp_path / "a", progress=False)
    runs = {r["problem"]: r for r in read_runs(tmp_path / "a")}
    assert sorted(runs) == ["branin", "plugin-bowl"]
    assert all(r["status"] == "ok" and len(r["trials"]) == 3 for r in runs.values())
    assert all(0.0 <= t["value"] <= 1.0 for t in runs["plugin-bowl"]["trials"])  # x**2 on [-1, 1]
    assert [s["source"] for s in result.skipped_problems] == [
        "entry point 'broken' (broken_pack.problems:PROBLEMS) in group 'unitune.problems'"]
    summary = result.summary_path.read_text()
    assert summary.startswith("# unitune benchmark: custom run (defaults of the tiny suite), plus 1 "
                              "published problem: plugin-bowl")
    assert "## Skipped problems and packs" in summary and "missing_dependency" in summary
    # Naming another problem explicitly runs it, and the CLI reports the broken pack.
    code = main(["--backends", "random", "--problems", "six_hump_camel", "--seeds", "1", "--budget", "2",
                 "--jobs", "1", "--out", str(tmp_path / "b"), "--no-progress", "--no-report"])
    assert code == 0
    assert "skipped entry point 'broken'" in capsys.readouterr().err
    assert [r["problem"] for r in read_runs(tmp_path / "b")] == ["six_hump_camel"]


@pytest.mark.timeout(300)
def test_backend_options_reach_the_backend_and_the_manifest(tmp_path) -> None:
    options = {"grid": {"resolution": 2, "shuffle": False}}
    result = run_benchmark(TINY, backends=["grid"], problems=["branin"], budget=4, jobs=1,
                           out=tmp_path, progress=False, backend_options=options)
    grid = next(r for r in read_runs(tmp_path) if r["backend"] == "grid")
    # resolution 2, in order: the four corners, first parameter slowest.
    corners = [branin(-5.0, 0.0), branin(-5.0, 15.0), branin(10.0, 0.0), branin(10.0, 15.0)]
    assert [t["value"] for t in grid["trials"]] == pytest.approx(corners)
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert manifest["backend_setup"]["grid"]["options"] == {"resolution": 2, "shuffle": False}
    assert manifest["backend_setup"]["grid"]["defaults"] == {"resolution": 10, "shuffle": False}
    assert "| grid | resolution=2, shuffle=False |" in result.summary_path.read_text()
    with pytest.raises(UnituneError, match=r"ran 'grid' with the options"):
        run_benchmark(TINY, backends=["grid"], problems=["branin"], budget=4, jobs=1, out=tmp_path,
                      progress=False, backend_options={"grid": {"resolution": 3}})


@pytest.mark.timeout(300)
def test_bbob_without_cocoex_is_reported_and_the_other_problems_run(tmp_path, monkeypatch) -> None:
    import unitune_bench.bbob as bbob_module
    from unitune_bench.problem import PackUnavailable

    def missing():
        raise PackUnavailable(f"the BBOB pack needs the coco-experiment package: {bbob_module.INSTALL}")

    monkeypatch.setattr(bbob_module, "_cocoex", missing)
    result = run_benchmark(TINY, backends=["random"], problems=["bbob-f1-d2", "branin"], budget=2,
                           jobs=1, out=tmp_path, progress=False, report=False)
    assert [(r["problem"], r["status"]) for r in read_runs(tmp_path)] == [("branin", "ok")]
    [skip] = result.skipped_problems
    assert skip["source"] == "problem pack bbob (bbob-f1-d2)"
    assert "pip install 'unitune-benchmarks[bbob]'" in skip["reason"]
    with pytest.raises(UnituneError, match=r"no problem left to run \(problem pack bbob"):
        run_benchmark(TINY, backends=["random"], problems=["bbob-f1-d2"], budget=2, jobs=1,
                      out=tmp_path / "none", progress=False, report=False)


@pytest.mark.timeout(300)
def test_the_runs_budget_given_to_a_planning_algorithm_is_in_the_manifest_and_report(tmp_path) -> None:
    pytest.importorskip("unitune_nevergrad")
    result = run_benchmark(TINY, backends=["nevergrad.ngopt", "random"], problems=["branin"], budget=5,
                           jobs=1, out=tmp_path, progress=False)
    runs = {r["backend"]: r for r in read_runs(tmp_path)}
    assert [t["state"] for t in runs["nevergrad.ngopt"]["trials"]] == ["complete"] * 5
    setup = json.loads((tmp_path / "manifest.json").read_text())["backend_setup"]
    assert setup["nevergrad.ngopt"]["harness_options"] == {"budget": 5}
    assert "harness_options" not in setup["random"]
    assert "| nevergrad.ngopt | budget=5 (the run's budget) |" in result.summary_path.read_text()
