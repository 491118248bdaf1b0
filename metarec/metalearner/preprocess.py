"""Meta-feature preparation shared by every model: selection, log transform, scaling, distances.

Meta-features come from heterogeneous sources (OpenML's stored qualities, a local profile of the
user's file), so the transformer is fitted on the knowledge base only and applied unchanged to new
datasets: columns are matched by name, unknown columns are ignored and absent ones become NaN.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

_EPS = 1e-12


def skew(values: np.ndarray) -> float:
    """Sample skewness (biased, like scipy.stats.skew) without importing scipy.stats, whose import
    alone costs more than a whole recommendation may take."""
    centred = values - values.mean()
    m2 = float(np.mean(centred**2))
    return float(np.mean(centred**3)) / m2**1.5 if m2 > 0 else 0.0


def signed_log1p(values: np.ndarray) -> np.ndarray:
    """``sign(x) * log1p(|x|)``: compresses counts and heavy tails, defined for negatives too."""
    return np.sign(values) * np.log1p(np.abs(values))


def as_float_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """Numeric copy of ``frame``: non-numeric cells and infinities become NaN."""
    out = frame.apply(pd.to_numeric, errors="coerce").astype(np.float64)
    return out.replace([np.inf, -np.inf], np.nan)


class MetaFeatureScaler:
    """Select, log-transform and min-max scale meta-features; NaN is kept (see :meth:`impute`).

    By default a column is kept when at most ``max_missing`` of the knowledge-base datasets lack
    it and it is not constant, and it is log-transformed when that makes its distribution markedly
    less skewed (counts such as NumberOfInstances span five orders of magnitude, and on a linear
    scale a min-max scaled L1 distance would see only the largest datasets as different).

    ``columns`` / ``log_columns`` fix both choices instead (columns without any value are still
    left out), and ``clip`` clips scaled values to [0, 1]: a model trained on subsampled tables
    (the imputation campaign's) must see a user's 100,000-row table as its largest dataset, not as
    something far outside every neighbourhood.
    """

    def __init__(self, max_missing: float = 0.5, skew_threshold: float = 2.0, *,
                 columns: Sequence[str] | None = None,
                 log_columns: Sequence[str] | None = None, clip: bool = False) -> None:
        self.max_missing = max_missing
        self.skew_threshold = skew_threshold
        self.columns = columns
        self.log_columns = log_columns
        self.clip = clip

    def fit(self, meta_features: pd.DataFrame) -> MetaFeatureScaler:
        if self.columns is not None:
            frame = as_float_frame(meta_features.reindex(columns=list(self.columns)))
            keep = [c for c in frame.columns if frame[c].notna().any()]
        else:
            frame = as_float_frame(meta_features)
            missing = frame.isna().mean()
            keep = [c for c in frame.columns
                    if missing[c] <= self.max_missing and frame[c].nunique(dropna=True) > 1]
        if not keep:
            raise ValueError("no usable meta-feature: every column is constant or mostly missing.")
        self.columns_: list[str] = [str(c) for c in keep]
        if self.log_columns is not None:
            log_cols = [c for c in keep if c in set(self.log_columns)]
        else:
            log_cols = []
            for col in keep:
                values = frame[col].dropna().to_numpy()
                raw_skew = abs(float(skew(values))) if values.size > 2 else 0.0
                if raw_skew > self.skew_threshold:
                    if abs(float(skew(signed_log1p(values)))) < 0.5 * raw_skew:
                        log_cols.append(col)
        self.log_columns_: list[str] = [str(c) for c in log_cols]
        values = self._transform_raw(frame[keep])
        self.min_ = np.nanmin(values, axis=0)
        span = np.nanmax(values, axis=0) - self.min_
        self.scale_ = np.where(span > _EPS, span, 1.0)
        scaled = (values - self.min_) / self.scale_
        self.median_ = np.nanmedian(scaled, axis=0)
        return self

    def to_dict(self) -> dict[str, Any]:
        """The fitted state as plain JSON values."""
        return {"columns": self.columns_, "log_columns": self.log_columns_,
                "min": self.min_.tolist(), "scale": self.scale_.tolist(),
                "median": self.median_.tolist(), "clip": bool(self.clip)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> MetaFeatureScaler:
        self = cls(clip=bool(data["clip"]))
        self.columns_ = [str(c) for c in data["columns"]]
        self.log_columns_ = [str(c) for c in data["log_columns"]]
        self.min_ = np.asarray(data["min"], dtype=np.float64)
        self.scale_ = np.asarray(data["scale"], dtype=np.float64)
        self.median_ = np.asarray(data["median"], dtype=np.float64)
        return self

    def _transform_raw(self, frame: pd.DataFrame) -> np.ndarray:
        values = frame.to_numpy(dtype=np.float64, copy=True)
        log_mask = np.isin(np.asarray(frame.columns, dtype=str), self.log_columns_)
        values[:, log_mask] = signed_log1p(values[:, log_mask])
        return values

    def transform(self, meta_features: pd.DataFrame) -> np.ndarray:
        """Scaled values (about [0, 1] on the knowledge base), NaN where unknown."""
        frame = as_float_frame(meta_features)
        frame.columns = [str(c) for c in frame.columns]
        frame = frame.reindex(columns=self.columns_)
        scaled = (self._transform_raw(frame) - self.min_) / self.scale_
        return np.clip(scaled, 0.0, 1.0) if self.clip else scaled

    def impute(self, scaled: np.ndarray) -> np.ndarray:
        """Replace NaN by the knowledge base's median of each scaled column."""
        return np.where(np.isnan(scaled), self.median_, scaled)


def mean_l1_distance(query: np.ndarray, reference: np.ndarray, chunk: int = 128) -> np.ndarray:
    """Mean absolute difference over the query's known features (L1 / number of features).

    ``reference`` must be complete (imputed). Averaging over the query's known features instead of
    imputing the query keeps a dataset that lacks half its meta-features from looking artificially
    close to the median dataset; a query with no known feature is infinitely far from everything.
    """
    out = np.empty((query.shape[0], reference.shape[0]), dtype=np.float64)
    for start in range(0, query.shape[0], chunk):
        q = query[start:start + chunk]
        known = ~np.isnan(q)
        filled = np.where(known, q, 0.0)
        diff = np.abs(filled[:, None, :] - reference[None, :, :]) * known[:, None, :]
        n_known = known.sum(axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            dist = diff.sum(axis=2) / n_known[:, None]
        dist[n_known == 0] = np.inf
        out[start:start + chunk] = dist
    return out
