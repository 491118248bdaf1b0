"""Counts and proportions (OpenML's 'simple' qualities).

OpenML counts the target as one of the dataset's features: NumberOfFeatures, the symbolic/numeric
counts and the nominal distinct-value statistics all include it. We follow that so locally computed
profiles and OpenML's stored qualities are one vocabulary.
"""

from __future__ import annotations

import numpy as np

from metafeatures.prepared import PreparedData
from metafeatures.summary import safe_ratio


def _target_missing_mask(data: PreparedData) -> np.ndarray:
    if data.y_codes is not None:
        return data.y_codes < 0
    return np.isnan(data.y_values)


def compute(data: PreparedData) -> dict[str, float]:
    n = data.n_rows
    target_nominal = data.task == "classification"
    n_numeric = data.numeric.shape[1] + (0 if target_nominal else 1)
    n_symbolic = data.codes.shape[1] + (1 if target_nominal else 0)
    n_features = n_numeric + n_symbolic
    # OpenML counts binary attributes by their declared values but distinct values by those seen.
    declared = np.append(data.n_levels, data.n_classes) if target_nominal else data.n_levels
    n_binary = int((declared == 2).sum())
    levels = data.observed_levels
    if target_nominal:
        levels = np.append(levels, np.count_nonzero(data.class_counts))

    row_missing = data.numeric_missing.any(axis=1) | data.categorical_missing.any(axis=1)
    row_missing |= _target_missing_mask(data)
    n_missing = int(data.numeric_missing.sum() + data.categorical_missing.sum())
    n_missing += data.target_missing
    n_rows_missing = int(row_missing.sum())

    out: dict[str, float] = {
        "NumberOfInstances": float(n),
        "NumberOfFeatures": float(n_features),
        "NumberOfNumericFeatures": float(n_numeric),
        "NumberOfSymbolicFeatures": float(n_symbolic),
        "NumberOfBinaryFeatures": float(n_binary),
        "PercentageOfNumericFeatures": 100.0 * n_numeric / n_features,
        "PercentageOfSymbolicFeatures": 100.0 * n_symbolic / n_features,
        "PercentageOfBinaryFeatures": 100.0 * n_binary / n_features,
        "Dimensionality": n_features / n,
        "NumberOfMissingValues": float(n_missing),
        "PercentageOfMissingValues": 100.0 * n_missing / (n * n_features),
        "NumberOfInstancesWithMissingValues": float(n_rows_missing),
        "PercentageOfInstancesWithMissingValues": 100.0 * n_rows_missing / n,
        "MinNominalAttDistinctValues": np.nan,
        "MaxNominalAttDistinctValues": np.nan,
        "MeanNominalAttDistinctValues": np.nan,
        "StdvNominalAttDistinctValues": np.nan,
    }
    if levels.size:
        out["MinNominalAttDistinctValues"] = float(levels.min())
        out["MaxNominalAttDistinctValues"] = float(levels.max())
        out["MeanNominalAttDistinctValues"] = float(levels.mean())
        out["StdvNominalAttDistinctValues"] = (
            float(levels.std(ddof=1)) if levels.size > 1 else np.nan
        )
    out.update(_class_counts(data))
    return out


def _class_counts(data: PreparedData) -> dict[str, float]:
    out = {
        "NumberOfClasses": np.nan,
        "MajorityClassSize": np.nan,
        "MinorityClassSize": np.nan,
        "MajorityClassPercentage": np.nan,
        "MinorityClassPercentage": np.nan,
        "AutoCorrelation": np.nan,
    }
    if data.task != "classification":
        return out
    counts = data.class_counts
    n = data.n_rows
    counts = counts[counts > 0]
    out["NumberOfClasses"] = float(counts.size)
    if counts.size:
        out["MajorityClassSize"] = float(counts.max())
        out["MinorityClassSize"] = float(counts.min())
        out["MajorityClassPercentage"] = 100.0 * counts.max() / n
        out["MinorityClassPercentage"] = 100.0 * counts.min() / n
    labels = data.y_codes
    if labels is not None and labels.size > 1:
        # OpenML: share of consecutive instances (in file order) that keep the same class.
        out["AutoCorrelation"] = safe_ratio(float((labels[1:] == labels[:-1]).sum()), n - 1)
    return out
