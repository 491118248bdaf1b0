"""How much is missing, in which pattern, and whether missingness carries information.

These features feed the imputer recommendation: the amount and spread of missing values, how many
distinct row patterns they form, whether columns go missing together, whether missingness is
associated with the target (a hint that it is not missing completely at random) and whether it is
predictable from the observed values of other columns (a hint of missing-at-random).
"""

from __future__ import annotations

import numpy as np

from metafeatures.info_theory import entropy_bits
from metafeatures.prepared import PreparedData

# Association statistics use at most this many rows (seeded sample) and columns with missing values.
SAMPLE_ROWS = 20_000
MAX_COLUMNS = 50
# Numeric columns mean-filled at a time for the predictability statistic.
PREDICTABILITY_BLOCK = 1_000

NAMES = (
    "MissingValueRate",
    "NumericMissingValueRate",
    "SymbolicMissingValueRate",
    "RowsWithMissingRate",
    "ColumnsWithMissingRate",
    "MeanMissingRateOfColumnsWithMissing",
    "MaxMissingRateOfColumns",
    "MissingPatternCount",
    "MissingPatternEntropy",
    "MeanAbsCorrelationOfMissingIndicators",
    "MeanMissingTargetAssociation",
    "MaxMissingTargetAssociation",
    "MeanMissingPredictability",
    "MaxMissingPredictability",
)


def _abs_corr_with(indicators: np.ndarray, others: np.ndarray) -> np.ndarray:
    """|Pearson correlation| of every indicator column with every column of ``others``."""
    a = indicators - indicators.mean(axis=0)
    b = others - others.mean(axis=0)
    denom = np.outer(np.sqrt((a * a).sum(axis=0)), np.sqrt((b * b).sum(axis=0)))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.abs(a.T @ b) / denom


def _cramers_v(indicator: np.ndarray, labels: np.ndarray, n_classes: int) -> float:
    valid = labels >= 0
    table = (
        np.bincount(
            indicator[valid].astype(np.int64) * n_classes + labels[valid], minlength=2 * n_classes
        )
        .reshape(2, n_classes)
        .astype(np.float64)
    )
    table = table[:, table.sum(axis=0) > 0]
    n = table.sum()
    if n == 0 or table.shape[1] < 2 or (table.sum(axis=1) == 0).any():
        return np.nan
    expected = np.outer(table.sum(axis=1), table.sum(axis=0)) / n
    chi2 = ((table - expected) ** 2 / expected).sum()
    return float(np.sqrt(chi2 / (n * (min(table.shape) - 1))))


def compute(data: PreparedData) -> dict[str, float]:
    out = dict.fromkeys(NAMES, np.nan)
    mask = np.hstack([data.numeric_missing, data.categorical_missing])
    n, p = mask.shape
    if p == 0:
        return out
    per_column = mask.mean(axis=0)
    rows_with = mask.any(axis=1)
    out["MissingValueRate"] = float(per_column.mean())
    out["NumericMissingValueRate"] = (
        float(data.numeric_missing.mean()) if data.numeric.shape[1] else np.nan
    )
    out["SymbolicMissingValueRate"] = (
        float(data.categorical_missing.mean()) if data.codes.shape[1] else np.nan
    )
    out["RowsWithMissingRate"] = float(rows_with.mean())
    with_missing = per_column > 0
    out["ColumnsWithMissingRate"] = float(with_missing.mean())
    out["MaxMissingRateOfColumns"] = float(per_column.max())
    if not with_missing.any():
        out.update(MissingPatternCount=1.0, MissingPatternEntropy=0.0)
        return out
    out["MeanMissingRateOfColumnsWithMissing"] = float(per_column[with_missing].mean())

    packed = np.packbits(mask[:, with_missing], axis=1)
    _, pattern_counts = np.unique(packed, axis=0, return_counts=True)
    out["MissingPatternCount"] = float(pattern_counts.size)
    out["MissingPatternEntropy"] = float(entropy_bits(pattern_counts))

    rng = np.random.default_rng(data.random_state)
    rows = np.arange(n)
    if n > SAMPLE_ROWS:
        rows = np.sort(rng.choice(n, SAMPLE_ROWS, replace=False))
    columns = np.flatnonzero(with_missing & (per_column < 1))[:MAX_COLUMNS]
    if columns.size == 0:
        return out
    indicators = mask[np.ix_(rows, columns)].astype(np.float64)
    varying = indicators.std(axis=0) > 0
    indicators = indicators[:, varying]
    columns = columns[varying]
    if columns.size == 0:
        return out
    if columns.size > 1:
        corr = _abs_corr_with(indicators, indicators)
        out["MeanAbsCorrelationOfMissingIndicators"] = float(
            np.nanmean(corr[np.triu_indices_from(corr, k=1)])
        )
    out.update(_target_association(data, rows, indicators))
    out.update(_predictability(data, rows, columns, indicators))
    return out


def _target_association(data: PreparedData, rows: np.ndarray, indicators: np.ndarray):
    if data.task == "classification":
        labels = data.y_codes[rows]
        scores = np.array(
            [
                _cramers_v(indicators[:, j], labels, data.n_classes)
                for j in range(indicators.shape[1])
            ]
        )
    else:
        y = data.y_values[rows]
        keep = ~np.isnan(y)
        scores = _abs_corr_with(indicators[keep], y[keep, None])[:, 0]
    if np.isnan(scores).all():
        return {}
    return {
        "MeanMissingTargetAssociation": float(np.nanmean(scores)),
        "MaxMissingTargetAssociation": float(np.nanmax(scores)),
    }


def _predictability(data: PreparedData, rows: np.ndarray, columns: np.ndarray, indicators):
    """For each column with missing values: the strongest |correlation| between its missingness
    and the (mean-filled) values of the numeric columns that are not it."""
    n_numeric = data.numeric.shape[1]
    if n_numeric == 0:
        return {}
    # A block of numeric columns at a time: the mean-filled copy of a 1,000 x 100,000 table would
    # be gigabytes. Up to PREDICTABILITY_BLOCK columns that is the whole table, as it always was.
    corr = np.hstack(
        [
            _abs_corr_with(indicators, _mean_filled(data.numeric, rows, start))
            for start in range(0, n_numeric, PREDICTABILITY_BLOCK)
        ]
    )
    for i, col in enumerate(columns):
        if col < n_numeric:
            corr[i, col] = np.nan
    best = np.array([np.nanmax(r) if np.isfinite(r).any() else np.nan for r in corr])
    if np.isnan(best).all():
        return {}
    return {
        "MeanMissingPredictability": float(np.nanmean(best)),
        "MaxMissingPredictability": float(np.nanmax(best)),
    }


def _mean_filled(values: np.ndarray, rows: np.ndarray, start: int) -> np.ndarray:
    if values.shape[1] <= PREDICTABILITY_BLOCK:
        numeric = values[rows]
    else:
        numeric = values[rows, start : start + PREDICTABILITY_BLOCK]
    means = np.nanmean(np.where(np.isnan(numeric).all(axis=0), 0.0, numeric), axis=0)
    return np.where(np.isnan(numeric), means, numeric)
