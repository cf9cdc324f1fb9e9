"""Export to Optuna storage, read back with Optuna's own API (RDB and journal file)."""

from __future__ import annotations

import math
import warnings

import pytest

pytest.importorskip("optuna")

import optuna

from unitune import Categorical, Constant, Float, Int, Space, Study, TrialPruned, UnituneError
from unitune.integrations.optuna_export import OptunaExportCallback, export_to_optuna

SPACE = Space({
    "lr": Float(1e-4, 1e-1, log=True),
    "layers": Int(1, 4),
    "flag": Categorical([1, True, "1"]),  # Optuna would conflate 1 and True: exported as labels
    "opt": Categorical({"sgd": {"momentum": Float(0.0, 0.9, step=0.1)}, "adam": None}),
    "fixed": Constant("relu"),
    "shape": Constant([64, 32]),
})


def objective(params, trial):
    for step in range(3):
        trial.report(params["lr"] * (step + 1), step)
    if params["layers"] == 4:
        raise RuntimeError("too deep")
    if params["layers"] == 3:
        raise TrialPruned("bad start")
    trial.set_user_attr("note", f"l{params['layers']}")
    return {"loss": params["lr"] * params["layers"], "acc": 1.0 - params["lr"]}


def make_study(n=24) -> Study:
    study = Study(SPACE, "random", metric="loss", seed=3)
    return study.optimize(objective, n_trials=n)


def check_round_trip(study: Study, loaded) -> None:
    mine = sorted(study.trials, key=lambda t: t.number)
    theirs = loaded.trials
    assert [t.number for t in theirs] == [t.number for t in mine]
    states = {"complete": "COMPLETE", "failed": "FAIL", "pruned": "PRUNED"}
    assert [t.state.name for t in theirs] == [states[t.state.value] for t in mine]
    assert {t.state.value for t in mine} == {"complete", "failed", "pruned"}
    for ours, opt in zip(mine, theirs):
        assert opt.values == (None if ours.values is None else list(ours.values))
        assert opt.intermediate_values == dict(ours.intermediate)
        assert opt.user_attrs["unitune_number"] == ours.number
        expected = {k: v for k, v in ours.params.items() if k != "shape"}
        expected["flag"] = f"{type(ours.params['flag']).__name__}:{ours.params['flag']!r}"
        assert opt.params == expected
        assert opt.user_attrs["unitune_constants"] == {"shape": [64, 32]}
        dists = opt.distributions
        assert dists["lr"] == optuna.distributions.FloatDistribution(1e-4, 1e-1, log=True)
        assert dists["layers"] == optuna.distributions.IntDistribution(1, 4)
        assert dists["opt"] == optuna.distributions.CategoricalDistribution(["sgd", "adam"])
        assert ("momentum" in dists) == (ours.params["opt"] == "sgd")
        if "momentum" in dists:
            assert dists["momentum"] == optuna.distributions.FloatDistribution(0.0, 0.9, step=0.1)
        if ours.state.value == "complete":
            assert opt.user_attrs["unitune_metrics"] == dict(ours.metrics)
            assert opt.user_attrs["note"] == ours.user_attrs["note"]
        else:
            assert opt.system_attrs["fail_reason"] == ours.failure
        assert math.isclose(opt.datetime_start.timestamp(), ours.started_at, abs_tol=1e-3)
        assert math.isclose(opt.datetime_complete.timestamp(), ours.finished_at, abs_tol=1e-3)
    assert loaded.metric_names == ["loss"]
    assert loaded.best_value == study.best_value
    assert loaded.user_attrs["unitune_space"] == SPACE.to_dict()
    assert loaded.user_attrs["unitune_backend"] == study.backend.full_name


def test_round_trip_through_sqlite(tmp_path):
    study = make_study()
    url = f"sqlite:///{tmp_path / 'export.db'}"
    export_to_optuna(study, url, study_name="rt")
    check_round_trip(study, optuna.load_study(study_name="rt", storage=url))


def test_round_trip_through_a_journal_file(tmp_path):
    study = make_study()
    path = tmp_path / "export.log"
    export_to_optuna(study, path, study_name="rt")
    from optuna.storages.journal import JournalFileBackend, JournalStorage

    storage = JournalStorage(JournalFileBackend(str(path)))
    check_round_trip(study, optuna.load_study(study_name="rt", storage=storage))


def test_live_callback_exports_each_trial_as_it_finishes(tmp_path):
    url = f"sqlite:///{tmp_path / 'live.db'}"
    study = Study(SPACE, "random", metric="loss", seed=3)
    study.optimize(objective, n_trials=24, callbacks=[OptunaExportCallback(url, "live")])
    check_round_trip(study, optuna.load_study(study_name="live", storage=url))


