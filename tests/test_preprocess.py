"""The meta-feature scaler and the one-standard-error rule that the meta-learner and the imputer
selector share."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from metarec.metalearner.evaluation import within_one_standard_error
from metarec.metalearner.preprocess import MetaFeatureScaler


def _frame() -> pd.DataFrame:
    return pd.DataFrame({"NumberOfInstances": [100.0, 1000.0, 10000.0],
                         "ClassEntropy": [0.5, 1.0, np.nan],
                         "Unused": [1.0, 2.0, 3.0],
                         "Empty": [np.nan, np.nan, np.nan]})


def test_fixed_columns_logs_and_clipping() -> None:
    scaler = MetaFeatureScaler(columns=["NumberOfInstances", "ClassEntropy", "Empty"],
                               log_columns=["NumberOfInstances"], clip=True).fit(_frame())
    assert scaler.columns_ == ["NumberOfInstances", "ClassEntropy"]  # no value: left out
    assert scaler.log_columns_ == ["NumberOfInstances"]
    new = pd.DataFrame({"NumberOfInstances": [1000.0, 1e6], "ClassEntropy": [0.75, -3.0]})
    scaled = scaler.transform(new)
    # log1p(1000) lies between log1p(100) and log1p(10000), not at the linear midpoint
    expected = (np.log1p(1000) - np.log1p(100)) / (np.log1p(10000) - np.log1p(100))
    assert scaled[0, 0] == pytest.approx(expected)
    assert scaled[0, 1] == pytest.approx(0.5)
    assert scaled[1].tolist() == [1.0, 0.0]  # beyond the training range: clipped
    unclipped = MetaFeatureScaler(columns=["ClassEntropy"]).fit(_frame())
    assert unclipped.transform(new)[1, 0] == pytest.approx(-7.0)


def test_scaler_round_trips_through_plain_json_values() -> None:
    import json

    scaler = MetaFeatureScaler(columns=["NumberOfInstances", "ClassEntropy"],
                               log_columns=["NumberOfInstances"], clip=True).fit(_frame())
    again = MetaFeatureScaler.from_dict(json.loads(json.dumps(scaler.to_dict())))
    new = pd.DataFrame({"NumberOfInstances": [50.0, 3000.0], "ClassEntropy": [np.nan, 0.9]})
    np.testing.assert_array_equal(again.transform(new), scaler.transform(new))
    np.testing.assert_array_equal(again.impute(again.transform(new)),
                                  scaler.impute(scaler.transform(new)))


@pytest.mark.parametrize(
    ("difference", "tied"),
    [
        ([0.1, 0.1, 0.1], False),  # worse on every dataset by the same margin: se is 0
        ([0.1, -0.1, 0.1, -0.1], True),  # no worse on average
        ([0.3, -0.1, 0.2, 0.0], False),  # mean 0.100 > standard error 0.091
        ([0.3, -0.1, 0.2, -0.05], True),  # mean 0.0875 <= standard error 0.0966
        ([], True),
        ([0.0], True),
        ([0.05], False),
    ],
)
def test_one_standard_error_rule(difference: list[float], tied: bool) -> None:
    assert within_one_standard_error(np.asarray(difference)) is tied
