"""A greedy portfolio: the few configurations that together cover the knowledge base best.

Picking the top-1 of a few hundred noisy predictions favours whichever configuration's
prediction happens to be most overestimated. Ranking a small portfolio of complementary
configurations first (auto-sklearn 2.0's greedy portfolio construction, Feurer et al. 2022)
narrows the choice to configurations that were each the answer for some part of the knowledge
base, and makes a top-5 cover different regions by construction.
"""

from __future__ import annotations

import numpy as np


def normalised_regret(scores: np.ndarray) -> np.ndarray:
    """Per dataset, (best - score) / (best - worst): 0 = the dataset's best, 1 = its worst.

    ``scores`` are higher-is-better; a configuration not run on a dataset (NaN) counts as that
    dataset's worst, so a configuration with little evidence is not preferred for its gaps.
    """
    with np.errstate(invalid="ignore"):
        best = np.nanmax(scores, axis=1, keepdims=True)
        worst = np.nanmin(scores, axis=1, keepdims=True)
    span = best - worst
    with np.errstate(invalid="ignore", divide="ignore"):
        regret = np.where(span > 0, (best - scores) / span, 0.0)
    return np.where(np.isnan(scores), 1.0, regret)


def greedy_portfolio(scores: np.ndarray, size: int) -> np.ndarray:
    """Indices (columns of ``scores``) of a portfolio of at most ``size`` configurations.

    :func:`greedy_cover` over :func:`normalised_regret`. It stops early when no configuration
    lowers the regret further: the portfolio ranks the meta-learner's candidates first, and a
    member that is nobody's better choice would only dilute it. (``metarec kb add`` uses the same
    loop on its own normalisation and fills its portfolio to the size asked for; see
    :func:`metarec.kb.add.greedy_portfolio`.)
    """
    return greedy_cover(normalised_regret(np.asarray(scores, dtype=np.float64)), size)


def greedy_cover(regret: np.ndarray, size: int, fill: bool = False,
                 weights: np.ndarray | None = None) -> np.ndarray:
    """The greedy portfolio loop: indices (columns of ``regret``, datasets x configurations,
    lower is better, no NaN) of at most ``size`` configurations.

    Each step adds the configuration that most lowers the mean over datasets of the portfolio's
    best regret (the regret an oracle choosing within the portfolio would have); ties go to the
    lower index. ``weights`` (one per dataset, >= 0) make it a weighted mean, e.g. to cover the
    datasets most like a new one. It stops early when no configuration lowers it further, unless
    ``fill``: then it goes on to ``size`` members.
    """
    regret = np.asarray(regret, dtype=np.float64)
    n_datasets, n_configurations = regret.shape
    if n_datasets == 0 or n_configurations == 0 or size <= 0:
        return np.array([], dtype=int)
    w = None if weights is None else np.asarray(weights, dtype=np.float64) / np.sum(weights)

    def mean(values: np.ndarray) -> np.ndarray:
        return values.mean(axis=0) if w is None else w @ values

    covered = np.full(n_datasets, np.inf)
    chosen: list[int] = []
    available = np.ones(n_configurations, dtype=bool)
    while len(chosen) < min(size, n_configurations):
        value = mean(np.minimum(covered[:, None], regret))
        value[~available] = np.inf
        pick = int(np.argmin(value))
        if chosen and not fill and value[pick] >= float(mean(covered)):
            break
        chosen.append(pick)
        available[pick] = False
        covered = np.minimum(covered, regret[:, pick])
    return np.array(chosen, dtype=int)


def portfolio_first(key: np.ndarray, members: np.ndarray | None) -> np.ndarray:
    """Ranking order of one dataset's ``key`` (higher first) with ``members`` ranked first.

    Inside and outside the portfolio the order is by ``key``; ``None`` ranks by ``key`` alone.
    """
    if members is None:
        return np.argsort(-key, kind="stable")
    outside = np.ones(len(key), dtype=bool)
    outside[members] = False
    return np.lexsort((-key, outside))


def portfolio_key(key: np.ndarray, members: np.ndarray | None) -> np.ndarray:
    """``key`` (datasets x configurations) shifted so that ``members`` outrank everything else.

    The same order as :func:`portfolio_first`, as a key for scoring functions that take one.
    """
    if members is None:
        return key
    finite = key[np.isfinite(key)]
    lift = (finite.max() - finite.min() + 1.0) if finite.size else 1.0
    shifted = np.array(key, dtype=np.float64, copy=True)
    shifted[:, members] += lift
    return shifted
