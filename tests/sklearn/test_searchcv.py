"""SearchCV against scikit-learn's own search estimators, on every installed backend."""

from __future__ import annotations

import pickle
import warnings
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor

import numpy as np
import pytest

pytest.importorskip("sklearn")

from scipy import stats
from sklearn.base import clone
from sklearn.datasets import load_iris, make_classification
from sklearn.exceptions import FitFailedWarning
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, GroupKFold
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC

import unitune
from unitune import Categorical, Float, Int, Space, TrialState, UnituneError
from unitune.sklearn import SearchCV, to_param_space

X_IRIS, Y_IRIS = load_iris(return_X_y=True)
X_CLF, Y_CLF = make_classification(n_samples=120, n_features=6, n_informative=4, random_state=0)


def assert_same_results(ours: dict, theirs: dict) -> None:
    """Same keys, candidates, masks, scores and ranks (times excluded)."""
    assert set(ours) == set(theirs)
    assert ours["params"] == theirs["params"]
    for key, expected in theirs.items():
        if key == "params" or "time" in key:
            continue
        got = ours[key]
        assert type(got) is type(expected), key
        if isinstance(expected, np.ma.MaskedArray):
            np.testing.assert_array_equal(got.mask, expected.mask, err_msg=key)
            assert list(got.compressed()) == list(expected.compressed()), key
        else:
            np.testing.assert_array_equal(got, expected, err_msg=key)
        assert got.dtype == expected.dtype, key


def test_grid_backend_reproduces_gridsearchcv_exactly():
    grid = {"C": [0.01, 1.0], "fit_intercept": [True, False], "tol": np.array([1e-4, 1e-2])}
    est = LogisticRegression(max_iter=300)
    theirs = GridSearchCV(est, grid, cv=3, return_train_score=True).fit(X_IRIS, Y_IRIS)
    ours = SearchCV(est, grid, cv=3, return_train_score=True).fit(X_IRIS, Y_IRIS)
    assert ours.study_.backend.name == "grid"
    assert_same_results(ours.cv_results_, theirs.cv_results_)
    assert ours.best_index_ == theirs.best_index_
    assert ours.best_params_ == theirs.best_params_
    assert ours.best_score_ == theirs.best_score_
    assert ours.n_splits_ == 3
    assert ours.refit_time_ >= 0
    np.testing.assert_array_equal(ours.predict(X_IRIS), theirs.predict(X_IRIS))
    np.testing.assert_allclose(ours.predict_proba(X_IRIS), theirs.predict_proba(X_IRIS))
    assert ours.score(X_IRIS, Y_IRIS) == theirs.score(X_IRIS, Y_IRIS)
    # Every candidate is one COMPLETE trial whose value is its mean test score.
    trials = ours.study_.trials
    assert [t.state for t in trials] == [TrialState.COMPLETE] * 8
    assert [t.value for t in trials] == list(ours.cv_results_["mean_test_score"])
    assert dict(trials[0].intermediate) == {
        k: ours.cv_results_[f"split{k}_test_score"][0] for k in range(3)
    }


def test_list_of_grids_with_estimator_objects_and_tuples_matches_gridsearchcv():
    pipe = Pipeline([("scale", StandardScaler()), ("clf", LogisticRegression())])
    grid = [
        {"clf": [LogisticRegression(max_iter=200)], "clf__C": [0.1, 1.0]},
        {"clf": [SVC()], "clf__gamma": ["scale", 0.1], "clf__C": [1.0]},
        {"clf": [MLPClassifier(max_iter=50, random_state=0)], "clf__hidden_layer_sizes": [(4,), (8, 4)]},
    ]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # MLP convergence warnings
        theirs = GridSearchCV(pipe, grid, cv=3).fit(X_CLF, Y_CLF)
        ours = SearchCV(pipe, grid, cv=3).fit(X_CLF, Y_CLF)
    assert_same_results(ours.cv_results_, theirs.cv_results_)
    assert ours.best_params_ == theirs.best_params_
    # The study sees plain labels; the estimator got the objects.
    first = ours.study_.trials[0].params
    assert first["_grid"] == 0 and first["0:clf"] == "LogisticRegression(max_iter=200)"


