"""Wide tables (p >> n): pairwise meta-features stay bounded, reading types wide files as narrow
ones, and tuning searches a dimensionality reduction."""

from __future__ import annotations

import tracemalloc
from pathlib import Path

import numpy as np
import optuna
import pandas as pd
import pytest
from threadpoolctl import threadpool_limits

import metafeatures
from metafeatures import landmarking, missingness, statistical
from metafeatures.prepared import prepare
from metarec.errors import DataError
from metarec.io import load_dataset
from metarec.pipelines import build
from metarec.tuning import tune
from metarec.tuning.space import (
    REDUCED_FEATURES_PARAM,
    REDUCTION_PARAM,
    REDUCTIONS,
    build_space,
)

optuna.logging.set_verbosity(optuna.logging.ERROR)


@pytest.fixture(scope="module")
def wide() -> tuple[pd.DataFrame, pd.Series]:
    """50 rows x 3,000 columns: numeric ones (a few constant, some with gaps), 10 nominal."""
    rng = np.random.default_rng(7)
    n, p = 50, 2_990
    values = rng.normal(size=(n, p))
    values[:, :5] = 1.0  # constant: never among the correlated columns
    values[rng.random((n, p)) < 0.02] = np.nan
    X = pd.DataFrame(values, columns=[f"x{i}" for i in range(p)])
    for j in range(10):
        X[f"c{j}"] = pd.Categorical(rng.choice(["a", "b", "c"], n))
    y = pd.Series(np.where(values[:, 5] > 0, "yes", "no"))
    return X, y


def _mean_filled_abs_correlations(values: np.ndarray) -> np.ndarray:
    present = ~np.isnan(values)
    means = np.where(present, values, 0.0).sum(axis=0) / present.sum(axis=0)
    corr = np.corrcoef(np.where(present, values, means), rowvar=False)
    return np.abs(corr[np.triu_indices_from(corr, k=1)])


def test_correlations_of_a_wide_table_use_the_documented_column_sample(wide) -> None:
    X, y = wide
    tracemalloc.start()
    try:
        mf = metafeatures.extract(X, y, groups=["statistical"])
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    # All 4.5 million pairs would need a 72 MB matrix and as much again for their indices.
    assert peak < 40 * 2**20
    numeric = prepare(X, y).numeric
    chosen = statistical.correlation_columns(numeric, random_state=0)
    assert chosen.size == statistical.CORRELATION_MAX_COLUMNS
    assert np.all(np.diff(chosen) > 0) and chosen.min() >= 5  # sorted, no constant column
    upper = _mean_filled_abs_correlations(numeric[:, chosen])
    assert mf["MeanAbsCorrelationOfNumericAtts"] == pytest.approx(upper.mean(), rel=1e-9)
    assert mf["MaxAbsCorrelationOfNumericAtts"] == pytest.approx(upper.max(), rel=1e-9)
    # Seeded: the same sample again, another one for another seed.
    np.testing.assert_array_equal(statistical.correlation_columns(numeric, 0), chosen)
    assert not np.array_equal(statistical.correlation_columns(numeric, 1), chosen)


def test_an_ordinary_table_keeps_exact_correlations() -> None:
    rng = np.random.default_rng(3)
    base = rng.normal(size=(300, 4))
    X = pd.DataFrame(base @ rng.normal(size=(4, 20)) + 0.5 * rng.normal(size=(300, 20)),
                     columns=[f"f{i}" for i in range(20)])
    y = pd.Series(np.where(X["f0"] > 0, "a", "b"))
    mf = metafeatures.extract(X, y, groups=["statistical"])
    corr = X.corr().to_numpy()
    upper = np.abs(corr[np.triu_indices_from(corr, k=1)])
    assert mf["MeanAbsCorrelationOfNumericAtts"] == pytest.approx(upper.mean(), rel=1e-12)
    assert mf["MaxAbsCorrelationOfNumericAtts"] == pytest.approx(upper.max(), rel=1e-12)


def test_landmarkers_of_a_wide_table_see_a_seeded_sample_of_attributes(wide) -> None:
    X, y = wide
    numeric, nominal = landmarking.landmark_attributes(prepare(X, y))
    assert numeric.size + nominal.size == landmarking.MAX_COLUMNS
    again, _ = landmarking.landmark_attributes(prepare(X, y))
    other, _ = landmarking.landmark_attributes(prepare(X, y, random_state=1))
    np.testing.assert_array_equal(numeric, again)
    assert not np.array_equal(numeric, other)
    narrow_numeric, narrow_nominal = landmarking.landmark_attributes(prepare(X.iloc[:, -30:], y))
    assert narrow_numeric is None and narrow_nominal.size == 10  # every attribute
    mf = metafeatures.extract(X, y, groups=["landmarking"])
    assert 0 <= mf["NaiveBayesErrRate"] <= 1


def test_missing_value_predictability_is_the_same_in_column_blocks(monkeypatch) -> None:
    rng = np.random.default_rng(5)
    values = rng.normal(size=(300, 40))
    values[:, 3][values[:, 0] > 0.5] = np.nan  # missing where another column is high
    values[rng.random(values.shape) < 0.05] = np.nan
    X = pd.DataFrame(values, columns=[f"f{i}" for i in range(40)])
    y = pd.Series(rng.choice(["a", "b"], 300))
    whole = metafeatures.extract(X, y, groups=["missingness"])
    monkeypatch.setattr(missingness, "PREDICTABILITY_BLOCK", 7)
    blocked = metafeatures.extract(X, y, groups=["missingness"])
    pd.testing.assert_series_equal(whole, blocked, rtol=1e-12)
    assert whole["MaxMissingPredictability"] > 0.5


