"""MetaRecClassifier / MetaRecRegressor: scikit-learn's estimator checks, DataFrames with
categories and missing values, composition (Pipeline, cross_val_score, GridSearchCV), tuning."""

from __future__ import annotations

import time

import numpy as np
import pandas as pd
import pytest
from sklearn.utils.estimator_checks import parametrize_with_checks
from threadpoolctl import threadpool_limits

from metarec import MetaRecClassifier, MetaRecRegressor


@pytest.fixture(autouse=True)
def _one_thread():
    # OpenMP estimators (histogram boosting, LightGBM) crawl when the machine is oversubscribed.
    with threadpool_limits(limits=1):
        yield


# kb=False: the default portfolio, so the checks are fast and do not depend on which knowledge
# base is installed; test_with_the_knowledge_base covers the recommender path.
@parametrize_with_checks([MetaRecClassifier(kb=False, random_state=0),
                          MetaRecRegressor(kb=False, random_state=0)])
def test_sklearn_compatible(estimator, check) -> None:
    check(estimator)


def _frame(n: int = 80, seed: int = 0) -> tuple[pd.DataFrame, pd.Series]:
    rng = np.random.default_rng(seed)
    X = pd.DataFrame({
        "num": rng.normal(size=n),
        "noise": rng.normal(size=n),
        "colour": pd.Categorical(rng.choice(["red", "green", "blue"], n)),
        "flag": rng.choice(["on", "off"], n).astype(object),
    })
    y = pd.Series(np.where((X["num"] > 0) ^ (X["colour"] == "red"), "pos", "neg"))
    X.loc[::6, "num"] = np.nan
    X.loc[::9, "colour"] = np.nan
    X.loc[::7, "flag"] = None
    return X, y


def test_dataframe_with_categories_and_missing_values() -> None:
    X, y = _frame()
    model = MetaRecClassifier(kb=False, random_state=0).fit(X, y)
    assert list(model.feature_names_in_) == list(X.columns)
    assert model.n_features_in_ == 4
    assert set(model.classes_) == {"neg", "pos"}
    proba = model.predict_proba(X)
    assert proba.shape == (len(X), 2) and np.allclose(proba.sum(axis=1), 1.0)
    assert model.score(X, y) > 0.7
    assert model.recommendations_ and model.recommendation_source_ == "default portfolio"
    assert model.best_spec_["algorithm"] == model.recommendations_[0]["algorithm"]
    assert "NumberOfInstances" in model.metafeatures_.index
    assert not hasattr(model, "study_")  # n_trials=0: no study


def test_composes_with_pipeline_cross_val_score_and_grid_search() -> None:
    from sklearn.model_selection import GridSearchCV, cross_val_score
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    rng = np.random.default_rng(1)
    X = rng.normal(size=(60, 3))
    y = X[:, 0] - X[:, 1] + 0.1 * rng.normal(size=60)
    scores = cross_val_score(make_pipeline(StandardScaler(), MetaRecRegressor(kb=False)), X, y,
                             cv=3)
    assert scores.mean() > 0.5
    grid = GridSearchCV(MetaRecClassifier(kb=False, random_state=0), {"top_k": [1, 2]}, cv=2)
    grid.fit(X, (y > 0).astype(int))
    assert grid.best_params_["top_k"] in (1, 2) and grid.best_score_ > 0.6


def test_n_trials_tunes_a_warm_started_study() -> None:
    X, y = _frame(60)
    model = MetaRecClassifier(kb=False, n_trials=3, cv=2, top_k=2, random_state=0).fit(X, y)
    trials = model.study_.trials
    assert len(trials) == 3
    # The first two trials are the two recommendations, enqueued.
    assert [t.params["algorithm"] for t in trials[:2]] == [
        r["algorithm"] for r in model.recommendations_[:2]]
    assert model.best_spec_["algorithm"] == model.study_.best_trial.params["algorithm"]
    assert model.predict(X).shape == (60,)