def test_groups_are_routed_to_the_splitter():
    groups = np.arange(len(Y_CLF)) % 4
    grid = {"C": [0.1, 1.0]}
    theirs = GridSearchCV(LogisticRegression(), grid, cv=GroupKFold(4)).fit(X_CLF, Y_CLF, groups=groups)
    ours = SearchCV(LogisticRegression(), grid, cv=GroupKFold(4)).fit(X_CLF, Y_CLF, groups=groups)
    assert_same_results(ours.cv_results_, theirs.cv_results_)


def test_multi_metric_refit_by_name_and_by_callable():
    scoring = {"acc": "accuracy", "bal": "balanced_accuracy"}
    grid = {"C": [0.001, 0.1, 10.0]}
    theirs = GridSearchCV(LogisticRegression(), grid, scoring=scoring, refit="bal", cv=3).fit(X_CLF, Y_CLF)
    ours = SearchCV(LogisticRegression(), grid, scoring=scoring, refit="bal", cv=3).fit(X_CLF, Y_CLF)
    assert_same_results(ours.cv_results_, theirs.cv_results_)
    assert ours.multimetric_ is True
    assert ours.best_index_ == int(np.argmin(ours.cv_results_["rank_test_bal"]))
    assert ours.best_score_ == ours.cv_results_["mean_test_bal"][ours.best_index_]
    assert set(ours.scorer_) == {"acc", "bal"}
    # The backend optimized the refit metric; the other one is kept on each trial.
    trial = ours.study_.trials[1]
    assert trial.value == ours.cv_results_["mean_test_bal"][1]
    assert trial.metrics["mean_test_acc"] == ours.cv_results_["mean_test_acc"][1]

    def lowest_c(results):
        return int(np.argmin(results["param_C"]))

    by_callable = SearchCV(LogisticRegression(), grid, scoring=scoring, refit=lowest_c,
                           metric="acc", cv=3).fit(X_CLF, Y_CLF)
    assert by_callable.best_index_ == 0 and by_callable.best_params_ == {"C": 0.001}
    assert not hasattr(by_callable, "best_score_")


def test_multi_metric_without_a_metric_to_optimize_is_refused():
    search = SearchCV(LogisticRegression(), {"C": [0.1, 1.0]}, scoring=["accuracy", "f1"], refit=False)
    with pytest.raises(UnituneError, match=r"name the scorer the backend optimizes with metric="):
        search.fit(X_CLF, Y_CLF)


def test_pipeline_with_a_conditional_unitune_space():
    pipe = Pipeline([("scale", StandardScaler()), ("svc", SVC())])
    space = Space({
        "svc__C": Float(0.1, 10.0, log=True),
        "svc__kernel": Categorical({"rbf": {"svc__gamma": Float(1e-3, 1.0, log=True)},
                                    "poly": {"svc__degree": Int(2, 3)},
                                    "linear": None}),
    })
    search = SearchCV(pipe, space, backend="random", n_trials=12, cv=3, random_state=1).fit(X_CLF, Y_CLF)
    results = search.cv_results_
    assert len(results["params"]) == 12
    for params in results["params"]:
        kernel = params["svc__kernel"]
        expected = {"svc__C", "svc__kernel"} | {"rbf": {"svc__gamma"}, "poly": {"svc__degree"},
                                                 "linear": set()}[kernel]
        assert set(params) == expected
    # Inactive parameters are masked, as GridSearchCV masks a list of grids.
    gamma = results["param_svc__gamma"]
    rbf = np.array([p["svc__kernel"] == "rbf" for p in results["params"]])
    np.testing.assert_array_equal(gamma.mask, ~rbf)
    assert search.best_estimator_.named_steps["svc"].kernel == search.best_params_["svc__kernel"]
    assert all(t.state is TrialState.COMPLETE for t in search.study_.trials)


def _installed_backends() -> list[str]:
    return [b.name for b in unitune.list_backends() if b.installed]


