"""Imputer pipelines under bad input, the campaign's scoring, and the imputer recommender."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pandas as pd
import pytest

from metarec.imputation import (
    ImputationError,
    ImputerSelector,
    estimator_family,
    hit_table,
    recommend_imputer,
)
from metarec.imputation.probe import FAMILY_ESTIMATORS, configurations
from metarec.io import split_target
from metarec.pipelines import IMPUTERS, build

# Small estimators keep the pipeline tests fast; the imputation steps are the ones under test.
FAST = {"random_forest": {"n_estimators": 5, "n_jobs": 1},
        "lightgbm": {"n_estimators": 5, "n_jobs": 1},
        "logistic_regression": {"max_iter": 200}, "ard_regression": {}}


def _mixed(n: int, seed: int) -> tuple[pd.DataFrame, pd.Series]:
    rng = np.random.default_rng(seed)
    X = pd.DataFrame(rng.standard_normal((n, 4)), columns=["a", "b", "c", "d"])
    X["colour"] = pd.Categorical(rng.choice(["red", "green", "blue"], n))
    y = pd.Series(np.where(X["a"] + X["b"] > 0, "yes", "no"), dtype="category")
    return X, y


def _specs(task: str) -> list[dict]:
    out = []
    for _family, _imputer, spec in configurations(task):
        out.append({**spec, "hyperparameters": FAST[spec["algorithm"]]})
    return out


def test_registry_has_the_required_imputers() -> None:
    assert {"mean", "median", "most_frequent", "constant", "knn", "iterative",
            "native"} <= set(IMPUTERS)
    assert IMPUTERS["constant"]["add_indicator"] is True


@pytest.mark.parametrize("task", ["classification", "regression"])
def test_missing_values_only_at_predict_time(task: str) -> None:
    X, y = _mixed(120, 0)
    if task == "regression":
        y = X["a"] * 2.0 + X["c"]
    X_new = X.iloc[:20].copy()
    X_new.iloc[::2, 0] = np.nan
    X_new.iloc[1::3, 2] = np.nan
    X_new.loc[X_new.index[::4], "colour"] = np.nan
    for spec in _specs(task):
        model = build(spec).fit(X, y)  # fitted on complete data
        pred = model.predict(X_new)
        assert len(pred) == len(X_new), spec["imputer"]
        if task == "regression":
            assert np.isfinite(pred).all(), spec


def test_all_missing_column_is_survived_by_every_pipeline() -> None:
    X, y = _mixed(120, 1)
    X["empty"] = np.nan
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # scikit-learn warns that it drops the empty column
        for spec in _specs("classification"):
            model = build(spec).fit(X, y)
            assert len(model.predict(X.iloc[:5])) == 5, spec["imputer"]


def test_missing_target_rows_are_dropped_and_counted() -> None:
    X, y = _mixed(50, 2)
    frame = X.assign(target=y.astype(object))
    frame.loc[[3, 7, 9], "target"] = None
    data = split_target(frame, "target")
    assert len(data.y) == 47 and data.y.notna().all()
    assert any("dropped 3 row(s)" in note for note in data.notes)


def test_campaign_finds_the_clearly_right_imputer() -> None:
    from metarec.imputation.probe import cross_validate_imputers

    # The only signal is *whether* a value is missing: only the constant imputer's missing
    # indicator lets a linear model see it, so it must win by a wide margin.
    rng = np.random.default_rng(0)
    n = 240
    y = pd.Series(rng.integers(0, 2, n)).map({0: "no", 1: "yes"}).astype("category")
    X = pd.DataFrame(rng.standard_normal((n, 3)), columns=["a", "b", "c"])
    X.loc[y.to_numpy() == "yes", "a"] = np.nan
    runs = pd.DataFrame(cross_validate_imputers(X, y, "classification", n_folds=3, n_jobs=1,
                                                families=("linear",)))
    perf = runs.assign(config="linear:" + runs["imputer"]).set_index("config")["value"]
    assert perf.idxmax() == "linear:constant"
    assert perf["linear:constant"] > 0.95 and perf["linear:mean"] < 0.8
    hits = hit_table(perf.to_frame("d").T)
    assert hits.loc["d", "linear:constant"] == 1 and hits.loc["d", "linear:mean"] == 0


def test_campaign_configurations_offer_native_only_to_nan_handling_estimators() -> None:
    for task in ("classification", "regression"):
        natives = [fam for fam, imp, _ in configurations(task) if imp == "native"]
        assert natives == ["lightgbm"]
    assert set(FAMILY_ESTIMATORS) == {"linear", "random_forest", "lightgbm"}


# ------------------------------------------------------------------------------- recommender


def test_selector_learns_a_clear_rule_on_held_out_datasets(synthetic_imputation_kb) -> None:
    mf, perf = synthetic_imputation_kb()
    selector = ImputerSelector(n_members=2, inner_folds=3).fit(mf.iloc[:70], perf.iloc[:70])
    test = mf.iloc[70:]
    pred = selector.predict(test)
    truth = np.where(test["MeanMissingPredictability"] > 0.5, "iterative", "mean")
    chosen = pred[[c for c in pred.columns if c.startswith("linear:")]].idxmax(axis=1)
    accuracy = (chosen.str.split(":").str[1].to_numpy() == truth).mean()
    always_mean = (truth == "mean").mean()
    assert accuracy >= 0.9 and accuracy > always_mean
    assert selector.chosen_ in ("knn", "gbm", "blend", "single_best")
    assert selector.selection_.loc["single_best", "hit_rate"] < selector.selection_[
        "hit_rate"].max()


def test_recommendation_ranks_and_stores_as_json(tmp_path, synthetic_imputation_kb) -> None:
    mf, perf = synthetic_imputation_kb()
    selector = ImputerSelector(model="gbm", n_members=2).fit(mf, perf)
    row = mf.iloc[0]
    expected = "iterative" if row["MeanMissingPredictability"] > 0.5 else "mean"
    ranked = recommend_imputer(row, "linear", model=selector)
    assert ranked[0]["imputer"] == expected and ranked[0]["needed"] is True
    assert [r["rank"] for r in ranked] == list(range(1, len(ranked) + 1))
    assert all(r["uncertainty"] >= 0 for r in ranked)
    assert "native" not in {r["imputer"] for r in ranked}  # not for a linear model
    assert "native" in {r["imputer"] for r in recommend_imputer(row, "lightgbm", model=selector)}
    # stored without pickle: plain JSON with LightGBM's text model inside
    path = tmp_path / "model.json"
    selector.save(path)
    assert json.loads(path.read_text())["format"].startswith("metarec-imputer-selector")
    assert path.stat().st_mode & 0o777 == 0o644  # shipped data, readable by all
    assert [p.name for p in tmp_path.iterdir()] == ["model.json"]  # no temporary left
    again = ImputerSelector.load(path)
    pd.testing.assert_frame_equal(again.predict(mf.iloc[:5]), selector.predict(mf.iloc[:5]))


def test_no_imputation_needed_for_complete_data() -> None:
    mf = pd.Series({"MissingValueRate": 0.0, "NumberOfInstances": 100.0})
    for estimator, keep in [(None, "median"), ("logistic_regression", "median"),
                            ("hist_gradient_boosting", "native")]:
        (answer,) = recommend_imputer(mf, estimator)  # needs no trained model
        assert answer["imputer"] == "none" and answer["needed"] is False
        assert answer["pipeline_imputer"] == keep
        build({"task": "classification", "algorithm": estimator or "random_forest",
               "imputer": answer["pipeline_imputer"]})  # a valid spec


def test_estimator_names_map_to_families() -> None:
    assert estimator_family("lightgbm") == "lightgbm"
    assert estimator_family("hist_gradient_boosting") == "lightgbm"
    assert estimator_family("extra_trees") == "random_forest"
    assert estimator_family("svm") == "linear"
    with pytest.raises(ImputationError, match="unknown estimator"):
        estimator_family("deep_forest")


def test_missing_model_is_a_clear_error(tmp_path) -> None:
    with pytest.raises(ImputationError, match="no imputer model"):
        recommend_imputer(pd.Series({"MissingValueRate": 0.1}), model=tmp_path / "none.json")


def test_soft_labels_follow_the_fold_noise() -> None:
    from metarec.imputation import soft_hit_table

    perf = pd.DataFrame({"linear:mean": [0.80], "linear:median": [0.70],
                         "linear:knn": [0.79]}, index=["d"])
    folds = pd.DataFrame({
        "dataset_id": ["d", "d", "d"],
        "config": ["linear:mean", "linear:median", "linear:knn"],
        # knn is level with mean on average but swings from fold to fold
        "folds": [[0.80] * 5, [0.70] * 5, [0.70, 0.88, 0.70, 0.88, 0.79]],
    })
    soft = soft_hit_table(folds, perf, n_boot=300)
    # mean wins this CV, but knn's swings beat it in some resamples: neither label is certain
    assert 0.6 < soft.loc["d", "linear:mean"] < 1.0
    assert 0.1 < soft.loc["d", "linear:knn"] < 0.9
    assert soft.loc["d", "linear:median"] == 0.0  # far behind in every fold
