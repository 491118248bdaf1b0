"""Fit cost: the power-law model over recorded fit times, the knowledge base's runtime table, and
the order in which the untuned choice fits recommendations."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from metarec.kb import store
from metarec.kb.queries import fit_cost_inputs, size_measures
from metarec.metalearner import FitCostModel
from metarec.tuning.search import COST_RATIO, MIN_COSTLY_SECONDS, SCORE_SLIVER, affordable_order


def _sizes(n: int = 40, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame({"rows": rng.integers(100, 2000, n), "features": rng.integers(5, 50, n),
                         "classes": rng.integers(2, 6, n)},
                        index=[f"d{i}" for i in range(n)]).astype(float)


def _quadratic(sizes: pd.DataFrame) -> pd.Series:
    return 1e-7 * sizes["rows"] ** 2 * sizes["features"]


def test_the_power_law_is_recovered_and_extrapolates_to_larger_tables() -> None:
    sizes = _sizes()
    noise = np.exp(np.random.default_rng(1).normal(0, 0.05, len(sizes)))
    times = pd.DataFrame({"quad": _quadratic(sizes) * noise,
                          "sqrt": 1e-3 * sizes["rows"] ** 0.5 * noise})
    model = FitCostModel().fit(sizes, times)
    query = pd.DataFrame({"rows": [20_000.0, 150.0], "features": [40.0, 8.0],
                          "classes": [3.0, 2.0]})
    predicted = model.predict(query)
    assert list(predicted.columns) == ["quad", "sqrt"]
    # Ten times more rows than any dataset it learned from.
    np.testing.assert_allclose(predicted["quad"], _quadratic(query), rtol=0.2)
    np.testing.assert_allclose(predicted["sqrt"], 1e-3 * query["rows"] ** 0.5, rtol=0.2)


def test_neighbours_carry_what_the_sizes_do_not_explain() -> None:
    sizes = _sizes(60)
    slow = sizes["rows"] < 400  # e.g. a family of datasets with a costly structure
    times = pd.DataFrame({"quad": _quadratic(sizes) * np.where(slow, 4.0, 1.0)})
    query = pd.DataFrame({"rows": [200.0, 1500.0], "features": [20.0, 20.0],
                          "classes": [3.0, 3.0]})
    truth = _quadratic(query).to_numpy() * [4.0, 1.0]
    local = FitCostModel(n_neighbors=5).fit(sizes, times).predict(query)["quad"].to_numpy()
    law_only = FitCostModel(n_neighbors=0).fit(sizes, times).predict(query)["quad"].to_numpy()
    assert np.all(np.abs(np.log10(local / truth)) < 0.15)
    assert np.all(np.abs(np.log10(local / truth)) < np.abs(np.log10(law_only / truth)))


def test_thinly_run_configurations_and_constant_sizes() -> None:
    sizes = _sizes(12).assign(classes=2.0)  # every dataset binary
    times = pd.DataFrame({"quad": _quadratic(sizes), "rare": np.nan}, index=sizes.index)
    times.iloc[:3, 1] = 1.0  # run on three datasets only
    model = FitCostModel(min_datasets=5).fit(sizes, times)
    query = pd.DataFrame({"rows": [500.0, 500.0], "features": [10.0, 10.0],
                          "classes": [2.0, 10.0]})
    predicted = model.predict(query)
    assert predicted["rare"].isna().all()
    # Classes never varied: they cannot change the prediction.
    assert predicted["quad"].iloc[0] == pytest.approx(predicted["quad"].iloc[1])
    assert predicted["quad"].iloc[0] == pytest.approx(_quadratic(query).iloc[0], rel=0.05)


def test_size_measures_follow_openmls_qualities() -> None:
    profile = pd.Series({"NumberOfInstances": 898.0, "NumberOfFeatures": 39.0,
                         "NumberOfClasses": np.nan})
    assert size_measures(profile) == {"rows": 898.0, "features": 39.0, "classes": 1.0}


def test_fit_times_are_the_configurations_own_sources(tmp_path, kb_manifest) -> None:
    ids = ["openml-1", "openml-2", "openml-3"]
    datasets = pd.DataFrame({
        "dataset_id": ids, "name": ids, "source": "oboe", "openml_did": [1, 2, 3],
        "openml_task_id": pd.NA, "task_type": "classification", "n_instances": [100, 200, pd.NA],
        "n_features": [5, 6, 7], "n_classes": [2, pd.NA, 3], "has_missing": False,
        "id_mapping": "test"})
    configs = pd.DataFrame({
        "configuration_id": ["oboe-a", "oboe-reg"], "source": "oboe",
        "task_type": ["classification", "regression"], "algorithm": "gaussian_nb",
        "imputer": "mean", "hyperparameters": "{}", "original": "{}", "translation": "",
        "spec": json.dumps({"algorithm": "gaussian_nb"})})
    run = {"openml_task_id": pd.NA, "metric": "balanced_error_rate", "value": 0.1,
           "higher_is_better": False}
    runs = pd.DataFrame([
        {**run, "dataset_id": "openml-1", "configuration_id": "oboe-a", "runtime_s": 2.0,
         "source": "oboe"},
        {**run, "dataset_id": "openml-1", "configuration_id": "oboe-a", "runtime_s": 4.0,
         "source": "oboe"},
        # `kb add` times a whole cross-validation on another machine: not one fit.
        {**run, "dataset_id": "openml-2", "configuration_id": "oboe-a", "runtime_s": 50.0,
         "source": "local"},
        {**run, "dataset_id": "openml-3", "configuration_id": "oboe-a", "runtime_s": 1.0,
         "source": "oboe"},
        {**run, "dataset_id": "openml-2", "configuration_id": "oboe-reg", "runtime_s": 9.0,
         "source": "oboe"},
    ])
    metafeatures = pd.DataFrame({"dataset_id": "openml-3", "quality": "NumberOfInstances",
                                 "value": [300.0], "origin": "openml", "source": "oboe"})
    store.write({"datasets": datasets, "configurations": configs, "runs": runs,
                 "metafeatures": metafeatures}, kb_manifest(), tmp_path / "kb")
    sizes, times = fit_cost_inputs(store.load(tmp_path / "kb"), "classification")
    assert list(times.columns) == ["oboe-a"]
    assert times["oboe-a"].to_dict() == {"openml-1": 3.0, "openml-3": 1.0}
    # Rows from the datasets table, else the stored quality; a missing class count is 1.
    assert sizes.loc["openml-3"].to_dict() == {"rows": 300.0, "features": 7.0, "classes": 3.0}
    assert sizes.loc["openml-1"].to_dict() == {"rows": 100.0, "features": 5.0, "classes": 2.0}


# -- the untuned choice ------------------------------------------------------------------------
def _rec(rank: int, algorithm: str, score: float, seconds: float | None) -> dict:
    return {"rank": rank, "algorithm": algorithm, "predicted_score": score,
            "predicted_fit_seconds": seconds,
            "pipeline": {"task": "classification", "algorithm": algorithm}}


def test_a_costly_top_pick_for_a_sliver_of_score_is_not_fitted_first() -> None:
    top = _rec(1, "svm", 0.870, 300.0)
    close = _rec(2, "lightgbm", 0.870 - 0.5 * SCORE_SLIVER * 0.870, 300.0 / COST_RATIO)
    ordered, notes = affordable_order([top, _rec(2, "mlp", 0.5, 0.01), close])
    assert [r["algorithm"] for r in ordered] == ["lightgbm", "svm", "mlp"]
    assert len(notes) == 1 and "svm" in notes[0] and "lightgbm" in notes[0]
    assert "100x" in notes[0]


@pytest.mark.parametrize("top_seconds, other_seconds, other_score", [
    (300.0, 300.0 / COST_RATIO * 1.5, 0.869),   # not COST_RATIO times faster
    (300.0, 1.0, 0.870 * (1 - 2 * SCORE_SLIVER)),  # more than a sliver worse
    (MIN_COSTLY_SECONDS / 2, 0.0001, 0.869),    # the top pick is cheap anyway
    (300.0, None, 0.869),                       # no predicted time
    (None, 1.0, 0.869),
])
def test_the_ranking_order_stands_otherwise(top_seconds, other_seconds, other_score) -> None:
    recs = [_rec(1, "svm", 0.870, top_seconds), _rec(2, "lightgbm", other_score, other_seconds)]
    assert affordable_order(recs) == (recs, [])


def test_the_estimator_fits_the_affordable_pick_and_says_why(monkeypatch, synthetic_dataset):
    from metarec import MetaRecClassifier
    from metarec.recommend import Recommended
    from metarec.tuning import search as orchestration

    recs = [_rec(1, "svm", 0.870, 500.0), _rec(2, "gaussian_nb", 0.866, 0.5)]
    monkeypatch.setattr(orchestration, "recommendations_for",
                        lambda *a, **k: Recommended(recs, "meta-learner"))
    X, y = synthetic_dataset(80, 3, seed=0)
    model = MetaRecClassifier(random_state=0).fit(X, y)
    assert model.best_spec_["algorithm"] == "gaussian_nb"
    assert len(model.notes_) == 1 and "1000x" in model.notes_[0]
    monkeypatch.setattr(orchestration, "recommendations_for",
                        lambda *a, **k: Recommended(recs[::-1], "meta-learner"))
    assert MetaRecClassifier(random_state=0).fit(X, y).notes_ == []