def test_multi_objective_with_metric_names_and_optuna_analysis(tmp_path):
    study = Study({"x": Float(0.0, 1.0)}, "random", direction=["minimize", "maximize"],
                  metric=["cost", "gain"], seed=0)
    study.optimize(lambda p: {"cost": p["x"], "gain": p["x"] ** 0.5}, n_trials=10)
    url = f"sqlite:///{tmp_path / 'mo.db'}"
    export_to_optuna(study, url, study_name="mo")
    loaded = optuna.load_study(study_name="mo", storage=url)
    assert loaded.directions == [optuna.study.StudyDirection.MINIMIZE, optuna.study.StudyDirection.MAXIMIZE]
    assert loaded.metric_names == ["cost", "gain"]
    assert {t.number for t in loaded.best_trials} == {t.number for t in study.best_trials}
    importance = optuna.importance.get_param_importances(
        loaded, target=lambda t: t.values[0], evaluator=optuna.importance.FanovaImportanceEvaluator(seed=0))
    assert list(importance) == ["x"]


def test_a_second_export_under_the_same_name_is_refused(tmp_path):
    study = make_study(4)
    url = f"sqlite:///{tmp_path / 'dup.db'}"
    export_to_optuna(study, url, study_name="same")
    with pytest.raises(UnituneError, match="already holds a study named 'same'"):
        export_to_optuna(study, url, study_name="same")


def test_bad_storage_is_refused():
    with pytest.raises(UnituneError, match="storage must be an RDB URL"):
        export_to_optuna(make_study(2), 42)


def test_a_searchcv_study_exports_with_per_fold_intermediate_values(tmp_path):
    pytest.importorskip("sklearn")
    from sklearn.datasets import load_iris
    from sklearn.linear_model import LogisticRegression

    from unitune.sklearn import SearchCV

    X, y = load_iris(return_X_y=True)
    grid = [{"C": [0.1, 1.0], "fit_intercept": [True]}, {"C": [10.0], "tol": [1e-3, 1e-2]}]
    search = SearchCV(LogisticRegression(max_iter=300), grid, cv=3).fit(X, y)
    url = f"sqlite:///{tmp_path / 'cv.db'}"
    export_to_optuna(search.study_, url, study_name="cv")
    loaded = optuna.load_study(study_name="cv", storage=url)
    results = search.cv_results_
    assert len(loaded.trials) == len(results["params"]) == 4
    for row, trial in enumerate(loaded.trials):
        assert trial.value == results["mean_test_score"][row]
        assert trial.intermediate_values == {k: results[f"split{k}_test_score"][row] for k in range(3)}
        branch = trial.params["_grid"]
        assert set(trial.params) == {"_grid"} | ({"0:C", "0:fit_intercept"} if branch == 0 else {"1:C", "1:tol"})
    assert loaded.best_trial.number == search.best_index_


def test_an_interrupted_trial_exports_as_fail_with_its_unitune_state(tmp_path):
    study = Study({"x": Float(0.0, 1.0)}, "random", seed=0)
    first, second = study.ask(), study.ask()
    study.tell(first, 0.5)
    study.tell(second, state="interrupted", failure="worker died")
    url = f"sqlite:///{tmp_path / 'int.db'}"
    export_to_optuna(study, url, study_name="int")
    trials = optuna.load_study(study_name="int", storage=url).trials
    assert [t.state.name for t in trials] == ["COMPLETE", "FAIL"]
    assert trials[1].user_attrs["unitune_state"] == "interrupted"
    assert trials[1].system_attrs["fail_reason"] == "worker died"
    assert "unitune_state" not in trials[0].user_attrs


def test_optuna_visualization_draws_an_exported_conditional_study(tmp_path):
    pytest.importorskip("matplotlib")
    import matplotlib

    matplotlib.use("Agg")
    from optuna.visualization import matplotlib as optuna_plots

    warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
    study = make_study(12)
    url = f"sqlite:///{tmp_path / 'plots.db'}"
    export_to_optuna(study, url, study_name="plots")
    loaded = optuna.load_study(study_name="plots", storage=url)
    history = optuna_plots.plot_optimization_history(loaded)
    points = history.collections[0].get_offsets()
    completed = [t.value for t in sorted(study.trials, key=lambda t: t.number) if t.value is not None]
    assert list(points[:, 1]) == completed
    curves = optuna_plots.plot_intermediate_values(loaded)
    drawn = [t for t in study.trials if t.intermediate and t.state.value in ("complete", "pruned")]
    assert len(curves.get_lines()) == len(drawn)  # Optuna draws complete and pruned trials
    assert any(t.state.value == "pruned" for t in drawn)