@pytest.mark.parametrize("backend", _installed_backends())
def test_every_installed_backend_drives_the_estimator(backend):
    space = {"C": Float(0.01, 10.0, log=True), "fit_intercept": Categorical([True, False])}
    options = {"resolution": 3} if backend == "grid" else None
    search = SearchCV(LogisticRegression(), space, backend=backend, n_trials=5, cv=2, random_state=0,
                      backend_options=options).fit(X_CLF, Y_CLF)
    trials = search.study_.trials
    assert len(trials) == len(search.cv_results_["params"]) == 5
    assert all(t.state is TrialState.COMPLETE for t in trials)
    for trial, params in zip(trials, search.cv_results_["params"]):
        assert Space(space).contains(dict(trial.params))
        assert params == dict(trial.params)
    assert search.best_score_ == max(t.value for t in trials)


def test_randomized_search_switch_with_scipy_distributions():
    distributions = {"C": stats.loguniform(1e-2, 1e2), "max_iter": stats.randint(50, 200),
                     "tol": stats.uniform(1e-4, 1e-2), "intercept_scaling": stats.expon(scale=2.0)}
    search = SearchCV(LogisticRegression(), param_distributions=distributions, n_iter=6, cv=2,
                      random_state=0).fit(X_CLF, Y_CLF)
    assert search.study_.backend.name == "random"
    params = search.cv_results_["params"]
    assert len(params) == 6
    for p in params:
        assert 1e-2 <= p["C"] <= 1e2 and isinstance(p["C"], float)
        assert 50 <= p["max_iter"] <= 199 and isinstance(p["max_iter"], int)
        assert 1e-4 <= p["tol"] <= 1e-4 + 1e-2
        assert p["intercept_scaling"] > 0  # expon via its quantile function
    spec = to_param_space(distributions)
    assert spec.space["C"] == Float(1e-2, 1e2, log=True)
    assert spec.space["max_iter"] == Int(50, 199)
    assert spec.space["intercept_scaling"] == Float(0.0, 1.0)
    assert spec.decode({"C": 1.0, "max_iter": 60, "tol": 0.001, "intercept_scaling": 0.5})[
        "intercept_scaling"] == pytest.approx(stats.expon(scale=2.0).median())


def test_default_budget_and_backend_choices():
    grid = SearchCV(LogisticRegression(), param_grid={"C": [0.1, 1.0, 10.0]}, cv=2).fit(X_CLF, Y_CLF)
    assert len(grid.cv_results_["params"]) == 3
    rand = SearchCV(LogisticRegression(), {"C": stats.loguniform(0.1, 10)}, cv=2, random_state=0)
    assert len(rand.fit(X_CLF, Y_CLF).cv_results_["params"]) == 10
    assert rand.study_.backend.name == "random"


class CountingThreads(ThreadPoolExecutor):
    """A real thread pool that counts the tasks it is given."""

    submitted = 0

    def submit(self, fn, /, *args, **kwargs):
        self.submitted += 1
        return super().submit(fn, *args, **kwargs)


class CountingProcesses(ProcessPoolExecutor):
    """A real process pool that counts the tasks it is given."""

    submitted = 0

    def submit(self, fn, /, *args, **kwargs):
        self.submitted += 1
        return super().submit(fn, *args, **kwargs)


@pytest.mark.parametrize("pool", [CountingThreads, CountingProcesses], ids=["threads", "processes"])
@pytest.mark.timeout(240)
def test_executor_runs_the_fits_and_gives_the_serial_results(pool):
    grid = {"C": [0.01, 0.1, 1.0, 10.0]}
    serial = SearchCV(LogisticRegression(), grid, cv=3).fit(X_CLF, Y_CLF)
    with pool(2) as executor:
        parallel = SearchCV(LogisticRegression(), grid, cv=3, executor=executor).fit(X_CLF, Y_CLF)
    assert executor.submitted == 4 * 3  # every (candidate, fold) fit ran on the executor
    assert_same_results(parallel.cv_results_, serial.cv_results_)
    assert [t.state for t in parallel.study_.trials] == [TrialState.COMPLETE] * 4


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_dask_executor_on_a_local_cluster(dask_client):
    from distributed.cfexecutor import ClientExecutor

    class CountingDask(ClientExecutor):
        submitted = 0

        def submit(self, fn, *args, **kwargs):
            self.submitted += 1
            return super().submit(fn, *args, **kwargs)

    grid = {"C": [0.1, 1.0, 10.0]}
    serial = SearchCV(LogisticRegression(), grid, cv=3).fit(X_CLF, Y_CLF)
    executor = CountingDask(dask_client, pure=False)
    ours = SearchCV(LogisticRegression(), grid, cv=3, executor=executor).fit(X_CLF, Y_CLF)
    assert executor.submitted == 3 * 3
    assert_same_results(ours.cv_results_, serial.cv_results_)


