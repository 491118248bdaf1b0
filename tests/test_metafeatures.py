"""Meta-feature definitions checked against values worked out by hand or by pandas/scipy."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy import stats

import metafeatures
from metafeatures import MetaFeatureError


@pytest.fixture
def mixed() -> tuple[pd.DataFrame, pd.Series]:
    rng = np.random.default_rng(1)
    n = 200
    X = pd.DataFrame(
        {
            "u": rng.normal(size=n),
            "v": rng.exponential(size=n),
            "w": rng.uniform(size=n),
            "c": pd.Categorical(rng.choice(["a", "b", "c"], n)),
            "d": pd.Categorical(rng.choice(["p", "q"], n)),
        }
    )
    y = pd.Series(pd.Categorical(np.where(X["u"] > 0, "pos", "neg")))
    return X, y


def test_counts_follow_openml_which_counts_the_target(mixed) -> None:
    X, y = mixed
    mf = metafeatures.extract(X, y, groups=["simple"])
    assert mf["NumberOfInstances"] == 200
    assert mf["NumberOfFeatures"] == 6  # 5 inputs + the target
    assert mf["NumberOfNumericFeatures"] == 3
    assert mf["NumberOfSymbolicFeatures"] == 3  # c, d and the nominal target
    assert mf["NumberOfBinaryFeatures"] == 2  # d and the target
    assert mf["Dimensionality"] == pytest.approx(6 / 200)
    assert mf["NumberOfClasses"] == 2
    assert mf["MajorityClassSize"] + mf["MinorityClassSize"] == 200


def test_moments_match_pandas_bias_corrected_estimators(mixed) -> None:
    X, y = mixed
    mf = metafeatures.extract(X, y, groups=["statistical"])
    numeric = X[["u", "v", "w"]]
    assert mf["MaxSkewnessOfNumericAtts"] == pytest.approx(numeric.skew().max())
    assert mf["MinKurtosisOfNumericAtts"] == pytest.approx(numeric.kurt().min())
    assert mf["MeanStdDevOfNumericAtts"] == pytest.approx(numeric.std().mean())
    expected_q1 = np.percentile(numeric.mean(), 25, method="weibull")
    assert mf["Quartile1MeansOfNumericAtts"] == pytest.approx(expected_q1)


def test_moments_ignore_missing_values() -> None:
    values = np.array([1.0, 2.0, np.nan, 4.0, 8.0, np.nan, 3.0])
    X = pd.DataFrame({"a": values})
    y = pd.Series(["p", "q"] * 3 + ["p"])
    mf = metafeatures.extract(X, y, groups=["statistical"])
    present = values[~np.isnan(values)]
    assert mf["MeanSkewnessOfNumericAtts"] == pytest.approx(stats.skew(present, bias=False))
    assert mf["MeanKurtosisOfNumericAtts"] == pytest.approx(stats.kurtosis(present, bias=False))


def test_entropy_and_mutual_information_in_bits() -> None:
    y = pd.Series(pd.Categorical(["a", "a", "b", "b"]))
    X = pd.DataFrame(
        {
            "same": pd.Categorical(["x", "x", "z", "z"]),
            "noise": pd.Categorical(["m", "n", "m", "n"]),
        }
    )
    mf = metafeatures.extract(X, y, groups=["info-theory"])
    assert mf["ClassEntropy"] == pytest.approx(1.0)
    assert mf["MaxMutualInformation"] == pytest.approx(1.0)  # 'same' determines the class
    assert mf["MinMutualInformation"] == pytest.approx(0.0)
    assert mf["MeanAttributeEntropy"] == pytest.approx(1.0)
    assert mf["EquivalentNumberOfAtts"] == pytest.approx(1.0 / 0.5)
    assert mf["MeanNoiseToSignalRatio"] == pytest.approx((1.0 - 0.5) / 0.5)


def test_missing_nominal_values_take_the_mode_like_openml() -> None:
    # OpenML's entropies run after Weka's ReplaceMissingValues (mode for nominal attributes).
    X = pd.DataFrame({"c": pd.Categorical(["a", "a", None, "b"])})
    y = pd.Series(pd.Categorical(["p", "q", "p", "q"]))
    mf = metafeatures.extract(X, y, groups=["info-theory"])
    p = np.array([3, 1]) / 4
    assert mf["MeanAttributeEntropy"] == pytest.approx(-(p * np.log2(p)).sum())


def test_undefined_values_are_nan_not_errors() -> None:
    y = pd.Series(np.linspace(0, 1, 30) ** 2)
    X = pd.DataFrame({"c": pd.Categorical(["a", "b", "c"] * 10)})
    mf = metafeatures.extract(X, y, task="regression")
    assert np.isnan(mf["ClassEntropy"])
    assert np.isnan(mf["MeanSkewnessOfNumericAtts"])
    assert np.isnan(mf["MeanMutualInformation"])
    assert np.isnan(mf["NumberOfClasses"])
    assert mf["NumberOfSymbolicFeatures"] == 1
    assert np.isfinite(mf["DecisionStumpR2"])


def test_constant_and_all_missing_columns_give_nan_moments() -> None:
    X = pd.DataFrame({"k": [3.0] * 10, "gone": [np.nan] * 10})
    y = pd.Series(["a", "b"] * 5)
    mf = metafeatures.extract(X, y, groups=["statistical"])
    assert np.isnan(mf["MaxSkewnessOfNumericAtts"])
    assert mf["MeanMeansOfNumericAtts"] == pytest.approx(3.0)


def test_missingness_rates_and_target_association() -> None:
    rng = np.random.default_rng(0)
    n = 2000
    y = pd.Series(pd.Categorical(rng.choice(["a", "b"], n)))
    x = rng.normal(size=n)
    random_gaps = np.where(rng.uniform(size=n) < 0.2, np.nan, x)
    target_gaps = np.where((y == "a").to_numpy() & (rng.uniform(size=n) < 0.4), np.nan, x)
    mcar = metafeatures.extract(pd.DataFrame({"x": random_gaps, "z": x}), y, groups=["missingness"])
    mnar = metafeatures.extract(pd.DataFrame({"x": target_gaps, "z": x}), y, groups=["missingness"])
    assert mcar["MissingValueRate"] == pytest.approx(np.isnan(random_gaps).mean() / 2)
    assert mcar["ColumnsWithMissingRate"] == pytest.approx(0.5)
    assert mcar["MissingPatternCount"] == 2
    assert mnar["MaxMissingTargetAssociation"] > 5 * mcar["MaxMissingTargetAssociation"]


def test_complete_data_has_no_missingness() -> None:
    X = pd.DataFrame({"a": [1.0, 2.0, 3.0, 4.0]})
    mf = metafeatures.extract(X, pd.Series(["p", "q", "p", "q"]), groups=["missingness"])
    assert mf["MissingValueRate"] == 0
    assert mf["MissingPatternCount"] == 1


def test_landmarkers_see_signal(mixed) -> None:
    X, y = mixed
    mf = metafeatures.extract(X, y, groups=["landmarking"])
    assert mf["DecisionStumpErrRate"] < 0.1  # the class is a threshold on u
    assert mf["DecisionStumpAUC"] > 0.9
    assert 0 <= mf["NaiveBayesErrRate"] <= 1


@pytest.mark.parametrize("extra_rows", [1, 5, 1000])
def test_landmarkers_sample_a_table_just_over_their_sample_size(extra_rows: int) -> None:
    # 5,001 rows of six classes leave one row aside: too few for a stratified split
    from metafeatures.landmarking import SAMPLE_ROWS

    rng = np.random.default_rng(0)
    n = SAMPLE_ROWS + extra_rows
    y = pd.Series(rng.integers(0, 6, size=n))
    X = pd.DataFrame({"signal": y + rng.normal(scale=0.1, size=n), "noise": rng.normal(size=n)})
    mf = metafeatures.extract(X, y, groups=["landmarking"], random_state=0)
    assert mf["DecisionStumpErrRate"] < 0.9 and mf["kNN1NErrRate"] < 0.05


def test_input_is_not_modified_and_results_are_reproducible(mixed) -> None:
    X, y = mixed
    X = X.copy()
    X.loc[0, "u"] = np.inf
    before = X.copy()
    first = metafeatures.extract(X, y, random_state=3)
    second = metafeatures.extract(X, y, random_state=3)
    pd.testing.assert_frame_equal(X, before)
    pd.testing.assert_series_equal(first, second)


def test_clear_errors_for_unusable_input() -> None:
    with pytest.raises(MetaFeatureError, match="rows"):
        metafeatures.extract(pd.DataFrame({"a": [1.0, 2.0]}), pd.Series([1]))
    with pytest.raises(MetaFeatureError, match="no rows"):
        metafeatures.extract(pd.DataFrame({"a": []}), pd.Series([], dtype=float))
    with pytest.raises(MetaFeatureError, match="unknown meta-feature group"):
        metafeatures.extract(pd.DataFrame({"a": [1.0]}), pd.Series([1]), groups=["nope"])


cells = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True, width=32),
    st.integers(-5, 5).map(float),
    st.none(),
)


@st.composite
def random_frames(draw):
    n_rows = draw(st.integers(1, 40))
    n_num = draw(st.integers(0, 4))
    n_cat = draw(st.integers(0 if n_num else 1, 3))
    data = {}
    for j in range(n_num):
        data[f"n{j}"] = draw(st.lists(cells, min_size=n_rows, max_size=n_rows))
    for j in range(n_cat):
        values = draw(
            st.lists(
                st.one_of(st.none(), st.sampled_from("abcde")), min_size=n_rows, max_size=n_rows
            )
        )
        data[f"c{j}"] = pd.Categorical(values)
    X = pd.DataFrame(data).astype({f"n{j}": float for j in range(n_num)})
    if draw(st.booleans()):
        y = pd.Series(
            draw(st.lists(st.sampled_from(["x", "y", None]), min_size=n_rows, max_size=n_rows))
        )
        task = "classification"
    else:
        y = pd.Series(draw(st.lists(cells, min_size=n_rows, max_size=n_rows)), dtype=float)
        task = "regression"
    return X, y, task


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(random_frames())
def test_any_dataframe_profiles_to_floats_without_error(case) -> None:
    X, y, task = case
    result = metafeatures.extract(X, y, task=task)
    assert result.dtype == np.float64
    assert result.index.is_unique
    assert not np.isinf(result.to_numpy()).any()
    assert result["NumberOfInstances"] == len(X)
