"""Standalone meta-feature extractor.

``extract(X, y)`` profiles a dataset and returns a float Series indexed by meta-feature name.
Every quantity that OpenML also computes carries OpenML's quality name and follows OpenML's
definition, so local profiles and OpenML's stored qualities form one vocabulary. Values that are
undefined for a dataset (skewness without numeric attributes, class entropy for regression, ...)
are NaN, never an exception.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import numpy as np
import pandas as pd

from metafeatures import info_theory, landmarking, missingness, simple, statistical
from metafeatures.errors import MetaFeatureError
from metafeatures.prepared import PreparedData, infer_task, prepare

GROUPS: dict[str, Callable[[PreparedData], dict[str, float]]] = {
    "simple": simple.compute,
    "statistical": statistical.compute,
    "info-theory": info_theory.compute,
    "missingness": missingness.compute,
    "landmarking": landmarking.compute,
}

__all__ = ["GROUPS", "MetaFeatureError", "extract", "extract_by_group", "infer_task", "prepare"]


def _check_groups(groups: Iterable[str] | None) -> list[str]:
    if groups is None:
        return list(GROUPS)
    if isinstance(groups, str):
        groups = [groups]
    chosen = list(dict.fromkeys(groups))
    unknown = [g for g in chosen if g not in GROUPS]
    if unknown:
        raise MetaFeatureError(
            f"unknown meta-feature group(s) {', '.join(unknown)}; choose from {', '.join(GROUPS)}."
        )
    return chosen


def extract_by_group(
    X: pd.DataFrame,
    y: pd.Series,
    groups: Iterable[str] | None = None,
    random_state: int = 0,
    task: str | None = None,
) -> dict[str, pd.Series]:
    """Like :func:`extract`, but one Series per group (in the order asked)."""
    from threadpoolctl import threadpool_limits

    chosen = _check_groups(groups)
    data = prepare(X, y, task=task, random_state=random_state)
    # The matrix products here are small; a second BLAS thread only adds synchronisation, which
    # on a busy machine made one 20,000 x 24 correlation matrix take seconds instead of ms.
    with threadpool_limits(1, user_api="blas"):
        return {
            name: pd.Series(GROUPS[name](data), dtype=np.float64, name=name) for name in chosen
        }


def extract(
    X: pd.DataFrame,
    y: pd.Series,
    groups: Iterable[str] | None = None,
    random_state: int = 0,
    task: str | None = None,
) -> pd.Series:
    """Profile ``(X, y)``; return float meta-features indexed by name.

    ``groups`` picks among ``GROUPS`` (all by default). ``task`` is "classification" or
    "regression" (inferred from ``y`` when omitted). ``random_state`` seeds the sampling that the
    landmarking and association features use on large data.
    """
    parts = extract_by_group(X, y, groups=groups, random_state=random_state, task=task)
    return pd.concat(list(parts.values())) if parts else pd.Series(dtype=np.float64)
