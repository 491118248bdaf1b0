"""`MetaLearner`: from a dataset's meta-features to predicted performance of every configuration.

Generic over any (datasets x configurations) performance matrix; see docs/metalearner.md.
"""

from __future__ import annotations

import warnings
from typing import Literal

import numpy as np
import pandas as pd

from metarec.metalearner.diversity import diversify, similarity_row
from metarec.metalearner.models import ForestModel, NearestDatasets, Prediction, SingleBest
from metarec.metalearner.portfolio import (
    greedy_cover,
    greedy_portfolio,
    normalised_regret,
    portfolio_first,
    portfolio_key,
)
from metarec.metalearner.preprocess import MetaFeatureScaler, mean_l1_distance
from metarec.metalearner.selection import (
    CALIBRATION_RANKS,
    COMPONENTS,
    Candidate,
    bucket_scales,
    calibration_columns,
    choose_similarity_threshold,
    combine,
    inner_validation,
    key_positions,
)
from metarec.metalearner.surrogate import Objective, Surrogate
from metarec.metalearner.targets import ConfigurationEncoder, Normalisation, normalise

Model = Literal["auto", "knn", "surrogate", "forest", "sbs"]


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
            self.selection_, by_name, inner_folds = inner_validation(
                self, features, imputed, scores, config_matrix)
            best = self.selection_.index[0]
            self.candidate_ = by_name[best]
            self.uncertainty_scale_ = float(self.selection_.loc[best, "uncertainty_scale"])
            self.uncertainty_scales_ = self.selection_.loc[best, calibration_columns()].to_numpy(
                dtype=np.float64)
            self.diversity_selection_ = choose_similarity_threshold(self, config_matrix,
                                                                    inner_folds)
            self.similarity_threshold_ = float(self.diversity_selection_.index[0])
        else:
            self.similarity_threshold_ = self.similarity_threshold
            self.diversity_selection_ = None
            self.candidate_ = Candidate(weights=((self.model, 1.0),),
                                        warm_start_order=self.model == "knn",
                                        portfolio=None if self.portfolio == "auto"
                                        else self.portfolio)
            self.selection_ = None
            self.uncertainty_scale_ = 1.0
            self.uncertainty_scales_ = np.ones(len(CALIBRATION_RANKS) + 1)
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
            scale: float | np.ndarray = self.uncertainty_scale_
        else:
            preds = self._predict_components(self.components_, query, self._config_matrix)
            pred = combine(preds, self.candidate_)
            columns = self.configurations_
            # calibrated by the configuration's place in this dataset's ranking (as `auto`'s
            # inner validation measured it; see selection.calibration_scales)
            positions = key_positions(portfolio_key(pred.ranking_key, self.portfolio_))
            scale = bucket_scales(self.uncertainty_scales_, positions)
        pred = Prediction(z=pred.z, score=pred.score,
                          uncertainty=np.maximum(pred.uncertainty, self.uncertainty_floor_)
                          * scale,
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
    def embed(self, meta_features_new: pd.DataFrame | None = None) -> np.ndarray:
        """Meta-features as the learner compares datasets: scaled, with missing values imputed.

        ``None`` gives the knowledge-base datasets (rows in ``datasets_`` order)."""
        if meta_features_new is None:
            self._check_fitted()
            return self._imputed
        return self.scaler_.impute(self._query(meta_features_new))

    def candidate_set(self, meta_features_new: pd.DataFrame, k: int = 5,
                      n_neighbors: int | None = None) -> pd.DataFrame:
        """The ``k`` configurations to try first on each new dataset, in the order to try them.

        The set is the greedy portfolio of ``k`` (auto-sklearn 2.0): the configurations that
        together came closest to every knowledge-base dataset's best. Measured by
        bench/bench_portfolio.py, it closes far more of the single-best-to-oracle gap with its
        best member (about 57% with 3 tries, 70% with 5, 80% with 10 on the Oboe matrix) than any
        top-1 guess, and sets conditioned on the nearest datasets did not beat it. The members
        are ordered by this learner's ranking key, so the first try is its best guess.

        Long format: ``dataset``, ``position`` (1 = try first), ``configuration``, ``predicted``,
        ``uncertainty``, ``expected_best``: the mean over the ``n_neighbors`` (default: the
        learner's) nearest knowledge-base datasets of the best score among the first
        ``position`` members (original metric), i.e. what trying that many is expected to give.
        """
        pred, index, columns = self._predict(meta_features_new)
        k = max(1, min(int(k), len(columns)))
        members = greedy_cover(normalised_regret(self._scores), k, fill=True)
        dist = mean_l1_distance(self._query(meta_features_new), self._imputed)
        near = max(1, min(int(n_neighbors or self.n_neighbors), len(self.datasets_)))
        frames = []
        for i, name in enumerate(index):
            order = members[np.argsort(-pred.ranking_key[i, members], kind="stable")]
            nearest = np.argsort(dist[i], kind="stable")[:near]
            with np.errstate(invalid="ignore"), warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)  # a neighbour ran none of them
                best = np.fmax.accumulate(self._scores[np.ix_(nearest, order)], axis=1)
                expected = np.nanmean(best, axis=0)
            frames.append(pd.DataFrame({
                "dataset": [name] * len(order),
                "position": np.arange(1, len(order) + 1),
                "configuration": columns[order],
                "predicted": self._to_original(pred.score[i, order]),
                "uncertainty": pred.uncertainty[i, order],
                "expected_best": self._to_original(expected),
            }))
        return pd.concat(frames, ignore_index=True)

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
