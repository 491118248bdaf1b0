"""`MetaLearner`: from a dataset's meta-features to predicted performance of every configuration.

Generic over any (datasets x configurations) performance matrix; see docs/metalearner.md.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd

from metarec.metalearning import evaluation
from metarec.metalearning.models import ForestModel, NearestDatasets, Prediction, SingleBest
from metarec.metalearning.portfolio import greedy_portfolio, portfolio_first, portfolio_key
from metarec.metalearning.preprocess import MetaFeatureScaler, mean_l1_distance
from metarec.metalearning.surrogate import Objective, Surrogate
from metarec.metalearning.targets import ConfigurationEncoder, Normalisation, normalise

Model = Literal["auto", "knn", "surrogate", "forest", "sbs"]
COMPONENTS = ("surrogate", "forest", "knn", "sbs")
# Near-copy thresholds `auto` tries for rank(diverse=True), from almost none to strong diversity.
DIVERSITY_THRESHOLDS = (0.95, 0.9, 0.8, 0.7, 0.5)
# Portfolio sizes `auto` tries (besides ranking every configuration alike).
PORTFOLIO_SIZES = (8, 16, 24, 32)


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


def _combine(preds: dict[str, Prediction], candidate: Candidate) -> Prediction:
    if candidate.warm_start_order:
        return preds["knn"]
    parts = [(preds[m], w) for m, w in candidate.weights if w > 0]
    total = sum(w for _, w in parts)
    z = sum(w * p.z for p, w in parts) / total
    score = sum(w * p.score for p, w in parts) / total
    # variance of the mixture: members' own variance plus their disagreement
    var = sum(w * (p.uncertainty**2 + (p.score - score) ** 2) for p, w in parts) / total
    return Prediction(z=z, score=score, uncertainty=np.sqrt(var))


def _candidates(step: float, portfolio_sizes: tuple[int | None, ...]) -> list[Candidate]:
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


class MetaLearner:
    """Recommend configurations for a new dataset from a run history (see docs/metalearner.md).

    Parameters
    ----------
    model:
        ``"knn"`` (auto-sklearn's warm start), ``"surrogate"`` (LightGBM over meta-features and
        configuration features), ``"forest"`` (multi-output extremely randomised trees from
        meta-features to every configuration's normalised score), ``"sbs"`` (single best
        configuration), or ``"auto"``: the candidate (one of those or a weighted blend) with the
        lowest top-1 normalised regret in leave-datasets-out validation inside the training data.
    n_neighbors:
        Datasets averaged by the kNN estimate (the warm-start order walks all of them).
    normalisation:
        Per-dataset normalisation of performance the models learn from: ``"zscore"`` or
        ``"rank"`` (rank-Gauss).
    objective:
        Surrogate loss: ``"regression"`` on normalised scores or ``"lambdarank"``.
    n_members, n_estimators, learning_rate, num_leaves, min_child_samples:
        Surrogate ensemble size and LightGBM settings.
    n_trees:
        Trees of the ``forest`` model.
    inner_folds, blend_step:
        ``auto``'s inner validation folds and the grid step of blend weights.
    max_missing:
        Meta-features missing on a larger share of the knowledge-base datasets are dropped.
    ood_quantile:
        Quantile of the knowledge base's leave-one-out nearest-neighbour distances used as the
        out-of-distribution threshold.
    similarity_threshold:
        For ``rank(diverse=True)``: configurations whose knowledge-base performance profiles
        correlate at least this much with an already chosen one count as near-copies. ``auto``
        instead picks the threshold (from ``DIVERSITY_THRESHOLDS`` and this value) with the lowest
        top-5 regret in its inner validation (``similarity_threshold_``).
    portfolio:
        Rank the configurations of a greedy portfolio of this many (``portfolio_``: the few that
        together come closest to every knowledge-base dataset's best) before all others;
        ``None`` (the default) ranks every configuration alike. ``"auto"``: ``model="auto"``
        tries every candidate with each size of ``PORTFOLIO_SIZES`` and with none, and the inner
        validation chooses (``portfolio_size_``); a single model then ranks every configuration
        alike. Off by default: it gained a point or two at top-1 on the Oboe matrix but lost
        several on the OpenML100 runs and made the warm start worse (docs/metalearner.md).
    n_jobs, random_state:
        LightGBM threads; seed for the surrogate ensemble and the inner folds.
    """

    def __init__(self, model: Model = "auto", *, n_neighbors: int = 10,
                 normalisation: Normalisation = "rank", objective: Objective = "regression",
                 n_members: int = 4, n_estimators: int = 120, learning_rate: float = 0.08,
                 num_leaves: int = 31, min_child_samples: int = 20, n_trees: int = 200,
                 inner_folds: int = 3,
                 blend_step: float = 0.25, max_missing: float = 0.5, ood_quantile: float = 0.99,
                 similarity_threshold: float = 0.9,
                 portfolio: int | Literal["auto"] | None = None, n_jobs: int = 1,
                 random_state: int | np.random.RandomState | None = None) -> None:
        self.model = model
        self.n_neighbors = n_neighbors
        self.normalisation = normalisation
        self.objective = objective
        self.n_members = n_members
        self.n_estimators = n_estimators
        self.learning_rate = learning_rate
        self.num_leaves = num_leaves
        self.min_child_samples = min_child_samples
        self.n_trees = n_trees
        self.inner_folds = inner_folds
        self.blend_step = blend_step
        self.max_missing = max_missing
        self.ood_quantile = ood_quantile
        self.similarity_threshold = similarity_threshold
        self.portfolio = portfolio
        self.n_jobs = n_jobs
        self.random_state = random_state

    # ------------------------------------------------------------------ fitting
    def fit(self, meta_features: pd.DataFrame, performance: pd.DataFrame, maximize: bool,
            configuration_features: pd.DataFrame | None = None) -> MetaLearner:
        """Learn from ``performance`` (datasets x configurations, NaN = not run).

        Datasets present in both frames (by index) are used; configurations never run are
        dropped. ``configuration_features`` (configurations x features; text columns are one-hot
        encoded) let the surrogate generalise across configurations and score new ones.
        """
        if self.model not in ("auto", *COMPONENTS):
            raise ValueError(f"unknown model {self.model!r}; use auto, knn, surrogate, forest "
                             "or sbs.")
        counted = (isinstance(self.portfolio, int | np.integer)
                   and not isinstance(self.portfolio, bool) and self.portfolio > 0)
        if not (self.portfolio is None or self.portfolio == "auto" or counted):
            raise ValueError(f"portfolio must be a positive number of configurations, 'auto' or "
                             f"None, not {self.portfolio!r}.")
        if not isinstance(meta_features, pd.DataFrame) or not isinstance(performance,
                                                                         pd.DataFrame):
            raise TypeError("meta_features and performance must be pandas DataFrames.")
        perf = performance.apply(pd.to_numeric, errors="coerce").astype(np.float64)
        perf = perf.replace([np.inf, -np.inf], np.nan)
        perf = perf.loc[perf.notna().any(axis=1), perf.notna().any(axis=0)]
        common = perf.index[perf.index.isin(meta_features.index)]
        if len(common) < 2 or perf.shape[1] < 1:
            raise ValueError("need at least two datasets that have both meta-features and at "
                             "least one run.")
        perf = perf.loc[common]
        mf = meta_features.loc[~meta_features.index.duplicated()].loc[common]
        rng = (self.random_state if isinstance(self.random_state, np.random.RandomState)
               else np.random.RandomState(self.random_state))
        self._seed = int(rng.randint(0, 2**31 - 1))

        self.maximize_ = bool(maximize)
        self.datasets_ = pd.Index(common)
        self.configurations_ = pd.Index(perf.columns)
        scores = perf.to_numpy() if maximize else -perf.to_numpy()
        self.scaler_ = MetaFeatureScaler(max_missing=self.max_missing).fit(mf)
        self.metafeature_names_ = list(self.scaler_.columns_)
        features = self.scaler_.transform(mf)
        imputed = self.scaler_.impute(features)
        self.encoder_ = ConfigurationEncoder().fit(configuration_features, self.configurations_)
        config_matrix = self.encoder_.transform(
            None if configuration_features is None else configuration_features.loc[
                self.configurations_])
        self._config_matrix = config_matrix
        self._features, self._imputed, self._scores = features, imputed, scores
        normalised = normalise(scores, self.normalisation)
        # similarity of configurations uses z-scores whatever the training normalisation: ranks
        # would make two copies of one configuration look different wherever they swap places
        self._z = normalise(scores, "zscore").z
        self._similarity_cache: dict[int, np.ndarray] = {}

        # No prediction is more certain than a small share of how much scores vary in the KB: a
        # spread of zero (all neighbours agree) would otherwise claim perfect knowledge.
        self.uncertainty_floor_ = float(0.05 * np.nanstd(scores)) if np.isfinite(scores).any() \
            else 0.0
        if self.model == "auto":
            self.selection_ = self._inner_validation(features, imputed, scores, config_matrix)
            best = self.selection_.index[0]
            self.candidate_ = self._candidate_by_name[best]
            self.uncertainty_scale_ = float(self.selection_.loc[best, "uncertainty_scale"])
            self.diversity_selection_ = self._choose_similarity_threshold(config_matrix)
            self.similarity_threshold_ = float(self.diversity_selection_.index[0])
            del self._inner_folds_  # large, and only needed for the choice above
        else:
            self.similarity_threshold_ = self.similarity_threshold
            self.diversity_selection_ = None
            self.candidate_ = Candidate(weights=((self.model, 1.0),),
                                        warm_start_order=self.model == "knn",
                                        portfolio=None if self.portfolio == "auto"
                                        else self.portfolio)
            self.selection_ = None
            self.uncertainty_scale_ = 1.0
        self.portfolio_size_ = self.candidate_.portfolio
        self.portfolio_ = (None if self.portfolio_size_ is None
                           else greedy_portfolio(scores, self.portfolio_size_))
        self.components_ = self._fit_components(features, imputed, scores, normalised,
                                                config_matrix, self.candidate_.uses())

        # out-of-distribution threshold: how far each KB dataset is from its nearest other one
        dist = mean_l1_distance(features, imputed)
        np.fill_diagonal(dist, np.inf)
        nearest = dist.min(axis=1)
        finite = nearest[np.isfinite(nearest)]
        self.kb_nearest_distances_ = nearest
        self.ood_threshold_ = float(np.quantile(finite, self.ood_quantile)) if finite.size else 0.0
        filled = np.where(np.isnan(scores), -np.inf, scores)
        self._best_per_dataset = np.argmax(filled, axis=1)
        return self

    def _fit_components(self, features: np.ndarray, imputed: np.ndarray, scores: np.ndarray,
                        normalised, config_matrix: np.ndarray, needed: set[str]) -> dict:
        comps: dict = {}
        sbs = SingleBest().fit(scores, normalised)
        comps["sbs"] = sbs
        if "knn" in needed:
            comps["knn"] = NearestDatasets(self.n_neighbors).fit(imputed, scores, normalised, sbs)
        if "forest" in needed:
            comps["forest"] = ForestModel(n_estimators=self.n_trees, n_jobs=self.n_jobs,
                                          random_state=self._seed).fit(imputed, normalised)
        if "surrogate" in needed:
            comps["surrogate"] = Surrogate(
                objective=self.objective, n_members=self.n_members,
                n_estimators=self.n_estimators, learning_rate=self.learning_rate,
                num_leaves=self.num_leaves, min_child_samples=self.min_child_samples,
                n_jobs=self.n_jobs, random_state=self._seed,
            ).fit(features, config_matrix, normalised, self.encoder_.by_id_)
        return comps

    def _predict_components(self, comps: dict, query: np.ndarray,
                            config_matrix: np.ndarray) -> dict[str, Prediction]:
        out: dict[str, Prediction] = {"sbs": comps["sbs"].predict(len(query))}
        if "knn" in comps:
            out["knn"] = comps["knn"].predict(query)
        if "forest" in comps:
            out["forest"] = comps["forest"].predict(self.scaler_.impute(query))
        if "surrogate" in comps:
            out["surrogate"] = comps["surrogate"].predict(query, config_matrix)
        return out

    def _inner_validation(self, features: np.ndarray, imputed: np.ndarray, scores: np.ndarray,
                          config_matrix: np.ndarray) -> pd.DataFrame:
        """Score every candidate by leave-datasets-out inside the training data."""
        n = len(scores)
        n_folds = max(2, min(self.inner_folds, n))
        rng = np.random.RandomState(self._seed)
        folds = np.array_split(rng.permutation(n), n_folds)
        sizes = ((None, *PORTFOLIO_SIZES) if self.portfolio == "auto"
                 else (None if self.portfolio is None else int(self.portfolio),))
        candidates = _candidates(self.blend_step, sizes)
        self._candidate_by_name = {c.name: c for c in candidates}
        tables: dict[str, list[pd.DataFrame]] = {c.name: [] for c in candidates}
        sq_err: dict[str, list[np.ndarray]] = {c.name: [] for c in candidates}
        self._inner_folds_: list[tuple] = []
        for held in folds:
            train = np.setdiff1d(np.arange(n), held)
            normalised = normalise(scores[train], self.normalisation)
            comps = self._fit_components(features[train], imputed[train], scores[train],
                                         normalised, config_matrix, set(COMPONENTS))
            preds = self._predict_components(comps, features[held], config_matrix)
            truth = scores[held]
            reference = preds["sbs"].z
            members = {size: None if size is None else greedy_portfolio(scores[train], size)
                       for size in sizes}
            self._inner_folds_.append((preds, truth, reference,
                                       normalise(scores[train], "zscore").z, members))
            for cand in candidates:
                combined = _combine(preds, cand)
                key = portfolio_key(combined.ranking_key, members[cand.portfolio])
                tables[cand.name].append(evaluation.per_dataset(truth, key, reference, ks=(1, 5)))
                with np.errstate(invalid="ignore", divide="ignore"):
                    ratio = (truth - combined.score) / np.maximum(
                        combined.uncertainty, self.uncertainty_floor_)
                sq_err[cand.name].append(ratio[~np.isnan(truth)] ** 2)
        rows, regrets = [], {}
        for cand in candidates:
            table = pd.concat(tables[cand.name], ignore_index=True)
            regrets[cand.name] = table["regret@1"].to_numpy()
            # Robust (median-based) calibration: a handful of near-zero spreads among thousands
            # of predictions must not inflate every uncertainty.
            scale = float(np.sqrt(np.nanmedian(np.concatenate(sq_err[cand.name])))) / 0.6745
            rows.append({"candidate": cand.name, **evaluation.summary(table, ks=(1, 5)),
                         "components": len(cand.uses() - {"sbs"} if cand.warm_start_order
                                           else cand.uses()),
                         "uncertainty_scale": scale if np.isfinite(scale) else 1.0})
        frame = pd.DataFrame(rows).set_index("candidate")
        # One-standard-error rule: with 36 candidates (180 with portfolios) scored on a few
        # hundred datasets the lowest regret is partly luck, so every candidate within one
        # paired standard error of the best counts as tied, and the one with the fewest
        # components among those wins.
        best = frame["regret@1"].idxmin()
        within = {}
        for name, values in regrets.items():
            diff = values - regrets[best]
            se = float(np.std(diff, ddof=1) / np.sqrt(len(diff))) if len(diff) > 1 else 0.0
            within[name] = bool(np.mean(diff) <= se)
        frame["within_1se"] = pd.Series(within)
        return frame.sort_values(["within_1se", "components", "regret@1", "regret@5"],
                                 ascending=[False, True, True, True], kind="stable")

    def _choose_similarity_threshold(self, config_matrix: np.ndarray) -> pd.DataFrame:
        """Top-5 regret of the chosen candidate's diverse ranking, per similarity threshold.

        Uses the inner folds' predictions; similarities come from each fold's training part
        only, so the held-out datasets' runs never decide what counts as a near-copy.
        """
        features = None if self.encoder_.by_id_ else config_matrix
        thresholds = sorted({*DIVERSITY_THRESHOLDS, self.similarity_threshold}, reverse=True)
        tables: dict[float, list[pd.DataFrame]] = {t: [] for t in thresholds}
        for preds, truth, reference, z_train, portfolios in self._inner_folds_:
            combined = _combine(preds, self.candidate_)
            members = portfolios[self.candidate_.portfolio]
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
                    key[i, top[:5]] = -np.arange(5, dtype=float)
                    key[i, top[5:]] = -5.0 - np.arange(len(top) - 5, dtype=float)
                tables[t].append(evaluation.per_dataset(truth, key, reference, ks=(1, 5)))
        rows_out = [{"threshold": t, **evaluation.summary(pd.concat(tables[t]), ks=(5,))}
                    for t in thresholds]
        # lowest top-5 regret; on ties the higher threshold (less interference) wins
        return (pd.DataFrame(rows_out).set_index("threshold")
                .sort_values("regret@5", kind="stable"))

    # ------------------------------------------------------------------ prediction
    def _check_fitted(self) -> None:
        if not hasattr(self, "components_"):
            raise RuntimeError("this MetaLearner is not fitted yet; call fit() first.")

    def _query(self, meta_features_new: pd.DataFrame) -> np.ndarray:
        self._check_fitted()
        if isinstance(meta_features_new, pd.Series):
            meta_features_new = meta_features_new.to_frame().T
        if not isinstance(meta_features_new, pd.DataFrame):
            raise TypeError("meta_features_new must be a pandas DataFrame (datasets x features).")
        return self.scaler_.transform(meta_features_new)

    def _predict(self, meta_features_new: pd.DataFrame,
                 configuration_features: pd.DataFrame | None = None
                 ) -> tuple[Prediction, pd.Index, pd.Index]:
        query = self._query(meta_features_new)
        index = (meta_features_new.index if isinstance(meta_features_new, pd.DataFrame)
                 else pd.Index([meta_features_new.name]))
        if configuration_features is not None:
            if "surrogate" not in self.components_:
                raise ValueError(f"the {self.candidate_.name} model scores only configurations "
                                 "it was trained on; new configurations need the surrogate.")
            matrix = self.encoder_.transform(configuration_features)
            pred = self.components_["surrogate"].predict(query, matrix)
            columns = pd.Index(configuration_features.index)
        else:
            preds = self._predict_components(self.components_, query, self._config_matrix)
            pred = _combine(preds, self.candidate_)
            columns = self.configurations_
        pred = Prediction(z=pred.z, score=pred.score,
                          uncertainty=np.maximum(pred.uncertainty, self.uncertainty_floor_)
                          * self.uncertainty_scale_,
                          order_key=pred.order_key)
        return pred, index, columns

    def _to_original(self, score: np.ndarray) -> np.ndarray:
        return score if self.maximize_ else -score

    def predict(self, meta_features_new: pd.DataFrame,
                configuration_features: pd.DataFrame | None = None) -> pd.DataFrame:
        """Predicted performance (original metric and scale), new datasets x configurations.

        With ``configuration_features``, the surrogate scores those configurations instead.
        """
        pred, index, columns = self._predict(meta_features_new, configuration_features)
        return pd.DataFrame(self._to_original(pred.score), index=index, columns=columns)

    def predict_uncertainty(self, meta_features_new: pd.DataFrame,
                            configuration_features: pd.DataFrame | None = None) -> pd.DataFrame:
        """Uncertainty of :meth:`predict` as a standard deviation in the metric's units (>= 0)."""
        pred, index, columns = self._predict(meta_features_new, configuration_features)
        return pd.DataFrame(np.maximum(pred.uncertainty, 0.0), index=index, columns=columns)

    def rank(self, meta_features_new: pd.DataFrame, top_k: int | None = None,
             diverse: bool = False) -> pd.DataFrame:
        """Ranked configurations per new dataset, best first (long format).

        Columns: ``dataset``, ``rank`` (1 = best), ``configuration``, ``predicted``,
        ``uncertainty``, ``score`` (the ranking key). Members of the portfolio (``portfolio_``)
        come first, each part ordered by the key. With ``diverse=True`` a configuration whose
        knowledge-base performance profile nearly copies one already ranked is passed over, unless
        its predicted score beats the best alternative by more than their joint uncertainty.
        """
        pred, index, columns = self._predict(meta_features_new)
        key = pred.ranking_key
        k = len(columns) if top_k is None else max(0, min(int(top_k), len(columns)))
        frames = []
        for i, name in enumerate(index):
            order = portfolio_first(key[i], self.portfolio_)
            if diverse:
                order = diversify(order, pred.score[i], pred.uncertainty[i], k,
                                  self.similarity_threshold_, self.similarity)
            chosen = order[:k]
            frames.append(pd.DataFrame({
                "dataset": [name] * len(chosen),
                "rank": np.arange(1, len(chosen) + 1),
                "configuration": columns[chosen],
                "predicted": self._to_original(pred.score[i, chosen]),
                "uncertainty": pred.uncertainty[i, chosen],
                "score": key[i, chosen],
            }))
        return pd.concat(frames, ignore_index=True)

    def similarity(self, a: int) -> np.ndarray:
        """Similarity of configuration ``a`` (by position) to every configuration.

        The correlation of their normalised scores over the KB datasets that ran both; where
        fewer than five did, closeness of configuration features (1 - mean scaled difference)
        stands in, and 0 where there are none.
        """
        cache = self.__dict__.setdefault("_similarity_cache", {})
        if a not in cache:
            cache[a] = similarity_row(
                self._z, None if self.encoder_.by_id_ else self._config_matrix, a)
        return cache[a]

    # ------------------------------------------------------------------ evidence
    def neighbours(self, meta_features_new: pd.DataFrame, k: int = 3) -> pd.DataFrame:
        """The ``k`` nearest knowledge-base datasets per new dataset, with what won there.

        Columns: ``dataset``, ``rank``, ``neighbour``, ``distance`` (mean absolute difference of
        min-max scaled meta-features), ``best_configuration``, ``best_performance``.
        """
        query = self._query(meta_features_new)
        index = (meta_features_new.index if isinstance(meta_features_new, pd.DataFrame)
                 else pd.Index([meta_features_new.name]))
        dist = mean_l1_distance(query, self._imputed)
        k = max(0, min(int(k), len(self.datasets_)))
        rows = []
        for i, name in enumerate(index):
            for r, j in enumerate(np.argsort(dist[i], kind="stable")[:k], start=1):
                best = int(self._best_per_dataset[j])
                rows.append({"dataset": name, "rank": r, "neighbour": self.datasets_[j],
                             "distance": float(dist[i, j]),
                             "best_configuration": self.configurations_[best],
                             "best_performance": float(self._to_original(self._scores[j, best]))})
        return pd.DataFrame(rows, columns=["dataset", "rank", "neighbour", "distance",
                                           "best_configuration", "best_performance"])

    def out_of_distribution(self, meta_features_new: pd.DataFrame) -> pd.DataFrame:
        """Distance to the nearest knowledge-base dataset, the calibrated threshold, and the flag.

        The threshold is the ``ood_quantile`` of the knowledge base's own leave-one-out
        nearest-neighbour distances: at 0.99, one KB dataset in a hundred would be flagged.
        """
        query = self._query(meta_features_new)
        index = (meta_features_new.index if isinstance(meta_features_new, pd.DataFrame)
                 else pd.Index([meta_features_new.name]))
        nearest = mean_l1_distance(query, self._imputed).min(axis=1)
        return pd.DataFrame({"distance": nearest, "threshold": self.ood_threshold_,
                             "is_ood": nearest > self.ood_threshold_}, index=index)
