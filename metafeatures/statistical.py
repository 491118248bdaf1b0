"""Moments of the numeric attributes, summarised across attributes under OpenML's names.

Moments are computed a block of columns at a time so that a 1,000,000 x 100 table needs only a
few temporary copies of one block, never of the whole table.
"""

from __future__ import annotations

import warnings

import numpy as np

from metafeatures.prepared import PreparedData
from metafeatures.summary import summarize

BLOCK_COLUMNS = 8
# Correlations between attributes are estimated on at most this many rows (seeded sample)...
CORRELATION_SAMPLE_ROWS = 20_000
# ... and between at most this many numeric attributes (seeded sample among the non-constant
# ones): all pairs of p attributes cost p**2 memory and time, 3 GB and a minute at p = 20,000.
# 1,000 columns (499,500 pairs) keep every table of up to 1,000 numeric attributes exact.
CORRELATION_MAX_COLUMNS = 1_000


def column_moments(values: np.ndarray) -> dict[str, np.ndarray]:
    """Per-column count, mean, sample std, bias-corrected skewness and excess kurtosis.

    Skewness and kurtosis are the bias-corrected sample estimators (as in pandas and Apache
    Commons Math, which OpenML uses); NaN entries are ignored.
    """
    p = values.shape[1]
    out = {k: np.full(p, np.nan) for k in ("count", "mean", "std", "skewness", "kurtosis")}
    for start in range(0, p, BLOCK_COLUMNS):
        block = values[:, start : start + BLOCK_COLUMNS]
        missing = np.isnan(block)
        count = (~missing).sum(axis=0).astype(np.float64)
        with np.errstate(invalid="ignore", divide="ignore"):
            mean = np.nansum(block, axis=0) / count
            dev = np.where(missing, 0.0, block - mean)
            # Deviations in units of the largest one: a fourth power of values beyond ~1e77
            # overflows float64, and skewness and kurtosis do not depend on the unit.
            scale = np.abs(dev).max(axis=0)
            scale = np.where(np.isfinite(scale) & (scale > 0), scale, 1.0)
            dev = dev / scale
            dev2 = dev * dev
            m2 = dev2.sum(axis=0)
            m3 = (dev2 * dev).sum(axis=0)
            m4 = (dev2 * dev2).sum(axis=0)
            n = count
            # Relative to the mean's magnitude, a spread this small is rounding noise.
            constant = m2 <= (1e-12 * np.abs(mean) / scale) ** 2 * n
            skew = np.sqrt(n * (n - 1)) / (n - 2) * (m3 / n) / (m2 / n) ** 1.5
            kurt = (n + 1) * n * (n - 1) / ((n - 2) * (n - 3)) * m4 / (m2 * m2)
            kurt -= 3 * (n - 1) ** 2 / ((n - 2) * (n - 3))
        skew[constant | (n < 3)] = np.nan
        kurt[constant | (n < 4)] = np.nan
        sl = slice(start, start + block.shape[1])
        out["count"][sl] = count
        out["mean"][sl] = mean
        out["std"][sl] = np.where(n > 1, scale * np.sqrt(m2 / np.maximum(n - 1, 1)), np.nan)
        out["skewness"][sl] = skew
        out["kurtosis"][sl] = kurt
    return out


def correlation_columns(values: np.ndarray, random_state: int) -> np.ndarray:
    """The numeric attributes (indices, ascending) whose pairwise correlations are summarised
    when there are more than ``CORRELATION_MAX_COLUMNS``: a seeded sample of that many among the
    attributes that take at least two values (all of those if there are no more)."""
    with np.errstate(invalid="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN columns: not candidates
        varying = np.flatnonzero(np.nanmax(values, axis=0) > np.nanmin(values, axis=0))
    if varying.size <= CORRELATION_MAX_COLUMNS:
        return varying
    # Its own stream ([seed, 1]), so the row sample below is the same as without this step.
    rng = np.random.default_rng([random_state, 1])
    return np.sort(rng.choice(varying, CORRELATION_MAX_COLUMNS, replace=False))


def _correlation_summary(data: PreparedData) -> dict[str, float]:
    out = {"MeanAbsCorrelationOfNumericAtts": np.nan, "MaxAbsCorrelationOfNumericAtts": np.nan}
    values = data.numeric
    if values.shape[1] < 2:
        return out
    if values.shape[1] > CORRELATION_MAX_COLUMNS:
        values = values[:, correlation_columns(values, data.random_state)]
    if values.shape[0] > CORRELATION_SAMPLE_ROWS:
        rng = np.random.default_rng(data.random_state)
        rows = np.sort(rng.choice(values.shape[0], CORRELATION_SAMPLE_ROWS, replace=False))
        values = values[rows]
    # Pairwise-complete correlation is costly; mean-filling keeps it vectorised and unbiased
    # for the sign, and the quantity is only a coarse profile of redundancy.
    present = ~np.isnan(values)
    counts = present.sum(axis=0)
    means = np.where(present, values, 0.0).sum(axis=0) / np.maximum(counts, 1)
    filled = np.where(present, values, means) - means
    # In units of each column's largest deviation, so products of large values cannot overflow
    # (a correlation does not depend on the unit).
    scale = np.abs(filled).max(axis=0)
    keep = np.isfinite(scale) & (scale > 0)
    if keep.sum() < 2:
        return out
    corr = np.corrcoef(filled[:, keep] / scale[keep], rowvar=False)
    upper = np.abs(corr[np.triu_indices_from(corr, k=1)])
    out["MeanAbsCorrelationOfNumericAtts"] = float(np.nanmean(upper))
    out["MaxAbsCorrelationOfNumericAtts"] = float(np.nanmax(upper))
    return out


def compute(data: PreparedData) -> dict[str, float]:
    moments = column_moments(data.numeric)
    out: dict[str, float] = {}
    out.update(summarize(moments["mean"], "MeansOfNumericAtts"))
    out.update(summarize(moments["std"], "StdDevOfNumericAtts"))
    out.update(summarize(moments["skewness"], "SkewnessOfNumericAtts"))
    out.update(summarize(moments["kurtosis"], "KurtosisOfNumericAtts"))
    out.update(_correlation_summary(data))
    return out