def test_bad_parameters_and_data_raise_value_errors() -> None:
    X, y = _frame(30)
    with pytest.raises(ValueError, match="n_trials"):
        MetaRecClassifier(kb=False, n_trials=-1).fit(X, y)
    with pytest.raises(ValueError, match="one class"):
        MetaRecClassifier(kb=False).fit(X, ["a"] * len(X))
    with pytest.raises(ValueError, match="infinity"):
        MetaRecRegressor(kb=False).fit(X.assign(num=np.inf), np.arange(len(X), dtype=float))
    with pytest.raises(ValueError, match="search_space must be"):
        MetaRecClassifier(kb=False, search_space="everything").fit(X, y)


def _shipped_kb() -> object:
    from metarec.recommend import load_kb

    kb = load_kb(None)
    if kb is None:
        pytest.skip("no knowledge base is installed (knowledge_base/ is empty)")
    return kb


def test_single_best_fallback_with_the_shipped_knowledge_base(monkeypatch) -> None:
    from metarec.errors import KnowledgeBaseError
    from metarec.recommend import recommender

    _shipped_kb()

    def unavailable(*args, **kwargs):
        raise KnowledgeBaseError("the meta-learner is unavailable in this test.")

    monkeypatch.setattr(recommender, "recommend", unavailable)
    X, y = _frame(60)
    model = MetaRecClassifier(random_state=0, top_k=3).fit(X, y)
    assert model.recommendation_source_ == "single-best fallback"
    assert len({r["algorithm"] for r in model.recommendations_}) == 3  # one per algorithm
    assert model.predict(X).shape == (60,)


@pytest.mark.slow  # the first recommendation in a process fits the meta-learner (~30 s)
def test_meta_learner_recommendations() -> None:
    _shipped_kb()
    X, y = _frame(60)
    model = MetaRecClassifier(random_state=0).fit(X, y)
    assert model.recommendation_source_ == "meta-learner"
    assert model.best_spec_["algorithm"] == model.recommendations_[0]["algorithm"]
    assert model.predict(X).shape == (60,)


def test_warm_start_chooses_from_a_wider_ranking(monkeypatch) -> None:
    from metarec.tuning import search as orchestration

    asked: dict[str, int] = {}
    real = orchestration.recommendations_for

    def recording(*args, top_k, **kwargs):
        asked["top_k"] = top_k
        return real(*args, top_k=top_k, **kwargs)

    def fake_tune(X, y, recommendations, *, k, **kwargs):
        asked["offered"], asked["k"] = len(recommendations), k
        return None, recommendations[0]["pipeline"]

    monkeypatch.setattr(orchestration, "recommendations_for", recording)
    monkeypatch.setattr(orchestration, "tune", fake_tune)
    X, y = _frame(60)
    model = MetaRecClassifier(kb=False, random_state=0, top_k=2, n_trials=1).fit(X, y)
    assert asked["top_k"] == 6 and asked["k"] == 2
    assert asked["offered"] > len(model.recommendations_) == 2


def test_top_k_below_one_is_refused() -> None:
    X, y = _frame(40)
    with pytest.raises(ValueError, match="top_k must be an integer >= 1"):
        MetaRecClassifier(kb=False, top_k=0).fit(X, y)


def test_untuned_fit_weights_imbalanced_classes_like_the_warm_start(monkeypatch) -> None:
    from metarec.recommend import Recommended
    from metarec.tuning import search as orchestration

    def ranked(X, y, task, **kwargs):
        spec = {"task": task, "algorithm": "random_forest",
                "hyperparameters": {"n_estimators": 10, "max_features": 0.5}}
        return Recommended(
            [{"rank": 1, "algorithm": "random_forest", "pipeline": spec}], "meta-learner")

    monkeypatch.setattr(orchestration, "recommendations_for", ranked)
    X, y = _frame(90)
    y = pd.Series(np.where(np.arange(90) < 15, "rare", "common"), index=X.index)
    fitted = MetaRecClassifier(random_state=0).fit(X, y).best_spec_["hyperparameters"]
    assert fitted["class_weight"] == "balanced" and fitted["n_estimators"] == 100
    assert fitted["max_features"] == 0.5
    balanced = pd.Series(np.where(np.arange(90) % 2 == 0, "a", "b"), index=X.index)
    fitted = MetaRecClassifier(random_state=0).fit(X, balanced).best_spec_["hyperparameters"]
    assert "class_weight" not in fitted


