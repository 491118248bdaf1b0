"""``model="auto"``: the candidates, their inner validation and the one-standard-error rule.

A candidate is a blend of the learner's component models (or the kNN warm-start order), optionally
ranking a greedy portfolio first; ``auto`` scores every candidate by leave-datasets-out inside the
training data and then picks the near-copy threshold of the diverse ranking the same way.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from metarec.metalearner import evaluation
from metarec.metalearner.diversity import diversify, similarity_row
from metarec.metalearner.models import Prediction
from metarec.metalearner.portfolio import greedy_portfolio, portfolio_first, portfolio_key
from metarec.metalearner.targets import normalise

COMPONENTS = ("surrogate", "forest", "knn", "sbs")
# Near-copy thresholds `auto` tries for rank(diverse=True), from almost none to strong diversity.
DIVERSITY_THRESHOLDS = (0.95, 0.9, 0.8, 0.7, 0.5)
# Portfolio sizes `auto` tries (besides ranking every configuration alike).
PORTFOLIO_SIZES = (8, 16, 24, 32)
# Uncertainty is calibrated separately for the configurations a dataset's ranking puts in
# positions 1-5, 6-20, 21-50 and 51 on: the components' spread is largest at the top, where the
# errors are not, so one scale for all left positions 1-5 (what `recommend` shows) at 78%
# coverage of ±1 sd and 51+ at 68.5% (bench/bench_calibration.py, docs/metalearner.md).
CALIBRATION_RANKS = (5, 20, 50)
# The share of held-out errors within ± one calibrated uncertainty: a normal's ±1 sd.
CALIBRATION_COVERAGE = 0.6827
# A rank bucket with fewer held-out cells than this takes the scale of all cells.
MIN_CALIBRATION_CELLS = 30


@dataclass(frozen=True)
class Candidate:
    """One way of ranking that ``auto`` may choose: a blend of components, or the kNN order,
    optionally ranking a greedy portfolio of ``portfolio`` configurations first."""

    weights: tuple[tuple[str, float], ...]
    warm_start_order: bool = False
    portfolio: int | None = None

    @property
    def name(self) -> str:
        suffix = "" if self.portfolio is None else f" + portfolio {self.portfolio}"
        if self.warm_start_order:
            return "knn" + suffix
        parts = [(m, w) for m, w in self.weights if w > 0]
        if len(parts) == 1:
            # the kNN *estimate* ranks by weighted neighbour scores, unlike the warm-start order
            return ("knn-estimate" if parts[0][0] == "knn" else parts[0][0]) + suffix
        return "blend(" + ", ".join(f"{m}={w:.2f}" for m, w in parts) + ")" + suffix

    def uses(self) -> set[str]:
        used = {m for m, w in self.weights if w > 0}
        return used | ({"knn", "sbs"} if self.warm_start_order else set())


def combine(preds: dict[str, Prediction], candidate: Candidate) -> Prediction:
    if candidate.warm_start_order:
        return preds["knn"]
    parts = [(preds[m], w) for m, w in candidate.weights if w > 0]
    total = sum(w for _, w in parts)
    z = sum(w * p.z for p, w in parts) / total
    score = sum(w * p.score for p, w in parts) / total
    # variance of the mixture: members' own variance plus their disagreement
    var = sum(w * (p.uncertainty**2 + (p.score - score) ** 2) for p, w in parts) / total
    return Prediction(z=z, score=score, uncertainty=np.sqrt(var))


def candidates_for(step: float, portfolio_sizes: tuple[int | None, ...]) -> list[Candidate]:
    """The kNN warm start, each pure model, then every blend on a grid of weights summing to 1;
    each with every one of ``portfolio_sizes`` (``None``: no portfolio)."""
    steps = int(round(1.0 / step))
    rankings = [(("knn", 1.0),), *(((m, 1.0),) for m in ("sbs", "surrogate", "forest", "knn"))]
    for parts in itertools.product(range(steps + 1), repeat=len(COMPONENTS) - 1):
        last = steps - sum(parts)
        if last < 0:
            continue
        counts = (*parts, last)
        if sum(c > 0 for c in counts) > 1:
            rankings.append(tuple((m, c / steps) for m, c in zip(COMPONENTS, counts, strict=True)))
    return [Candidate(weights=weights, warm_start_order=i == 0, portfolio=size)
            for size in portfolio_sizes for i, weights in enumerate(rankings)]


def inner_validation(learner: Any, features: np.ndarray, imputed: np.ndarray,
                     scores: np.ndarray, config_matrix: np.ndarray
                     ) -> tuple[pd.DataFrame, dict[str, Candidate], list[tuple]]:
    """Score every candidate by leave-datasets-out inside the training data.

    Returns the candidates' table (best first, by the one-standard-error rule), the candidates by
    name, and each inner fold's predictions (for :func:`choose_similarity_threshold`)."""
    n = len(scores)
    n_folds = max(2, min(learner.inner_folds, n))
    rng = np.random.RandomState(learner._seed)
    folds = np.array_split(rng.permutation(n), n_folds)
    sizes = ((None, *PORTFOLIO_SIZES) if learner.portfolio == "auto"
             else (None if learner.portfolio is None else int(learner.portfolio),))
    candidates = candidates_for(learner.blend_step, sizes)
    by_name = {c.name: c for c in candidates}
    tables: dict[str, list[pd.DataFrame]] = {c.name: [] for c in candidates}
    ratios: dict[str, list[np.ndarray]] = {c.name: [] for c in candidates}
    positions: dict[str, list[np.ndarray]] = {c.name: [] for c in candidates}
    inner_folds: list[tuple] = []
    for held in folds:
        train = np.setdiff1d(np.arange(n), held)
        normalised = normalise(scores[train], learner.normalisation)
        comps = learner._fit_components(features[train], imputed[train], scores[train],
                                     normalised, config_matrix, set(COMPONENTS))
        preds = learner._predict_components(comps, features[held], config_matrix)
        truth = scores[held]
        reference = preds["sbs"].z
        members = {size: None if size is None else greedy_portfolio(scores[train], size)
                   for size in sizes}
        inner_folds.append((preds, truth, reference,
                                   normalise(scores[train], "zscore").z, members))
        for cand in candidates:
            combined = combine(preds, cand)
            key = portfolio_key(combined.ranking_key, members[cand.portfolio])
            tables[cand.name].append(evaluation.per_dataset(truth, key, reference, ks=(1, 5)))
            with np.errstate(invalid="ignore", divide="ignore"):
                ratio = np.abs(truth - combined.score) / np.maximum(
                    combined.uncertainty, learner.uncertainty_floor_)
            ran = ~np.isnan(truth)
            ratios[cand.name].append(ratio[ran])
            positions[cand.name].append(key_positions(key)[ran])
    rows, regrets = [], {}
    for cand in candidates:
        table = pd.concat(tables[cand.name], ignore_index=True)
        regrets[cand.name] = table["regret@1"].to_numpy()
        scales = calibration_scales(np.concatenate(ratios[cand.name]),
                                    np.concatenate(positions[cand.name]))
        rows.append({"candidate": cand.name, **evaluation.summary(table, ks=(1, 5)),
                     "components": len(cand.uses() - {"sbs"} if cand.warm_start_order
                                       else cand.uses()),
                     "uncertainty_scale": scales[0],
                     **{column: value for column, value in
                        zip(calibration_columns(), scales[1:], strict=True)}})
    frame = pd.DataFrame(rows).set_index("candidate")
    # One-standard-error rule: with 36 candidates (180 with portfolios) scored on a few
    # hundred datasets the lowest regret is partly luck, so every candidate within one
    # paired standard error of the best counts as tied, and the one with the fewest
    # components among those wins.
    best = frame["regret@1"].idxmin()
    within = {name: evaluation.within_one_standard_error(values - regrets[best])
              for name, values in regrets.items()}
    frame["within_1se"] = pd.Series(within)
    table = frame.sort_values(["within_1se", "components", "regret@1", "regret@5"],
                              ascending=[False, True, True, True], kind="stable")
    return table, by_name, inner_folds

