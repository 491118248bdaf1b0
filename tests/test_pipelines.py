"""metarec.pipelines: specs build unfitted scikit-learn pipelines that handle real DataFrames."""

from __future__ import annotations

import time

import numpy as np
import pandas as pd
import pytest
from sklearn.exceptions import NotFittedError
from sklearn.pipeline import Pipeline
from sklearn.utils.validation import check_is_fitted

from metarec import pipelines
from metarec.errors import MetaRecError


@pytest.fixture(scope="module")
def mixed() -> tuple[pd.DataFrame, pd.Series]:
    """Numeric and categorical columns, both with missing values, and an unseen-later category."""
    rng = np.random.default_rng(0)
    n = 150
    X = pd.DataFrame({"a": rng.normal(size=n), "b": rng.normal(size=n)})
    X["colour"] = pd.Categorical(rng.choice(["red", "green", "blue"], size=n))
    X.loc[rng.random(n) < 0.15, "a"] = np.nan
    X.loc[rng.random(n) < 0.15, "colour"] = np.nan
    y = pd.Series(np.where(X["b"] > 0, "pos", "neg"), name="y").astype("category")
    return X, y


@pytest.mark.parametrize("imputer", sorted(pipelines.IMPUTERS))
def test_every_imputer_fits_and_predicts_with_missing_values(imputer, mixed):
    X, y = mixed
    algorithm = "lightgbm" if imputer == "native" else "logistic_regression"
    pipe = pipelines.build({"algorithm": algorithm, "imputer": imputer})
    assert isinstance(pipe, Pipeline)
    with pytest.raises(NotFittedError):
        check_is_fitted(pipe)
    pipe.fit(X, y)
    unseen = X.head(5).copy()
    unseen["colour"] = pd.Categorical(["purple"] * 5)  # a category never seen in training
    assert set(pipe.predict(unseen)) <= set(y.cat.categories)
    assert pipe.score(X, y) > 0.8


def test_native_imputation_also_works_for_hist_gradient_boosting(mixed):
    X, y = mixed
    pipe = pipelines.build({"algorithm": "hist_gradient_boosting", "imputer": "native"}).fit(X, y)
    assert pipe.score(X, y) > 0.8


def test_imputer_given_with_params_reaches_the_estimator():
    imputer = {"name": "knn", "params": {"n_neighbors": 3}}
    pipe = pipelines.build({"algorithm": "svm", "imputer": imputer})
    numeric = pipe.named_steps["columns"].transformers[0][1]
    assert numeric.named_steps["impute"].n_neighbors == 3


@pytest.mark.parametrize(
    ("imputer", "algorithm", "cat_imputer", "encoder", "params"),
    [
        ("mean", "random_forest", "most_frequent", "onehot", {"strategy": "mean"}),
        ("constant", "random_forest", "constant", "onehot",
         {"strategy": "constant", "fill_value": 0.0, "add_indicator": True}),
        ("native", "lightgbm", "native", "ordinal", {}),
        ("iterative", "svm", "most_frequent", "onehot",
         {"max_iter": 10, "sample_posterior": False}),
    ],
)
def test_categorical_companion_is_recorded_in_the_spec(imputer, algorithm, cat_imputer, encoder,
                                                       params):
    spec = pipelines.normalize_spec({"algorithm": algorithm, "imputer": imputer})
    assert spec["categorical"]["imputer"] == cat_imputer
    assert spec["categorical"]["encoder"] == encoder
    assert spec["imputer"]["params"] == params


def test_constant_imputer_adds_a_missing_indicator(mixed):
    X, y = mixed
    pipe = pipelines.build({"algorithm": "random_forest", "imputer": "constant"}).fit(X, y)
    names = list(pipe.named_steps["columns"].get_feature_names_out())
    assert any(name.startswith("missingindicator") for name in names)


@pytest.mark.parametrize(
    "spec",
    [
        {"algorithm": "no_such_model"},
        {"algorithm": "random_forest", "imputer": "native"},
        {"algorithm": "random_forest", "imputer": "magic"},
        {"algorithm": "logistic_regression", "task": "regression"},
        {"algorithm": "svm", "scaler": "nope"},
        {"algorithm": "svm", "feature_preprocessor": {"name": "nope"}},
    ],
)
def test_bad_specs_raise_one_clear_error(spec):
    with pytest.raises(MetaRecError) as info:
        pipelines.build(spec)
    assert str(info.value).endswith(".")


