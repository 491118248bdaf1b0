"""Convert a pandas dataset once into the arrays every meta-feature group works on."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
import pandas as pd

from metafeatures.errors import MetaFeatureError


@dataclass
class PreparedData:
    """Column-typed numpy views of one dataset.

    ``numeric`` holds the numeric features as float64 (NaN = missing); ``codes`` holds the
    categorical features as integer codes (-1 = missing) with ``n_levels`` declared levels each.
    ``y_codes`` are class codes for classification (-1 = missing), ``y_values`` the numeric target
    for regression.
    """

    numeric: np.ndarray
    numeric_names: list[str]
    codes: np.ndarray
    n_levels: np.ndarray
    categorical_names: list[str]
    task: str
    y_codes: np.ndarray | None
    n_classes: int
    y_values: np.ndarray | None
    target_is_categorical: bool
    target_missing: int
    random_state: int = 0
    cache: dict = field(default_factory=dict)

    @property
    def n_rows(self) -> int:
        return self.numeric.shape[0] if self.numeric.size else self.codes.shape[0]

    @property
    def n_features(self) -> int:
        """Number of input features (the target excluded)."""
        return self.numeric.shape[1] + self.codes.shape[1]

    @cached_property
    def numeric_missing(self) -> np.ndarray:
        return np.isnan(self.numeric)

    @cached_property
    def categorical_missing(self) -> np.ndarray:
        return self.codes < 0

    @cached_property
    def observed_levels(self) -> np.ndarray:
        """Number of distinct values each nominal attribute actually takes (OpenML counts these,
        not the levels an ARFF header declares)."""
        out = np.zeros(self.codes.shape[1], dtype=np.int64)
        for j in range(self.codes.shape[1]):
            column = self.codes[:, j]
            out[j] = np.count_nonzero(np.bincount(column[column >= 0], minlength=1))
        return out

    @cached_property
    def class_counts(self) -> np.ndarray:
        if self.y_codes is None:
            return np.zeros(0, dtype=np.int64)
        return np.bincount(self.y_codes[self.y_codes >= 0], minlength=self.n_classes)


def infer_task(y: pd.Series) -> str:
    """Classification for non-numeric targets and for integer targets with few distinct values."""
    if isinstance(y.dtype, pd.CategoricalDtype) or not pd.api.types.is_numeric_dtype(y):
        return "classification"
    if pd.api.types.is_bool_dtype(y):
        return "classification"
    values = y.dropna().to_numpy(dtype=float)
    if values.size and np.all(np.mod(values, 1) == 0) and np.unique(values).size <= 20:
        return "classification"
    return "regression"


def _categorical_codes(column: pd.Series) -> tuple[np.ndarray, int]:
    if isinstance(column.dtype, pd.CategoricalDtype):
        return column.cat.codes.to_numpy(dtype=np.int64), len(column.cat.categories)
    codes, uniques = pd.factorize(column, use_na_sentinel=True)
    return codes.astype(np.int64), len(uniques)


def _is_numeric(column: pd.Series) -> bool:
    return _is_numeric_dtype(column.dtype)


def _is_numeric_dtype(dtype: object) -> bool:
    return pd.api.types.is_numeric_dtype(dtype) and not pd.api.types.is_bool_dtype(dtype)


def prepare(
    X: pd.DataFrame, y: pd.Series, task: str | None = None, random_state: int = 0
) -> PreparedData:
    """Split ``X`` into numeric and categorical arrays and encode ``y``.

    Infinite values count as missing: no OpenML quality is defined on them.
    """
    if not isinstance(X, pd.DataFrame):
        X = pd.DataFrame(X)
    y = pd.Series(y) if not isinstance(y, pd.Series) else y
    if len(X) != len(y):
        raise MetaFeatureError(f"X has {len(X)} rows but y has {len(y)}.")
    if len(X) == 0:
        raise MetaFeatureError("the dataset has no rows.")
    # Typed by the column dtypes, not by a pandas Series per column (seconds at 100,000 columns).
    is_numeric = [_is_numeric_dtype(dtype) for dtype in X.dtypes]
    numeric_cols = [c for c, numeric in zip(X.columns, is_numeric, strict=True) if numeric]
    categorical_cols = [c for c, numeric in zip(X.columns, is_numeric, strict=True) if not numeric]
    n = len(X)
    if numeric_cols:
        numeric_frame = X if len(numeric_cols) == X.shape[1] else X[numeric_cols]
        numeric = numeric_frame.to_numpy(dtype=np.float64, na_value=np.nan)
        infinite = np.isinf(numeric)
        if infinite.any():
            # The inf -> NaN repair must never write into the caller's frame: pandas hands out
            # a read-only view of a single float64 block, which is copied first. Without
            # infinite values that view is used as it is, saving a copy of the whole table.
            if not (numeric.flags.writeable and numeric.flags.owndata):
                numeric = numeric.copy(order="K")
            numeric[infinite] = np.nan
        del infinite
    else:
        numeric = np.empty((n, 0), dtype=np.float64)
    codes = np.empty((n, len(categorical_cols)), dtype=np.int64, order="F")
    n_levels = np.zeros(len(categorical_cols), dtype=np.int64)
    for j, col in enumerate(categorical_cols):
        codes[:, j], n_levels[j] = _categorical_codes(X[col])

    task = task or infer_task(y)
    target_is_categorical = not _is_numeric(y)
    y_codes: np.ndarray | None = None
    y_values: np.ndarray | None = None
    n_classes = 0
    if task == "classification":
        y_codes, n_classes = _categorical_codes(y)
        target_missing = int((y_codes < 0).sum())
    else:
        y_values = pd.to_numeric(y, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
        y_values = np.where(np.isinf(y_values), np.nan, y_values)
        target_missing = int(np.isnan(y_values).sum())
    return PreparedData(
        numeric=numeric,
        numeric_names=[str(c) for c in numeric_cols],
        codes=codes,
        n_levels=n_levels,
        categorical_names=[str(c) for c in categorical_cols],
        task=task,
        y_codes=y_codes,
        n_classes=n_classes,
        y_values=y_values,
        target_is_categorical=target_is_categorical,
        target_missing=target_missing,
        random_state=random_state,
    )
