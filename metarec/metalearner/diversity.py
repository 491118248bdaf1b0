"""Diversity of a ranking: which configurations nearly copy each other, and a top-k without
near-copies unless the evidence says a copy is better."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np


def similarity_row(z: np.ndarray, config_matrix: np.ndarray | None, a: int) -> np.ndarray:
    """Similarity of configuration ``a`` to every configuration (see MetaLearner.similarity)."""
    both = ~np.isnan(z[:, [a]]) & ~np.isnan(z)
    count = both.sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        xa = np.where(both, z[:, [a]], 0.0)
        xb = np.where(both, z, 0.0)
        da = np.where(both, xa - xa.sum(axis=0) / count, 0.0)
        db = np.where(both, xb - xb.sum(axis=0) / count, 0.0)
        var_a, var_b = (da**2).sum(axis=0), (db**2).sum(axis=0)
        corr = (da * db).sum(axis=0) / np.sqrt(var_a * var_b)
    flat = (var_a <= 1e-24) | (var_b <= 1e-24)
    same = np.all(np.where(both, np.isclose(xa, xb), True), axis=0)
    corr = np.where(flat, np.where(same, 1.0, 0.0), corr)
    if config_matrix is None:
        fallback = np.zeros(len(count))
    else:
        m = config_matrix
        span = np.nanmax(m, axis=0) - np.nanmin(m, axis=0)
        diff = np.abs(m[a] - m) / np.where(span > 0, span, 1.0)
        fallback = 1.0 - np.nanmean(np.where(np.isnan(diff), 1.0, diff), axis=1)
    row = np.where(count >= 5, np.nan_to_num(corr), fallback)
    row[a] = 1.0
    return row


def diversify(order: np.ndarray, score: np.ndarray, unc: np.ndarray, k: int, threshold: float,
              similarity: Callable[[int], np.ndarray]) -> np.ndarray:
    """Reorder the first ``k`` of ``order`` so that near-copies are deferred.

    Greedy: take candidates in ranking order; one whose similarity to an already chosen one is at
    least ``threshold`` is passed over for the best non-copy, unless the evidence (its score
    margin beyond the joint uncertainty) says it is better.
    """
    remaining = list(order)
    chosen: list[int] = []
    closest = np.full(len(score), -np.inf)
    while remaining and len(chosen) < k:
        pick = remaining[0]
        if closest[pick] >= threshold:
            alt = next((c for c in remaining if closest[c] < threshold), None)
            if alt is not None and score[pick] - score[alt] <= np.hypot(unc[pick], unc[alt]):
                pick = alt
        chosen.append(pick)
        remaining.remove(pick)
        closest = np.maximum(closest, similarity(pick))
    return np.array(chosen + remaining, dtype=int)
