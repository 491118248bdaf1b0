"""Missing-value injection: exact rates, the right dependence per mechanism, reproducibility."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from metarec.imputation.injection import MECHANISMS, inject


def _table(n: int = 4000, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    X = pd.DataFrame(rng.standard_normal((n, 6)), columns=[f"x{i}" for i in range(6)])
    X["cat"] = pd.Categorical(rng.choice(["a", "b", "c", "d"], n))
    X["count"] = rng.integers(0, 10, n)  # integer column: must become float to hold NaN
    return X


@pytest.mark.parametrize("mechanism", MECHANISMS)
@pytest.mark.parametrize("rate", [0.05, 0.2, 0.4])
def test_rate_is_exact_in_every_masked_column(mechanism: str, rate: float) -> None:
    X = _table(1000)
    out, record = inject(X, mechanism, rate, seed=3)
    assert record.masked_columns, "at least one column is masked"
    for col in X.columns:
        expected = round(rate * len(X)) if col in record.masked_columns else 0
        assert out[col].isna().sum() == expected, col
    assert record.achieved_rate == pytest.approx(out.isna().to_numpy().mean())
    assert not X.isna().any().any(), "the input is not modified"


def test_mcar_is_independent_of_values() -> None:
    X = _table()
    out, _ = inject(X, "mcar", 0.3, seed=1, columns=["x0"])
    missing = out["x0"].isna()
    # standard error of a mean of ~1200 N(0,1) values is ~0.03
    assert abs(X.loc[missing, "x0"].mean() - X.loc[~missing, "x0"].mean()) < 0.15
    assert abs(X.loc[missing, "x1"].mean() - X.loc[~missing, "x1"].mean()) < 0.15


def test_mar_depends_on_an_observed_driver_not_on_the_value() -> None:
    X = _table()
    out, record = inject(X, "mar", 0.3, seed=2, columns=["x0"])
    driver = record.drivers["x0"]
    assert driver != "x0" and out[driver].notna().all(), "the driver stays observed"
    missing = out["x0"].isna()
    if driver.startswith("x"):
        assert X.loc[missing, driver].mean() - X.loc[~missing, driver].mean() > 0.5
    # x0 is independent of every other column, so its own value carries no signal
    assert abs(X.loc[missing, "x0"].mean() - X.loc[~missing, "x0"].mean()) < 0.15


def test_mar_drivers_are_never_masked() -> None:
    out, record = inject(_table(500), "mar", 0.2, seed=5, column_share=0.7)
    assert set(record.drivers) == set(record.masked_columns)
    assert not set(record.drivers.values()) & set(record.masked_columns)


def test_mnar_depends_on_the_hidden_value_itself() -> None:
    X = _table()
    out, _ = inject(X, "mnar", 0.3, seed=4, columns=["x0", "cat"])
    missing = out["x0"].isna()
    assert X.loc[missing, "x0"].mean() - X.loc[~missing, "x0"].mean() > 0.8
    assert abs(X.loc[missing, "x1"].mean() - X.loc[~missing, "x1"].mean()) < 0.15
    # categorical: later categories in sorted order go missing more often
    lost = X.loc[out["cat"].isna(), "cat"].value_counts(normalize=True)
    assert lost["d"] > lost["a"]


def test_seeded_reproducibility() -> None:
    X = _table(500)
    a, ra = inject(X, "mar", 0.2, seed=11)
    b, rb = inject(X, "mar", 0.2, seed=11)
    c, _ = inject(X, "mar", 0.2, seed=12)
    pd.testing.assert_frame_equal(a, b)
    assert ra.as_dict() == rb.as_dict()
    assert not a.isna().equals(c.isna())


def test_rate_one_masks_whole_columns() -> None:
    out, record = inject(_table(200), "mcar", 1.0, seed=0, columns=["x2"])
    assert out["x2"].isna().all() and record.masked_columns == ["x2"]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [({"mechanism": "nmar", "rate": 0.1}, "unknown mechanism"),
     ({"mechanism": "mcar", "rate": 1.5}, "rate"),
     ({"mechanism": "mcar", "rate": 0.1, "columns": ["nope"]}, "unknown column")],
)
def test_bad_arguments_are_clear_errors(kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        inject(_table(50), **kwargs)


def test_mar_needs_an_observed_column() -> None:
    with pytest.raises(ValueError, match="MAR"):
        inject(pd.DataFrame({"only": np.arange(10.0)}), "mar", 0.2)


@settings(max_examples=25, deadline=None)
@given(n=st.integers(5, 200), p=st.integers(1, 6), rate=st.floats(0.0, 1.0),
       mechanism=st.sampled_from(MECHANISMS), seed=st.integers(0, 10_000))
def test_counts_hold_for_any_shape(n: int, p: int, rate: float, mechanism: str,
                                   seed: int) -> None:
    if mechanism == "mar" and p < 2:
        p = 2
    X = pd.DataFrame(np.random.default_rng(seed).standard_normal((n, p)),
                     columns=[f"c{i}" for i in range(p)])
    out, record = inject(X, mechanism, rate, seed=seed)
    counts = out.isna().sum()
    assert (counts[record.masked_columns] == round(rate * n)).all()
    assert (counts.drop(record.masked_columns) == 0).all()