@pytest.mark.timeout(300)
def test_n_jobs_with_an_adaptive_backend_asks_batches(capsys):
    from joblib import parallel_config

    # n_jobs=2 through joblib as GridSearchCV uses it; threads spare the test loky's start-up.
    with parallel_config(backend="threading"):
        search = SearchCV(LogisticRegression(), {"C": Float(0.01, 10.0, log=True)}, backend="random",
                          n_trials=6, cv=2, n_jobs=2, batch_size=3, random_state=0,
                          verbose=1).fit(X_CLF, Y_CLF)
    assert capsys.readouterr().out.count("Fitting 2 folds for each of 3 candidates") == 2
    assert len(search.cv_results_["params"]) == 6
    assert [t.number for t in search.study_.trials] == list(range(6))
    assert [t.state for t in search.study_.trials] == [TrialState.COMPLETE] * 6
    assert [t.value for t in search.study_.trials] == list(search.cv_results_["mean_test_score"])


def test_failed_candidates_are_failed_trials_and_nan_in_cv_results():
    grid = {"C": [1.0, -1.0, 0.1]}  # C=-1 is rejected by LogisticRegression.fit
    with pytest.warns(FitFailedWarning, match="fits failed"):
        theirs = GridSearchCV(LogisticRegression(), grid, cv=2).fit(X_CLF, Y_CLF)
    with pytest.warns(FitFailedWarning, match="fits failed"):
        ours = SearchCV(LogisticRegression(), grid, cv=2).fit(X_CLF, Y_CLF)
    assert_same_results(ours.cv_results_, theirs.cv_results_)
    states = [t.state for t in ours.study_.trials]
    assert states == [TrialState.COMPLETE, TrialState.FAILED, TrialState.COMPLETE]
    assert "error_score=nan" in ours.study_.trials[1].failure


def test_error_score_raise_propagates_and_records_the_candidate():
    search = SearchCV(LogisticRegression(), {"C": [-1.0, 1.0]}, cv=2, error_score="raise", batch_size=1)
    with pytest.raises(ValueError, match="C"):
        search.fit(X_CLF, Y_CLF)
    assert [t.state for t in search.trials_] == [TrialState.FAILED]
    assert "InvalidParameterError" in search.trials_[0].failure


def test_error_score_raise_in_a_batch_interrupts_the_whole_batch():
    search = SearchCV(LogisticRegression(), {"C": [1.0, -1.0, 0.1]}, cv=2, error_score="raise")
    with pytest.raises(ValueError, match="C"):
        search.fit(X_CLF, Y_CLF)
    assert [t.state for t in search.trials_] == [TrialState.INTERRUPTED] * 3
    assert all(t.failure.startswith("the batch stopped on an error") for t in search.trials_)


