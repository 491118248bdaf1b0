"""Scoring a ranking against the truth: regret, rank and the share of the SBS-VBS gap closed.

All functions take scores where higher is better (negate a loss first); every quantity below is
invariant to that sign flip when expressed as a ratio of differences.

For one dataset with observed configurations O (NaN = not run), a ranking restricted to O and k:

* chosen@k  = the best true score among the ranking's first k configurations in O
* VBS       = the best true score in O (the per-dataset oracle)
* SBS       = the true score of the reference (single best) configuration's top-1 in O
* normalised regret@k = (VBS - chosen@k) / (VBS - worst in O), 0 when all of O tie
* rank@k    = 1 + number of configurations in O strictly better than chosen@k
              (+ half the ties), so 1 is the oracle
* gap closed@k over a set of datasets = sum(chosen@k - SBS) / sum(VBS - SBS)  -- a ratio of
  means (ASlib's convention); 1 = oracle, 0 = no better than SBS, negative = worse than SBS.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd


def chosen_at_k(truth: np.ndarray, key: np.ndarray, k: int) -> np.ndarray:
    """Best true score among each row's top-``k`` (by ``key``) configurations that were run."""
    out = np.full(truth.shape[0], np.nan)
    for i in range(truth.shape[0]):
        observed = np.flatnonzero(~np.isnan(truth[i]))
        if observed.size == 0:
            continue
        order = observed[np.argsort(-key[i, observed], kind="stable")]
        out[i] = np.max(truth[i, order[:k]])
    return out


def per_dataset(truth: np.ndarray, key: np.ndarray, reference_key: np.ndarray,
                ks: Sequence[int] = (1, 5)) -> pd.DataFrame:
    """One row per dataset: sbs, vbs, worst, and chosen/regret/rank at each k."""
    with np.errstate(invalid="ignore"):
        vbs = np.nanmax(truth, axis=1)
        worst = np.nanmin(truth, axis=1)
    out = {"sbs": chosen_at_k(truth, reference_key, 1), "vbs": vbs, "worst": worst}
    span = vbs - worst
    for k in ks:
        chosen = chosen_at_k(truth, key, k)
        with np.errstate(invalid="ignore", divide="ignore"):
            regret = np.where(span > 0, (vbs - chosen) / span, 0.0)
        better = np.nansum(truth > chosen[:, None], axis=1)
        ties = np.nansum(truth == chosen[:, None], axis=1) - 1
        out[f"chosen@{k}"] = chosen
        out[f"regret@{k}"] = regret
        out[f"rank@{k}"] = 1.0 + better + 0.5 * np.maximum(ties, 0)
    return pd.DataFrame(out)


def gap_closed(table: pd.DataFrame, k: int) -> float:
    """Share of the SBS-VBS gap closed at ``k`` (ratio of means; see the module docstring)."""
    valid = table.dropna(subset=["sbs", "vbs", f"chosen@{k}"])
    gap = float((valid["vbs"] - valid["sbs"]).sum())
    if gap <= 0:
        return float("nan")
    return float((valid[f"chosen@{k}"] - valid["sbs"]).sum()) / gap


def summary(table: pd.DataFrame, ks: Sequence[int] = (1, 5)) -> dict[str, float]:
    """Aggregate figures over datasets: gap closed, mean normalised regret, mean rank."""
    out: dict[str, float] = {}
    for k in ks:
        out[f"gap_closed@{k}"] = gap_closed(table, k)
        out[f"regret@{k}"] = float(table[f"regret@{k}"].mean())
        out[f"rank@{k}"] = float(table[f"rank@{k}"].mean())
    return out


def within_one_standard_error(difference: np.ndarray) -> bool:
    """The one-standard-error rule on paired differences (candidate minus reference, lower is
    better): the candidate counts as tied with the reference when its mean difference is at most
    one standard error of that mean. With many candidates scored on a few hundred datasets the
    lowest score is partly luck; ties then go to the simpler choice. One difference (or none)
    has no standard error, so it only ties when it is not positive."""
    difference = np.asarray(difference, dtype=float)
    if len(difference) == 0:
        return True
    se = float(np.std(difference, ddof=1) / np.sqrt(len(difference))) if len(difference) > 1 \
        else 0.0
    return bool(np.mean(difference) <= se)