def test_mixed_type_frames_are_checked_for_feature_names_and_count() -> None:
    # Categorical/text columns skip numeric conversion; their names and count are still checked.
    X, y = _frame(40)
    model = MetaRecClassifier(kb=False, random_state=0).fit(X, y)
    assert list(model.feature_names_in_) == ["num", "noise", "colour", "flag"]
    with pytest.raises(ValueError, match="feature names"):
        model.predict(X[["noise", "num", "colour", "flag"]])
    with pytest.raises(ValueError, match="feature names"):
        model.predict(X.drop(columns="noise"))


def test_an_untuned_fit_of_a_slow_recommendation_finishes(monkeypatch, slow_svm) -> None:
    # The top recommendation is fitted directly (n_trials=0): it carries the same iteration bound
    # as a tuning trial. Unbounded, this SVM does not converge and the fit runs on.
    from metarec.pipelines import ITERATION_BOUNDS
    from metarec.recommend import Recommended
    from metarec.tuning import search as orchestration

    X, y, spec = slow_svm
    monkeypatch.setattr(orchestration, "recommendations_for", lambda *a, **k: Recommended(
        [{"rank": 1, "algorithm": "svm", "pipeline": spec}], "meta-learner"))
    started = time.perf_counter()
    model = MetaRecClassifier(random_state=0).fit(X, y)
    assert model.best_spec_["algorithm"] == "svm"
    assert model.best_pipeline_.named_steps["model"].n_iter_[0] == ITERATION_BOUNDS["svm"][
        "max_iter"]
    assert time.perf_counter() - started < 120


@pytest.mark.parametrize("n_classes", [2, 3])
def test_probabilities_even_when_the_chosen_pipeline_has_none(monkeypatch, n_classes) -> None:
    # An SVM recommendation builds SVC without probability=True: no predict_proba of its own.
    from sklearn.metrics import log_loss, roc_auc_score

    from metarec.recommend import Recommended
    from metarec.tuning import search as orchestration

    spec = {"task": "classification", "algorithm": "svm", "hyperparameters": {"C": 1.0}}
    monkeypatch.setattr(orchestration, "recommendations_for", lambda *a, **k: Recommended(
        [{"rank": 1, "algorithm": "svm", "pipeline": spec}], "meta-learner"))
    rng = np.random.default_rng(n_classes)
    X = pd.DataFrame(rng.normal(size=(400, 3)), columns=["a", "b", "c"])
    signal = X["a"] + 0.5 * X["b"] + rng.normal(scale=0.7, size=400)
    y = pd.cut(signal, n_classes, labels=[f"k{i}" for i in range(n_classes)]).astype(str)
    train, test = slice(0, 250), slice(250, 400)
    model = MetaRecClassifier(random_state=0).fit(X[train], y[train])
    assert not hasattr(model.best_pipeline_, "predict_proba")
    assert model.calibrator_ is not None
    proba = model.predict_proba(X[test])
    assert proba.shape == (150, n_classes) and np.allclose(proba.sum(axis=1), 1.0)
    truth = y[test].to_numpy()
    auc = roc_auc_score(truth, proba[:, 1] if n_classes == 2 else proba, multi_class="ovr",
                        labels=model.classes_)
    assert auc > 0.85
    assert log_loss(truth, proba, labels=model.classes_) < 0.8 * np.log(n_classes)
    # predict stays the pipeline's own.
    codes = model.best_pipeline_.predict(model._predict_frame(X[test]))
    assert (model.predict(X[test]) == model.classes_[codes]).all()


def test_a_pipeline_with_probabilities_is_not_calibrated() -> None:
    X, y = _frame(60)
    model = MetaRecClassifier(kb=False, random_state=0).fit(X, y)
    assert model.calibrator_ is None
    np.testing.assert_allclose(model.predict_proba(X),
                               model.best_pipeline_.predict_proba(model._predict_frame(X)))
