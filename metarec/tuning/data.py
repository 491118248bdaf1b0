"""Checks and conversions of (X, y) before tuning."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from metarec.columns import check_regression_target
from metarec.errors import DataError


# -- tuning -----------------------------------------------------------------------------------
def infer_task(y: Any) -> str:
    """The task of target ``y`` by the rule `metarec recommend` and the meta-features use, so
    tuning and recommending never disagree about it."""
    from metafeatures import infer_task as task_of_target

    return task_of_target(pd.Series(np.asarray(y).ravel()))


def as_frame(X: Any) -> pd.DataFrame:
    """A DataFrame with string column names (pipelines select columns by dtype and name)."""
    if isinstance(X, pd.DataFrame):
        return X.rename(columns=str) if not all(isinstance(c, str) for c in X.columns) else X
    arr = np.asarray(X)
    if arr.ndim != 2:
        raise DataError(f"X must be a two-dimensional table, not {arr.ndim}-dimensional.")
    return pd.DataFrame(arr, columns=[f"x{i}" for i in range(arr.shape[1])])



def check_data(X: pd.DataFrame, y: Any, task: str) -> None:
    if X.shape[1] == 0:
        raise DataError(
            "the data has no feature columns besides the target; there is nothing to learn from."
        )
    if X.shape[0] == 0:
        raise DataError("the data has no rows.")
    if task == "regression":
        check_regression_target(y)