def key_positions(key: np.ndarray) -> np.ndarray:
    """Each configuration's position (1 = first) in its dataset's ranking by ``key``."""
    order = np.argsort(-key, axis=1, kind="stable")
    positions = np.empty_like(order)
    np.put_along_axis(positions, order, np.arange(1, key.shape[1] + 1)[None, :], axis=1)
    return positions


def calibration_columns() -> list[str]:
    """The selection table's columns with the scale of each bucket of ranking positions."""
    edges = (0, *CALIBRATION_RANKS)
    return [*(f"uncertainty_scale {a + 1}-{b}" for a, b in zip(edges, edges[1:], strict=False)),
            f"uncertainty_scale {CALIBRATION_RANKS[-1] + 1}+"]


def calibration_scales(ratio: np.ndarray, position: np.ndarray) -> list[float]:
    """Factors that make ± one uncertainty hold ``CALIBRATION_COVERAGE`` of held-out errors.

    ``ratio``: |true - predicted| / reported uncertainty per held-out cell; ``position``: the
    cell's place in its dataset's ranking. Returns the factor over all cells, then one per bucket
    of positions (``CALIBRATION_RANKS``; a bucket with too few cells takes the overall factor).
    The empirical quantile targets the coverage itself, whatever the errors' distribution; a
    few near-zero spreads move it no more than any other cells.
    """
    finite = np.isfinite(ratio)
    ratio, position = ratio[finite], position[finite]

    def scale(values: np.ndarray) -> float:
        value = float(np.quantile(values, CALIBRATION_COVERAGE)) if values.size else np.nan
        return value if np.isfinite(value) and value > 0 else 1.0

    overall = scale(ratio)
    edges = (0, *CALIBRATION_RANKS, np.inf)
    buckets = []
    for low, high in zip(edges, edges[1:], strict=False):
        inside = (position > low) & (position <= high)
        buckets.append(scale(ratio[inside]) if inside.sum() >= MIN_CALIBRATION_CELLS
                       else overall)
    return [overall, *buckets]