def test_all_candidates_failing_raises_like_gridsearchcv():
    search = SearchCV(LogisticRegression(), {"C": Float(-2.0, -1.0)}, backend="random", n_trials=2,
                      batch_size=1, cv=2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(ValueError, match="All 2 candidates failed"):
            search.fit(X_CLF, Y_CLF)
    assert [t.state for t in search.trials_] == [TrialState.FAILED, TrialState.FAILED]


def test_verbose_prints_sklearn_progress(capsys):
    SearchCV(LogisticRegression(), {"C": [0.1, 1.0]}, cv=2, verbose=1).fit(X_CLF, Y_CLF)
    assert "Fitting 2 folds for each of 2 candidates, totalling 4 fits" in capsys.readouterr().out


@pytest.mark.timeout(120)
def test_timeout_stops_asking_and_every_trial_is_finished():
    search = SearchCV(LogisticRegression(), {"C": Float(0.01, 10.0, log=True)}, backend="random",
                      timeout=0.5, cv=2, random_state=0).fit(X_CLF, Y_CLF)
    trials = search.study_.trials
    assert len(trials) >= 1 and len(trials) == len(search.cv_results_["params"])
    assert all(t.state is TrialState.COMPLETE for t in trials)


def test_callbacks_see_each_recorded_trial_once():
    seen = []
    SearchCV(LogisticRegression(), {"C": [0.1, 1.0, 10.0]}, cv=2,
             callbacks=[lambda study, trial: seen.append((trial.number, trial.state))]).fit(X_CLF, Y_CLF)
    assert seen == [(0, TrialState.COMPLETE), (1, TrialState.COMPLETE), (2, TrialState.COMPLETE)]


def test_fitted_search_pickles_without_its_live_study():
    search = SearchCV(LogisticRegression(), {"C": Float(0.1, 10.0)}, backend="optuna", n_trials=3,
                      cv=2, random_state=0).fit(X_CLF, Y_CLF)
    copy = pickle.loads(pickle.dumps(search))
    assert not hasattr(copy, "study_")
    assert copy.trials_ == search.study_.trials
    np.testing.assert_array_equal(copy.predict(X_CLF), search.predict(X_CLF))


def test_a_plain_scalar_is_a_constant():
    search = SearchCV(LogisticRegression(), {"C": 0.5, "tol": [1e-4, 1e-3]}, cv=2).fit(X_CLF, Y_CLF)
    assert [p["C"] for p in search.cv_results_["params"]] == [0.5, 0.5]
    assert search.best_estimator_.C == 0.5


def test_unitune_spaces_survive_clone():
    space = Space({"C": Float(0.1, 10.0, log=True), "k": Categorical({"a": {"x": Int(1, 3)}, "b": None})})
    search = SearchCV(LogisticRegression(), space, backend="random")
    cloned = clone(search)
    assert cloned.space == space and cloned.space is not space


@pytest.mark.parametrize(("kwargs", "message"), [
    ({}, r"exactly one of space, param_grid or param_distributions"),
    ({"space": {"C": [1.0]}, "param_grid": {"C": [1.0]}}, r"exactly one of .*\['space', 'param_grid'\]"),
    ({"space": {"C": [1.0]}, "n_trials": 2, "n_iter": 2}, r"n_trials or its alias n_iter, not both"),
    ({"space": {"C": {1, 2}}}, r"parameter 'C': expected a list of values"),
    ({"space": {"C": []}}, r"parameter 'C': the list of candidate values is empty"),
])
def test_bad_configuration_gets_a_clear_error(kwargs, message):
    search = SearchCV(LogisticRegression(), cv=2, **kwargs)
    with pytest.raises(UnituneError, match=message):
        search.fit(X_CLF, Y_CLF)


class InterruptingClassifier(LogisticRegression):
    """Raises KeyboardInterrupt (a user's Ctrl-C) while fitting when ``C`` is 13."""

    def fit(self, X, y, sample_weight=None):
        if self.C == 13.0:
            raise KeyboardInterrupt
        return super().fit(X, y, sample_weight=sample_weight)


def test_ctrl_c_records_the_batch_interrupted_and_propagates():
    search = SearchCV(InterruptingClassifier(), {"C": [1.0, 13.0, 2.0]}, cv=2, batch_size=1)
    with pytest.raises(KeyboardInterrupt):
        search.fit(X_CLF, Y_CLF)
    trials = search.trials_
    assert [(t.number, t.state) for t in trials] == [(0, TrialState.COMPLETE), (1, TrialState.INTERRUPTED)]
    assert trials[1].failure == "interrupted (KeyboardInterrupt)"


def test_param_space_labels_and_decoding():
    class Sampler:  # has rvs() like a distribution, but no ppf: unitune cannot search it
        def rvs(self, random_state=None):
            return 1.0

    with pytest.raises(unitune.SpaceError, match=r"parameter 'C': .* is not a frozen scipy.stats distribution"):
        to_param_space({"C": Sampler()})
    spec = to_param_space({"a": np.array([0.5, 2.0]), "b": [1, 1], "c": [None, (3,), "x"]})
    assert spec.kind == "grid"
    assert spec.space["a"] == Categorical([0.5, 2.0])       # numpy scalars shown as plain floats
    assert spec.space["b"] == Categorical([0, 1])           # duplicate values: labelled by position
    assert spec.space["c"] == Categorical([None, "(3,)", "x"])
    decoded = spec.decode({"a": 2.0, "b": 1, "c": "(3,)"})
    assert type(decoded["a"]) is np.float64 and decoded["a"] == 2.0  # the original objects come back
    assert decoded["b"] == 1 and decoded["c"] == (3,)


def test_an_unknown_metric_is_refused_and_the_batch_recorded():
    search = SearchCV(LogisticRegression(), {"C": [0.1, 1.0]}, cv=2, scoring={"acc": "accuracy"},
                      refit="acc", metric="f1")
    with pytest.raises(UnituneError, match=r"metric 'f1' is not among the scorers \['acc'\]"):
        search.fit(X_CLF, Y_CLF)
    assert [t.state for t in search.trials_] == [TrialState.INTERRUPTED] * 2


def test_a_failing_callback_leaves_every_trial_of_its_batch_recorded():
    def explode(study, trial):
        raise RuntimeError("callback broke")

    search = SearchCV(LogisticRegression(), {"C": [0.1, 1.0, 10.0]}, cv=2, callbacks=[explode])
    with pytest.raises(RuntimeError, match="callback broke"):
        search.fit(X_CLF, Y_CLF)
    assert [t.state for t in search.trials_] == [TrialState.COMPLETE] * 3


def test_a_search_can_keep_its_trials_in_a_sqlite_file(tmp_path):
    from unitune.storage import SQLiteStorage, StudyExistsError

    path = tmp_path / "search.db"
    search = SearchCV(LogisticRegression(), {"C": [0.1, 1.0, 10.0]}, cv=2, storage=path, study_name="cv")
    search.fit(X_CLF, Y_CLF)
    stored = SQLiteStorage(path).trials("cv")
    assert [(t.number, t.state, t.values, dict(t.params)) for t in stored] == [
        (t.number, t.state, t.values, dict(t.params)) for t in search.trials_]
    assert [t.values[0] for t in stored] == list(search.cv_results_["mean_test_score"])
    with pytest.raises(StudyExistsError, match=r"study_name='cv' is already taken .* each fit of a "
                                                 r"SearchCV writes a new study; set_params\(study_name=") as err:
        search.fit(X_CLF, Y_CLF)  # a second fit needs a new name (or another file)
    assert "resume=True" not in str(err.value)  # not a SearchCV parameter
    search.set_params(study_name="cv2").fit(X_CLF, Y_CLF)
    assert [t.state for t in SQLiteStorage(path).trials("cv2")] == [TrialState.COMPLETE] * 3


def test_a_pruner_stops_candidates_between_rungs_of_growing_training_size():
    from unitune.pruners import MedianPruner

    X, y = X_IRIS, Y_IRIS
    search = SearchCV(LogisticRegression(max_iter=200), {"C": Float(1e-5, 10.0, log=True)}, backend="random",
                      n_trials=12, batch_size=3, cv=3, random_state=0,
                      pruner=MedianPruner(n_startup_trials=0)).fit(X, y)
    trials = search.study_.trials
    results = search.cv_results_
    states = {t.state for t in trials}
    assert len(trials) == 12 and states == {TrialState.COMPLETE, TrialState.PRUNED}
    full = max(results["n_resources"])
    assert sorted(set(results["n_resources"])) == [round(100 / 9), round(100 / 3), full] and full == 100
    assert set(results["iter"]) == {0, 1, 2}
    for trial in trials:  # steps in units of the first rung; a pruned trial never saw the full folds
        expected = [1, 3, 9] if trial.state is TrialState.COMPLETE else [1, 3][:len(trial.intermediate)]
        assert sorted(trial.intermediate) == expected
    n_rows = sum(len(t.intermediate) for t in trials)
    assert len(results["params"]) == n_rows
    # The best is chosen among candidates evaluated on the full folds only.
    assert results["n_resources"][search.best_index_] == full
    on_full = [i for i, n in enumerate(results["n_resources"]) if n == full]
    assert search.best_score_ == max(results["mean_test_score"][i] for i in on_full)
    complete = [t for t in trials if t.state is TrialState.COMPLETE]
    assert search.best_score_ == max(t.value for t in complete)


def test_close_pruning_fractions_report_each_rung_at_its_own_step():
    # 0.6 / 0.6 and 0.8 / 0.6 both round to step 1: the second rung's score was reported at the
    # step of the first, so a trial kept one value for two rungs and was judged on the first twice.
    from unitune.pruners import MedianPruner

    search = SearchCV(LogisticRegression(max_iter=200), {"C": Float(1e-5, 10.0, log=True)},
                      backend="random", n_trials=9, batch_size=3, cv=3, random_state=0,
                      pruning_fractions=(0.6, 0.8, 1.0), pruner=MedianPruner(n_startup_trials=0))
    search.fit(X_IRIS, Y_IRIS)
    results = search.cv_results_
    for trial in search.study_.trials:
        rows = [i for i, p in enumerate(results["params"]) if p == dict(trial.params)]
        assert sorted(trial.intermediate) == [1, 2, 3][:len(rows)]
        assert [trial.intermediate[step] for step in sorted(trial.intermediate)] == [
            results["mean_test_score"][i] for i in rows]
        if trial.state is TrialState.COMPLETE:
            assert len(rows) == 3
    assert {t.state for t in search.study_.trials} <= {TrialState.COMPLETE, TrialState.PRUNED}


def test_bad_pruning_fractions_are_refused():
    search = SearchCV(LogisticRegression(), {"C": [1.0]}, cv=2, pruner="median", pruning_fractions=(0.5, 0.9))
    with pytest.raises(UnituneError, match=r"pruning_fractions must be increasing .* ending with 1\.0"):
        search.fit(X_CLF, Y_CLF)


def test_cv_as_a_generator_of_splits_works_as_in_grid_search():
    from sklearn.model_selection import KFold

    grid = {"C": [0.1, 1.0, 10.0]}

    def splits():
        return KFold(3, shuffle=True, random_state=0).split(X_IRIS)

    ours = SearchCV(LogisticRegression(max_iter=1000), grid, cv=splits()).fit(X_IRIS, Y_IRIS)
    theirs = GridSearchCV(LogisticRegression(max_iter=1000), grid, cv=splits()).fit(X_IRIS, Y_IRIS)
    assert ours.n_splits_ == theirs.n_splits_ == 3
    assert ours.best_params_ == theirs.best_params_
    assert ours.best_score_ == pytest.approx(theirs.best_score_)
    assert sorted(ours.cv_results_["mean_test_score"]) == pytest.approx(sorted(theirs.cv_results_["mean_test_score"]))


def test_a_callable_scorer_returning_a_dict_optimizes_the_refit_scorer():
    from sklearn.metrics import accuracy_score, f1_score

    def scores(estimator, X, y):
        predicted = estimator.predict(X)
        return {"acc": accuracy_score(y, predicted), "f1": f1_score(y, predicted, average="macro")}

    grid = {"C": [0.01, 0.1, 1.0]}
    ours = SearchCV(LogisticRegression(max_iter=1000), grid, cv=3, scoring=scores, refit="f1").fit(X_IRIS, Y_IRIS)
    theirs = GridSearchCV(LogisticRegression(max_iter=1000), grid, cv=3, scoring=scores, refit="f1").fit(X_IRIS, Y_IRIS)
    assert [t.state for t in ours.study_.trials] == [TrialState.COMPLETE] * 3
    assert ours.best_params_ == theirs.best_params_
    assert ours.best_score_ == pytest.approx(theirs.best_score_)