def test_one_vs_rest_reproduces_old_multiclass_liblinear():
    rng = np.random.default_rng(1)
    X = pd.DataFrame(rng.normal(size=(90, 3)), columns=list("abc"))
    y = pd.Series(np.repeat(["x", "y", "z"], 30)).astype("category")
    spec = {"algorithm": "logistic_regression", "one_vs_rest": True,
            "hyperparameters": {"solver": "liblinear", "l1_ratio": 1.0}}
    pipe = pipelines.build(spec).fit(X, y)
    assert len(pipe.named_steps["model"].estimators_) == 3


def test_regression_pipeline_with_feature_preprocessor():
    rng = np.random.default_rng(2)
    X = pd.DataFrame(rng.normal(size=(80, 5)), columns=list("abcde"))
    y = X["a"] * 3 + rng.normal(scale=0.1, size=80)
    spec = {"task": "regression", "algorithm": "random_forest",
            "hyperparameters": {"n_estimators": 20},
            "feature_preprocessor": {"name": "select_percentile",
                                     "params": {"score_func": "f_regression", "percentile": 40}}}
    pipe = pipelines.build(spec).fit(X, y)
    assert pipe.score(X, y) > 0.8
    assert pipe.named_steps["features"].get_support().sum() == 2


def test_feature_agglomeration_never_asks_for_more_clusters_than_features(mixed):
    X, y = mixed
    spec = {"algorithm": "gaussian_nb",
            "feature_preprocessor": {"name": "feature_agglomeration",
                                     "params": {"n_clusters": 50, "pooling_func": "max"}}}
    pipe = pipelines.build(spec).fit(X, y)
    assert pipe.named_steps["features"].n_clusters == 50
    assert pipe.named_steps["features"].labels_.max() < X.shape[1] + 3


def test_qda_fits_classes_with_fewer_rows_than_features():
    # 8 rows per class, 12 features: unregularised QDA cannot estimate a class covariance; a
    # reg_param from the knowledge base or the search space must make it fit, as it did when
    # the runs were made.
    rng = np.random.default_rng(0)
    X = pd.DataFrame(rng.normal(size=(24, 12)), columns=[f"f{i}" for i in range(12)])
    y = np.repeat([0, 1, 2], 8)
    X.loc[y == 1, "f0"] += 3.0
    spec = {"task": "classification", "algorithm": "qda", "hyperparameters": {"reg_param": 0.5}}
    model = pipelines.build(spec).fit(X, y)
    assert model.score(X, y) > 0.9
    proba = model.predict_proba(X)
    assert np.isfinite(proba).all() and np.allclose(proba.sum(1), 1.0)


@pytest.mark.parametrize("task", ["classification", "regression"])
def test_lightgbm_fits_on_one_thread_unless_told_otherwise(task):
    # LightGBM's own default takes every core whatever OMP_NUM_THREADS says.
    default = pipelines.build({"task": task, "algorithm": "lightgbm"})
    assert default.named_steps["model"].get_params()["n_jobs"] == 1
    chosen = pipelines.build({"task": task, "algorithm": "lightgbm",
                              "hyperparameters": {"n_jobs": 4}})
    assert chosen.named_steps["model"].get_params()["n_jobs"] == 4


def test_an_svm_that_does_not_converge_stops_at_the_iteration_bound(slow_svm):
    X, y, spec = slow_svm
    bound = pipelines.ITERATION_BOUNDS["svm"]["max_iter"]
    started = time.perf_counter()
    model = pipelines.build(spec).fit(X, y)
    assert model.named_steps["model"].n_iter_[0] == bound  # stopped by the bound, not converged
    assert time.perf_counter() - started < 60  # about 1 s; unbounded it runs on


@pytest.mark.parametrize("given, built", [(None, 1_000_000), (-1, 1_000_000), (500, 500),
                                          (10**9, 1_000_000)])
def test_every_svm_built_carries_the_iteration_bound(given, built):
    hyperparameters = {} if given is None else {"max_iter": given}
    for task in ("classification", "regression"):
        spec = {"task": task, "algorithm": "svm", "hyperparameters": hyperparameters}
        assert pipelines.build(spec).named_steps["model"].max_iter == built
    # The estimator inside a feature selector is built the same way.
    spec = {"task": "classification", "algorithm": "gaussian_nb", "feature_preprocessor": {
        "name": "select_from_model", "params": {"estimator": {
            "algorithm": "svm", "hyperparameters": {"kernel": "linear", **hyperparameters}}}}}
    assert pipelines.build(spec).named_steps["features"].estimator.max_iter == built
