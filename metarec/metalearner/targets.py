"""Per-dataset normalisation of performance, and the encoding of configurations as features.

Raw performance is not comparable across datasets (a 0.02 error difference is large on an easy
dataset and noise on a hard one), so models learn from scores normalised within each dataset.
All internal scores are *higher is better*; ``maximize=False`` metrics are negated on the way in.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd
from scipy.special import ndtri

Normalisation = Literal["zscore", "rank"]
_EPS = 1e-12


@dataclass
class NormalisedScores:
    """Scores (higher is better) normalised per dataset, with each dataset's location and scale."""

    z: np.ndarray  # datasets x configurations, NaN = not run
    location: np.ndarray  # per dataset: mean score over the configurations run
    scale: np.ndarray  # per dataset: standard deviation (1 where degenerate)


def normalise(scores: np.ndarray, how: Normalisation = "zscore") -> NormalisedScores:
    """Normalise each row of ``scores`` (higher is better, NaN = not run).

    ``zscore`` standardises; ``rank`` maps within-dataset ranks to normal quantiles (a rank-Gauss
    transform: robust to one catastrophic configuration stretching the scale). Rows with a single
    observed value or no spread get z = 0.
    """
    with np.errstate(invalid="ignore"):
        location = np.nanmean(scores, axis=1)
        scale = np.nanstd(scores, axis=1)
    location = np.nan_to_num(location)
    degenerate = ~(scale > _EPS)
    scale = np.where(degenerate, 1.0, scale)
    if how == "zscore":
        z = (scores - location[:, None]) / scale[:, None]
    elif how == "rank":
        frame = pd.DataFrame(scores)
        ranks = frame.rank(axis=1, method="average").to_numpy()
        counts = frame.notna().sum(axis=1).to_numpy()[:, None]
        with np.errstate(invalid="ignore", divide="ignore"):
            z = ndtri((ranks - 0.5) / counts)
    else:
        raise ValueError(f"unknown normalisation {how!r}; use 'zscore' or 'rank'.")
    z = np.where(degenerate[:, None] & ~np.isnan(scores), 0.0, z)
    return NormalisedScores(z=z, location=location, scale=scale)


def standardise_rows(values: np.ndarray) -> np.ndarray:
    """Z-score each row (over configurations) so that different models' outputs can be blended."""
    with np.errstate(invalid="ignore"):
        mean = np.nanmean(values, axis=1, keepdims=True)
        std = np.nanstd(values, axis=1, keepdims=True)
    return (values - mean) / np.where(std > _EPS, std, 1.0)


class ConfigurationEncoder:
    """Configuration features as a numeric matrix: numbers as they are, everything else one-hot.

    Without configuration features the configuration's position is the only feature (used as a
    LightGBM categorical), which scores known configurations only.
    """

    def fit(self, features: pd.DataFrame | None, configurations: pd.Index) -> ConfigurationEncoder:
        self.configurations_ = configurations
        self.by_id_ = features is None
        if features is None:
            self.columns_: list[str] = ["configuration"]
            return self
        missing = configurations.difference(features.index)
        if len(missing):
            raise ValueError(f"configuration_features lacks {len(missing)} configuration(s) of "
                             f"performance, e.g. {missing[0]!r}.")
        encoded = self._encode(features.loc[configurations])
        self.columns_ = list(encoded.columns)
        numeric = {str(c) for c in features.columns
                   if pd.api.types.is_numeric_dtype(features[c])}
        # an absent one-hot column means "not this category" (0); an absent number is unknown
        self.one_hot_: list[str] = [c for c in self.columns_ if c not in numeric]
        return self

    @staticmethod
    def _encode(features: pd.DataFrame) -> pd.DataFrame:
        parts = []
        for col in features.columns:
            series = features[col]
            if pd.api.types.is_bool_dtype(series):
                parts.append(series.astype(np.float64).rename(str(col)))
            elif pd.api.types.is_numeric_dtype(series):
                parts.append(pd.to_numeric(series, errors="coerce").astype(np.float64)
                             .rename(str(col)))
            else:
                dummies = pd.get_dummies(series.astype("string"), prefix=str(col), dtype=np.float64)
                parts.append(dummies)
        if not parts:
            raise ValueError("configuration_features has no columns.")
        return pd.concat(parts, axis=1)

    def transform(self, features: pd.DataFrame | None = None) -> np.ndarray:
        """Encode ``features`` (default: the fitted configurations, by id)."""
        if self.by_id_:
            if features is not None:
                raise ValueError("this meta-learner was fitted without configuration_features, so "
                                 "it can score only the configurations it was trained on.")
            return np.arange(len(self.configurations_), dtype=np.float64)[:, None]
        if features is None:
            raise ValueError("configuration features are needed.")
        encoded = self._encode(features).reindex(columns=self.columns_)
        encoded[self.one_hot_] = encoded[self.one_hot_].fillna(0.0)
        return encoded.to_numpy(dtype=np.float64)