def bucket_scales(scales: np.ndarray, positions: np.ndarray) -> np.ndarray:
    """The calibration factor of each cell, from its ranking position (see calibration_scales)."""
    return np.asarray(scales)[np.searchsorted(np.asarray(CALIBRATION_RANKS), positions,
                                              side="left")]


def choose_similarity_threshold(learner: Any, config_matrix: np.ndarray,
                                inner_folds: list[tuple]) -> pd.DataFrame:
    """Top-5 regret of the chosen candidate's diverse ranking, per similarity threshold.

    Uses the inner folds' predictions; similarities come from each fold's training part
    only, so the held-out datasets' runs never decide what counts as a near-copy.
    """
    features = None if learner.encoder_.by_id_ else config_matrix
    thresholds = sorted({*DIVERSITY_THRESHOLDS, learner.similarity_threshold}, reverse=True)
    tables: dict[float, list[pd.DataFrame]] = {t: [] for t in thresholds}
    for preds, truth, reference, z_train, portfolios in inner_folds:
        combined = combine(preds, learner.candidate_)
        members = portfolios[learner.candidate_.portfolio]
        rows: dict[int, np.ndarray] = {}

        def sim(a: int, z_train: np.ndarray = z_train,
                rows: dict[int, np.ndarray] = rows) -> np.ndarray:
            if a not in rows:
                rows[a] = similarity_row(z_train, features, a)
            return rows[a]

        for t in thresholds:
            key = np.full(truth.shape, -np.inf)
            for i in range(len(truth)):
                order = portfolio_first(combined.ranking_key[i], members)
                top = diversify(order, combined.score[i], combined.uncertainty[i], 5, t, sim)
                # the diverse top 5 first, then the rest in order (fewer than 5 configurations:
                # all of them)
                key[i, top] = -np.arange(len(top), dtype=float)
            tables[t].append(evaluation.per_dataset(truth, key, reference, ks=(1, 5)))
    rows_out = [{"threshold": t, **evaluation.summary(pd.concat(tables[t]), ks=(5,))}
                for t in thresholds]
    # lowest top-5 regret; on ties the higher threshold (less interference) wins
    return (pd.DataFrame(rows_out).set_index("threshold")
            .sort_values("regret@5", kind="stable"))