def _wide_csv(path: Path, n_columns: int) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(np.round(rng.normal(size=(30, n_columns)), 3),
                         columns=[f"x{i}" for i in range(n_columns)])
    frame["n"] = rng.integers(0, 5, 30)
    frame["t"] = rng.choice(["red", "blue"], 30)
    frame["y"] = rng.choice(["p", "q"], 30)
    frame.to_csv(path, index=False)
    return frame


def test_a_wide_csv_is_typed_like_a_narrow_one(tmp_path: Path) -> None:
    frame = _wide_csv(tmp_path / "wide.csv", 1_500)
    frame[["x0", "x1", "n", "t", "y"]].to_csv(tmp_path / "narrow.csv", index=False)
    wide = load_dataset(tmp_path / "wide.csv", "y")
    narrow = load_dataset(tmp_path / "narrow.csv", "y")
    assert wide.X.shape == (30, 1_502)
    pd.testing.assert_frame_equal(wide.X[["x0", "x1", "n", "t"]], narrow.X)
    pd.testing.assert_series_equal(wide.y, narrow.y)


def test_a_wide_csv_with_bad_columns_is_repaired_and_named(tmp_path: Path) -> None:
    frame = _wide_csv(tmp_path / "wide.csv", 1_500)
    frame["x700"] = np.nan
    frame.loc[3, "x900"] = np.inf
    frame.to_csv(tmp_path / "bad.csv", index=False)
    # the vectorised pass over clean float columns must still send these two to the repairs
    repaired = load_dataset(tmp_path / "bad.csv", "y")
    assert "x700" not in repaired.X.columns and np.isnan(repaired.X.loc[3, "x900"])
    assert len(repaired.notes) == 1
    assert "'x700'" in repaired.notes[0] and "'x900'" in repaired.notes[0]
    with pytest.raises(DataError, match="x700.*x900|x900.*x700"):
        load_dataset(tmp_path / "bad.csv", "y", strict=True)


def test_duplicate_names_in_a_wide_header_are_named(tmp_path: Path) -> None:
    names = [f"x{i}" for i in range(20_000)] + ["x17", "y"]
    (tmp_path / "dup.csv").write_text(",".join(names) + "\n" + ",".join(["1"] * len(names)))
    with pytest.raises(DataError, match="duplicate column names \\('x17'\\)"):
        load_dataset(tmp_path / "dup.csv", "y")


# -- tuning ---------------------------------------------------------------------------------

def test_a_wide_table_searches_a_reduction_and_other_shapes_do_not() -> None:
    wide = build_space("classification", has_missing=False, n_samples=200, n_features=20_000)
    plain = build_space("classification", has_missing=False)
    assert {REDUCTION_PARAM, REDUCED_FEATURES_PARAM} <= set(wide.distributions())
    for shape in ((200, 500), (50_000, 2_000), (None, None)):
        other = build_space("classification", has_missing=False, n_samples=shape[0],
                            n_features=shape[1])
        assert other.distributions() == plain.distributions()
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    for _ in range(20):
        spec = wide.suggest(study.ask())
        reduce = spec["feature_preprocessor"]
        assert reduce["name"] in REDUCTIONS
        if reduce["name"] == "pca":
            assert reduce["params"]["n_components"] <= 100  # half the rows at most
        else:
            assert reduce["params"]["percentile"] * 20_000 / 100 <= 256
    # A recommendation is tried reduced too.
    warm = wide.spec_to_params({"task": "classification", "algorithm": "gradient_boosting",
                                "hyperparameters": {}})
    assert warm[REDUCTION_PARAM] == "pca"
    assert wide.params_to_spec(warm)["feature_preprocessor"]["name"] == "pca"


def test_tune_on_a_wide_table_reduces_every_trial() -> None:
    rng = np.random.default_rng(1)
    X = pd.DataFrame(rng.normal(size=(40, 1_500)), columns=[f"x{i}" for i in range(1_500)])
    y = pd.Series(np.where(X["x0"] + X["x1"] > 0, "yes", "no"))
    recs = [{"rank": i + 1, "algorithm": a, "pipeline": {"task": "classification",
                                                         "algorithm": a, "hyperparameters": hp}}
            for i, (a, hp) in enumerate([("gradient_boosting", {"n_estimators": 20}),
                                         ("logistic_regression", {"C": 1.0})])]
    with threadpool_limits(limits=1):
        study, best = tune(X, y, recs, n_trials=3, cv=2, random_state=0, kb=False)
        pipeline = build(best).fit(X, y)
    complete = [t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE]
    assert len(complete) == 3
    assert all(t.params[REDUCTION_PARAM] in REDUCTIONS for t in complete)
    assert best["feature_preprocessor"]["name"] in REDUCTIONS
    assert pipeline[-1].n_features_in_ <= 20  # 40 rows: at most half as many features


def test_a_header_longer_than_the_sniffing_sample_reads(tmp_path: Path) -> None:
    # 20,000 names of about 7 characters: longer than the sample and than csv's field limit
    names = [f"col{i:05d}" for i in range(20_000)] + ["y"]
    body = "\n".join(",".join([f"{i}.5"] * 20_000 + ["ab"[i % 2]]) for i in range(6))
    (tmp_path / "wide_header.csv").write_text(",".join(names) + "\n" + body + "\n")
    data = load_dataset(tmp_path / "wide_header.csv", "y")
    assert data.X.shape == (6, 20_000) and list(data.X.columns[:2]) == names[:2]
    assert data.target == "y" and data.notes == []
