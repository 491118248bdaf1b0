"""Imputer probes: measured on the dataset itself, they decide the imputer where asked to."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from metarec.imputation import ImputationError, ImputerSelector, probe_key, recommend_imputer
from metarec.imputation.probe import probe


def _predictable_gaps(n: int, seed: int) -> tuple[pd.DataFrame, pd.Series]:
    """Column "a" decides the class and is missing where it is large; "b" predicts it."""
    rng = np.random.default_rng(seed)
    a = rng.standard_normal(n)
    X = pd.DataFrame({"a": a, "b": a + 0.05 * rng.standard_normal(n),
                      "c": rng.standard_normal(n)})
    y = pd.Series(np.where(a > 0, "yes", "no"))
    X.loc[rng.random(n) < 0.4, "a"] = np.nan
    return X, y


def test_probe_scores_every_imputer_of_the_family_on_capped_rows() -> None:
    X, y = _predictable_gaps(400, 0)
    linear = probe(X, y, "classification", "linear", max_rows=150, n_folds=3, random_state=1)
    assert linear.n_rows == 150 and linear.n_folds == 3 and linear.seconds > 0
    assert linear.n_repeats == 2  # two fold assignments, averaged
    # on the same rows, a repeated probe is the mean of single probes with consecutive fold seeds
    small_X, small_y = X.iloc[:150], y.iloc[:150]
    twice = probe(small_X, small_y, "classification", "linear", random_state=1)
    once = probe(small_X, small_y, "classification", "linear", n_repeats=1, random_state=1)
    again = probe(small_X, small_y, "classification", "linear", n_repeats=1, random_state=2)
    for imputer, value in twice.scores.items():
        assert value == pytest.approx((once.scores[imputer] + again.scores[imputer]) / 2)
    assert set(linear.scores) == {"mean", "median", "most_frequent", "constant", "knn",
                                  "iterative"}
    assert all(0.0 <= v <= 1.0 for v in linear.scores.values())
    boosted = probe(X, y, "classification", "lightgbm", max_rows=150, n_folds=3)
    assert "native" in boosted.scores  # only estimators that take NaN get "native"
    assert json.loads(json.dumps(linear.to_dict()))["scores"].keys() == linear.scores.keys()


def test_probe_refuses_what_it_cannot_measure() -> None:
    X, y = _predictable_gaps(100, 0)
    with pytest.raises(ImputationError, match="unknown estimator family"):
        probe(X, y, "classification", "svm")
    y_rare = y.copy()
    y_rare.iloc[:2] = "rare"
    with pytest.raises(ImputationError, match="smallest class has 2 rows"):
        probe(X, y_rare, "classification", "linear", n_folds=3)
    with pytest.raises(ImputationError, match="n_repeats"):
        probe(X, y, "classification", "linear", n_repeats=0)


def test_probe_key_lets_the_model_order_only_the_near_ties() -> None:
    model = np.array([0.9, 0.1, 0.5, 0.8])
    measured = np.array([0.800, 0.803, 0.799, 0.700])
    order = np.argsort(-probe_key(model, measured, band=0.005))
    # 0, 1 and 2 are within 0.005 of the best probe: the model orders them; 3 is clearly worse
    assert list(order) == [0, 2, 1, 3]
    assert list(np.argsort(-probe_key(model, measured, band=0.0))) == [1, 0, 2, 3]
    failed = np.array([np.nan, 0.7, 0.6, np.nan])
    assert list(np.argsort(-probe_key(model, failed, band=0.0), kind="stable"))[:2] == [1, 2]
    assert np.array_equal(probe_key(model, np.full(4, np.nan)), model)


def test_a_probe_overrides_the_meta_feature_model(synthetic_imputation_kb) -> None:
    mf, perf = synthetic_imputation_kb()
    selector = ImputerSelector(model="gbm", n_members=2).fit(mf, perf)
    row = mf.iloc[0]
    unaided = recommend_imputer(row, "linear", model=selector)
    last = unaided[-1]["imputer"]
    measured = {entry["imputer"]: 0.6 for entry in unaided}
    measured[last] = 0.7
    probed = recommend_imputer(row, "linear", model=selector, probe=measured)
    assert probed[0]["imputer"] == last and probed[0]["probe_score"] == 0.7
    assert unaided[0]["probe_score"] is None
    with pytest.raises(ImputationError, match="name the family"):
        selector.rank(row, None, probe=measured)


@pytest.mark.parametrize("name", ["probes.parquet", "probes_seed9.parquet", "retest.parquet"])
def test_committed_probe_tables_remeasure_every_campaign_pipeline_on_other_folds(
        name: str) -> None:
    from metarec.imputation import campaign_dir, campaign_tables

    KB_DIR = campaign_dir()

    _mf, perf, _groups = campaign_tables(KB_DIR)
    table = pd.read_parquet(KB_DIR / name)
    assert (table["seed"] != 0).all()  # the campaign's labels used fold seed 0
    measured = set(table["dataset_id"] + "|" + table["family"] + ":" + table["imputer"])
    ran = perf.stack().index  # (dataset, configuration) pairs with a campaign score
    assert {f"{d}|{c}" for d, c in ran} <= measured
    assert table["value"].notna().mean() > 0.95


def test_wide_data_is_probed_on_its_incomplete_columns_first() -> None:
    from metarec.imputation.probe import cap_features

    rng = np.random.default_rng(0)
    X = pd.DataFrame(rng.standard_normal((60, 80)), columns=[f"x{i}" for i in range(80)])
    X.iloc[::3, [5, 40, 77]] = np.nan
    capped = cap_features(X, 30, seed=0)
    assert capped.shape == (60, 30) and {"x5", "x40", "x77"} <= set(capped.columns)
    assert list(capped.columns) == [c for c in X.columns if c in set(capped.columns)]
    y = pd.Series(np.where(X["x0"].fillna(0) > 0, "a", "b"))
    assert probe(X, y, "classification", "linear", n_repeats=1).n_features == 30
    assert cap_features(X.iloc[:, :10], 30, seed=0).shape[1] == 10


def test_a_probe_keeps_to_its_budget_and_names_what_it_left_out(monkeypatch) -> None:
    import time

    from metarec.imputation import probe as probe_module

    X, y = _predictable_gaps(200, 0)
    real_fit = probe_module._fit_fold
    durations: list[float] = []

    def slow_fit(*args, **kwargs):
        started = time.perf_counter()
        time.sleep(0.05)  # every fit costs at least this, so the budget bites predictably
        try:
            return real_fit(*args, **kwargs)
        finally:
            durations.append(time.perf_counter() - started)

    monkeypatch.setattr(probe_module, "_fit_fold", slow_fit)
    full = probe(X, y, "classification", "linear", budget_s=None)
    assert full.not_measured == [] and len(full.scores) == 6
    durations.clear()
    cut = probe(X, y, "classification", "linear", budget_s=1.0)
    # cheapest first; everything after the first imputer without time is left out
    measured = [i for i in probe_module.BUDGET_ORDER if i in full.scores]
    assert cut.not_measured and measured == list(cut.scores) + cut.not_measured
    assert list(cut.scores) == measured[:len(cut.scores)]
    for imputer, value in cut.scores.items():
        assert value == pytest.approx(full.scores[imputer])  # measured ones are complete
    # no fit starts once the longest so far would pass the budget: it is passed by one fit
    assert cut.seconds <= 1.0 + max(durations) + 0.05
    payload = cut.to_dict()
    assert payload["not_measured"] == cut.not_measured and payload["budget_s"] == 1.0
    with pytest.raises(ImputationError, match="`budget_s`"):
        probe(X, y, "classification", "linear", budget_s=0)


def test_a_probe_that_cannot_tell_imputers_apart_says_so() -> None:
    from metarec.imputation.probe import ProbeResult

    def result(scores: dict[str, float]) -> ProbeResult:
        return ProbeResult("linear", scores, 100, 3, 3, 2, 1.0)

    assert result({"mean": 0.801, "median": 0.803, "knn": 0.8}).inconclusive(band=0.005)
    assert not result({"mean": 0.80, "median": 0.81}).inconclusive(band=0.005)
    assert not result({"mean": 0.80}).inconclusive(band=0.005)  # one imputer: nothing to tie
    assert result({"mean": 0.801, "median": 0.803}).to_dict()["inconclusive"]
