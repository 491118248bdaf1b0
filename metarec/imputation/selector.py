"""Imputer recommendation: which imputation to use for this dataset's missing values.

Trained from the imputation run campaign (``bench/imputation_campaign.py``, tables in
``knowledge_base/imputation/``): for every campaign dataset and estimator family, the
cross-validated score of every imputer. The question answered is the one the benchmark scores:
*which imputer lands within ``tolerance`` (0.01) of the best imputer's CV score?* Two models
estimate, for a new dataset, the probability that each imputer does:

* ``knn``: the share of the ``k`` nearest campaign datasets (L1 on scaled meta-features) on which
  the imputer was within tolerance, distance-weighted;
* ``gbm``: a LightGBM classifier over (meta-features, estimator family, imputer), bagged over seeds
  so that the spread of its members gives an uncertainty.

``model="auto"`` (the default) picks among them, their blend and the single best imputer per
family by grouped inner cross-validation (injected variants of one origin dataset stay together),
keeping the single best imputer unless a model beats it by more than one standard error.
The fitted selector is stored as JSON (LightGBM's own text model inside), never pickled.

The inputs have the shapes of :class:`metarec.metalearner.MetaLearner`: meta-features
(datasets x features) and performance (datasets x configurations, configurations named
``"<family>:<imputer>"``, NaN = not run).
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from metarec.errors import MetaRecError
from metarec.files import atomic_write_text
from metarec.jsonable import to_jsonable
from metarec.metalearner.evaluation import within_one_standard_error
from metarec.metalearner.preprocess import MetaFeatureScaler, mean_l1_distance

FORMAT = "metarec-imputer-selector/2"
TOLERANCE = 0.01
FAMILIES = ("linear", "random_forest", "lightgbm")
NATIVE_FAMILIES = ("lightgbm",)
TREE_ALGORITHMS = ("random_forest", "extra_trees", "decision_tree", "gradient_boosting",
                   "adaboost")
MODELS = ("knn", "knn_wide", "gbm", "blend", "single_best")
# A measured probe (metarec.imputation.probe) decides; imputers it cannot tell apart from its best
# (within half the hit tolerance: its own fold noise) are ordered by the meta-feature model.
PROBE_BAND = TOLERANCE / 2
# Campaign labels are noisy (CV noise is about the size of the tolerance), so a wide, smoother
# neighbourhood is a candidate beside the narrow one; inner validation decides.
WIDE_NEIGHBORS = 25

# Missingness says most about the choice; a few general descriptors say what kind of data it is.
GENERAL_FEATURES = (
    "NumberOfInstances", "NumberOfFeatures", "NumberOfNumericFeatures",
    "NumberOfSymbolicFeatures", "PercentageOfNumericFeatures", "NumberOfClasses",
    "Dimensionality", "MeanAbsCorrelationOfNumericAtts", "MaxAbsCorrelationOfNumericAtts",
    "MeanSkewnessOfNumericAtts", "MeanKurtosisOfNumericAtts", "MeanMutualInformation",
    "MeanNominalAttDistinctValues",
)
MISSINGNESS_FEATURES = (
    "MissingValueRate", "NumericMissingValueRate", "SymbolicMissingValueRate",
    "RowsWithMissingRate", "ColumnsWithMissingRate", "MeanMissingRateOfColumnsWithMissing",
    "MaxMissingRateOfColumns", "MissingPatternCount", "MissingPatternEntropy",
    "MeanAbsCorrelationOfMissingIndicators", "MeanMissingTargetAssociation",
    "MaxMissingTargetAssociation", "MeanMissingPredictability", "MaxMissingPredictability",
)
FEATURES = MISSINGNESS_FEATURES + GENERAL_FEATURES
# Counts span orders of magnitude; on a log scale distances and splits see the shape, not size.
LOG_FEATURES = ("NumberOfInstances", "NumberOfFeatures", "NumberOfNumericFeatures",
                "NumberOfSymbolicFeatures", "NumberOfClasses", "MissingPatternCount",
                "MeanNominalAttDistinctValues", "MeanKurtosisOfNumericAtts",
                "MeanSkewnessOfNumericAtts")


class ImputationError(MetaRecError, ValueError):
    """The imputer recommender cannot answer (no model, unknown estimator, bad input)."""


def estimator_family(estimator: str | None) -> str | None:
    """Map a family name or a :data:`metarec.pipelines.ALGORITHMS` key to a campaign family."""
    if estimator is None or estimator in FAMILIES:
        return estimator
    from metarec.pipelines import ALGORITHMS

    if estimator not in ALGORITHMS:
        raise ImputationError(
            f"unknown estimator {estimator!r}; use one of {', '.join(FAMILIES)} or an algorithm "
            f"of metarec.pipelines.ALGORITHMS."
        )
    if ALGORITHMS[estimator].handles_missing:
        return "lightgbm"
    return "random_forest" if estimator in TREE_ALGORITHMS else "linear"


def split_configuration(name: str) -> tuple[str, str]:
    family, _, imputer = str(name).partition(":")
    return family, imputer


# ---------------------------------------------------------------------------- selection table


def hit_table(performance: pd.DataFrame, tolerance: float = TOLERANCE) -> pd.DataFrame:
    """Per dataset x configuration: 1 if within ``tolerance`` of its family's best, 0 if not.

    A configuration that failed (NaN) where others ran counts as a miss; a family with no run on
    a dataset stays NaN (nothing to choose).
    """
    out = pd.DataFrame(np.nan, index=performance.index, columns=performance.columns)
    for _family, cols in family_columns(performance.columns).items():
        block = performance[cols].to_numpy(dtype=float)
        best = np.nanmax(np.where(np.isnan(block), -np.inf, block), axis=1)
        ran = np.isfinite(best)
        hit = (block >= best[:, None] - tolerance - 1e-12).astype(float)
        hit[~ran] = np.nan
        out[cols] = hit
    return out


def gap_table(performance: pd.DataFrame) -> pd.DataFrame:
    """Per dataset x configuration: how far below its family's best CV score (>= 0)."""
    out = pd.DataFrame(np.nan, index=performance.index, columns=performance.columns)
    for _family, cols in family_columns(performance.columns).items():
        block = performance[cols].to_numpy(dtype=float)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN rows: nothing ran
            best = np.nanmax(block, axis=1)
        out[cols] = best[:, None] - block
    return out


def family_columns(columns: pd.Index) -> dict[str, list[str]]:
    groups: dict[str, list[str]] = {}
    for col in columns:
        groups.setdefault(split_configuration(col)[0], []).append(col)
    return groups


# ------------------------------------------------------------------------------ meta-features


def feature_scaler() -> MetaFeatureScaler:
    """The meta-learner's scaler with the imputer model's fixed choices: :data:`FEATURES`, logs of
    the counts, and scaled values clipped to the campaign's range (the campaign subsampled rows,
    so a user's 100,000-row table must look like the largest campaign dataset)."""
    return MetaFeatureScaler(columns=FEATURES, log_columns=LOG_FEATURES, clip=True)


# ------------------------------------------------------------------------------- the selector


class ImputerSelector:
    """Rank imputers per estimator family from meta-features (see module docstring)."""

    def __init__(self, model: str = "auto", tolerance: float = TOLERANCE, n_neighbors: int = 7,
                 n_members: int = 3, inner_folds: int = 5, random_state: int = 0) -> None:
        if model not in ("auto", *MODELS):
            raise ImputationError(f"unknown model {model!r}; use auto or one of {MODELS}.")
        self.model = model
        self.tolerance = tolerance
        self.n_neighbors = n_neighbors
        self.n_members = n_members
        self.inner_folds = inner_folds
        self.random_state = random_state

    # ---------------------------------------------------------------- fitting
    def fit(self, meta_features: pd.DataFrame, performance: pd.DataFrame, maximize: bool = True,
            groups: pd.Series | None = None,
            labels: pd.DataFrame | None = None) -> ImputerSelector:
        """Learn from ``performance`` (datasets x ``family:imputer``; NaN = not run).

        ``groups`` (dataset -> group) keeps datasets that share their data in one inner fold.
        ``labels`` (same shape, in [0, 1]) replace the hard "within tolerance" labels for
        training, e.g. :func:`soft_hit_table`; validation always scores the hard criterion.
        """
        self.labels_ = labels
        perf = performance.apply(pd.to_numeric, errors="coerce").astype(float)
        perf = perf if maximize else -perf
        perf = perf.loc[perf.notna().any(axis=1)]
        common = perf.index[perf.index.isin(meta_features.index)]
        if len(common) < 3:
            raise ImputationError("need at least three datasets with runs and meta-features.")
        perf = perf.loc[common]
        mf = meta_features.loc[~meta_features.index.duplicated()].loc[common]
        groups = (groups.reindex(common).fillna(pd.Series(common, index=common))
                  if groups is not None else pd.Series(common, index=common))
        self.configurations_ = [str(c) for c in perf.columns]
        if self.model == "auto":
            self.selection_ = self._inner_validation(mf, perf, groups.to_numpy())
            self.chosen_ = str(self.selection_.index[0])
        else:
            self.selection_ = None
            self.chosen_ = self.model
        self._fit_on(mf, perf, self.chosen_)
        return self

    def _fit_on(self, mf: pd.DataFrame, perf: pd.DataFrame, model: str) -> None:
        self.scaler_ = feature_scaler().fit(mf)
        self.features_ = self.scaler_.impute(self.scaler_.transform(mf))
        labels = getattr(self, "labels_", None)
        hard = hit_table(perf, self.tolerance)
        if labels is not None:
            soft = labels.reindex(index=perf.index, columns=perf.columns)
            self.hits_ = soft.where(soft.notna(), hard).to_numpy(dtype=float)
        else:
            self.hits_ = hard.to_numpy()
        self.gaps_ = gap_table(perf).to_numpy()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            self.single_best_ = np.nan_to_num(np.nanmean(self.hits_, axis=0), nan=0.0)
            self.mean_gap_ = np.nan_to_num(np.nanmean(self.gaps_, axis=0), nan=1.0)
        self.boosters_: list[Any] = []
        if model in ("gbm", "blend"):
            self.boosters_ = self._fit_gbm(self.features_, self.hits_)

    def _design(self, features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Rows = dataset x configuration: meta-features + family and imputer one-hots."""
        fams = sorted({split_configuration(c)[0] for c in self.configurations_})
        imps = sorted({split_configuration(c)[1] for c in self.configurations_})
        onehot = np.zeros((len(self.configurations_), len(fams) + len(imps)))
        for j, cfg in enumerate(self.configurations_):
            fam, imp = split_configuration(cfg)
            onehot[j, fams.index(fam)] = 1.0
            onehot[j, len(fams) + imps.index(imp)] = 1.0
        n, m = len(features), len(self.configurations_)
        design = np.hstack([np.repeat(features, m, axis=0), np.tile(onehot, (n, 1))])
        config_index = np.tile(np.arange(m), n)
        return design, config_index

    def _fit_gbm(self, features: np.ndarray, hits: np.ndarray) -> list[Any]:
        import lightgbm as lgb

        design, _ = self._design(features)
        target = hits.reshape(-1)
        known = ~np.isnan(target)
        if known.sum() < 10 or len(np.unique(target[known])) < 2:
            return []
        boosters = []
        for member in range(self.n_members):
            # cross-entropy takes labels anywhere in [0, 1] (soft labels), not only 0/1
            params = {"objective": "cross_entropy", "learning_rate": 0.05, "num_leaves": 15,
                      "min_data_in_leaf": 10, "feature_fraction": 0.8, "bagging_fraction": 0.8,
                      "bagging_freq": 1, "lambda_l2": 1.0, "verbose": -1, "num_threads": 1,
                      "seed": self.random_state + member, "deterministic": True}
            data = lgb.Dataset(design[known], target[known], free_raw_data=True)
            boosters.append(lgb.train(params, data, num_boost_round=150))
        return boosters

    def _inner_validation(self, mf: pd.DataFrame, perf: pd.DataFrame,
                          groups: np.ndarray) -> pd.DataFrame:
        """Hit rate of each candidate model under grouped K-fold inside the training data."""
        from sklearn.model_selection import GroupKFold

        n_groups = len(np.unique(groups))
        splitter = GroupKFold(n_splits=max(2, min(self.inner_folds, n_groups)))
        hits_all = hit_table(perf, self.tolerance)
        rates: dict[str, list[float]] = {m: [] for m in MODELS}
        for train, test in splitter.split(mf, groups=groups):
            inner = ImputerSelector(model="blend", tolerance=self.tolerance,
                                    n_neighbors=self.n_neighbors, n_members=self.n_members,
                                    random_state=self.random_state)
            inner.configurations_ = self.configurations_
            inner.labels_ = getattr(self, "labels_", None)
            inner._fit_on(mf.iloc[train], perf.iloc[train], "blend")
            for model in MODELS:
                inner.chosen_ = model
                prob, gap, _unc = inner._estimate(mf.iloc[test])
                truth = hits_all.iloc[test].to_numpy()
                rates[model] += _selection_hits(ranking_key(prob, gap), truth,
                                                self.configurations_)
        table = pd.DataFrame({"hit_rate": {m: float(np.mean(v)) for m, v in rates.items()}})
        table = table.sort_values("hit_rate", ascending=False, kind="stable")
        # One-standard-error rule: the labels are noisy, so a learned model replaces the single
        # best imputer only if it wins by more than the noise of the inner comparison itself.
        best = str(table.index[0])
        if best != "single_best":
            # The single best is the simpler candidate; in error terms (1 - hit rate) its paired
            # difference to the best model is the model's hit rate minus its own.
            diff = np.asarray(rates[best]) - np.asarray(rates["single_best"])
            if len(diff) < 2 or within_one_standard_error(diff):
                order = ["single_best"] + [m for m in table.index if m != "single_best"]
                table = table.loc[order]
        return table

    # ---------------------------------------------------------------- prediction
    def _estimate(self, meta_features: pd.DataFrame) -> tuple[np.ndarray, ...]:
        """(P within tolerance, expected gap, uncertainty), each new datasets x configurations."""
        query = self.scaler_.impute(self.scaler_.transform(meta_features))
        dist = mean_l1_distance(query, self.features_)
        k = WIDE_NEIGHBORS if self.chosen_ == "knn_wide" else self.n_neighbors
        k = min(k, len(self.features_))
        near = np.argsort(dist, axis=1, kind="stable")[:, :k]
        weights = 1.0 / (np.take_along_axis(dist, near, axis=1) + 1e-3)
        knn_prob = _weighted(self.hits_[near], weights, self.single_best_)
        gap = _weighted(self.gaps_[near], weights, self.mean_gap_)
        spread = np.sqrt(_weighted((self.gaps_[near] - gap[:, None, :]) ** 2, weights,
                                   np.zeros_like(self.mean_gap_)))
        sbs = np.tile(self.single_best_, (len(query), 1))
        if self.chosen_ == "single_best":
            return sbs, gap, spread
        if self.chosen_ in ("knn", "knn_wide") or not self.boosters_:
            return knn_prob, gap, spread
        design, _ = self._design(query)
        members = np.stack([b.predict(design).reshape(len(query), -1) for b in self.boosters_])
        gbm_prob = members.mean(axis=0)
        if self.chosen_ == "gbm":
            return gbm_prob, gap, np.maximum(members.std(axis=0), spread)
        return 0.5 * (gbm_prob + knn_prob), gap, spread

    def predict(self, meta_features: pd.DataFrame) -> pd.DataFrame:
        """Estimated probability of each configuration being within tolerance of the best."""
        prob, _, _ = self._estimate(meta_features)
        return pd.DataFrame(prob, index=meta_features.index, columns=self.configurations_)

    def rank(self, meta_features: pd.Series | pd.DataFrame, family: str | None = None,
             probe: Mapping[str, float] | None = None,
             band: float = PROBE_BAND) -> list[dict[str, Any]]:
        """Imputers for one dataset, best first, for ``family`` (None: across families).

        ``probe`` (imputer -> CV score measured on this dataset with ``family``, see
        :func:`metarec.imputation.probe.probe`) decides the order: imputers within ``band`` of the
        probe's best come first, ordered by the model; the rest follow by probe score.
        """
        frame = meta_features.to_frame().T if isinstance(meta_features, pd.Series) \
            else meta_features.iloc[:1]
        if probe is not None and family is None:
            raise ImputationError("a probe measures one estimator family; name the family.")
        prob, gap, unc = (a[0] for a in self._estimate(frame))
        rows = []
        for j, cfg in enumerate(self.configurations_):
            fam, imp = split_configuration(cfg)
            if family is None or fam == family:
                rows.append((fam, imp, prob[j], gap[j], unc[j]))
        table = pd.DataFrame(rows, columns=["family", "imputer", "prob", "gap", "unc"])
        if table.empty:
            raise ImputationError(f"the imputer model has no runs for estimator family {family!r}.")
        if family is None:
            # "native" exists only for NaN-handling estimators, so it cannot be a general answer.
            table = table[table["imputer"] != "native"]
            table = table.groupby("imputer", as_index=False)[["prob", "gap", "unc"]].mean()
            table["family"] = "any"
        table["key"] = ranking_key(table["prob"].to_numpy(), table["gap"].to_numpy())
        table["probe"] = np.nan
        if probe is not None:
            table["probe"] = [float(probe.get(imp, np.nan)) for imp in table["imputer"]]
            if table["probe"].notna().any():
                table["key"] = probe_key(table["key"].to_numpy(), table["probe"].to_numpy(),
                                         band)
        table = table.sort_values("key", ascending=False, kind="stable")
        return [
            {"rank": r + 1, "imputer": row.imputer, "estimator_family": row.family,
             "predicted_score": round(float(row.prob), 4),
             "predicted_gap": round(float(row.gap), 4),
             "uncertainty": round(float(row.unc), 4), "model": self.chosen_,
             "probe_score": to_jsonable(round(float(row.probe), 4))}
            for r, row in enumerate(table.itertuples())
        ]

    # ---------------------------------------------------------------- storage (JSON, no pickle)
    def to_dict(self) -> dict[str, Any]:
        return {
            "format": FORMAT, "model": self.chosen_, "tolerance": self.tolerance,
            "n_neighbors": self.n_neighbors, "configurations": self.configurations_,
            "scaler": self.scaler_.to_dict(), "features": self.features_.round(6).tolist(),
            "hits": to_jsonable(self.hits_), "gaps": to_jsonable(self.gaps_.round(6)),
            "single_best": self.single_best_.tolist(), "mean_gap": self.mean_gap_.tolist(),
            "boosters": [b.model_to_string() for b in self.boosters_],
            "selection": None if self.selection_ is None
            else self.selection_["hit_rate"].round(4).to_dict(),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ImputerSelector:
        if data.get("format") != FORMAT:
            raise ImputationError(f"not an imputer model of format {FORMAT!r}.")
        self = cls(model=str(data["model"]), tolerance=float(data["tolerance"]),
                   n_neighbors=int(data["n_neighbors"]))
        self.chosen_ = str(data["model"])
        self.configurations_ = list(data["configurations"])
        self.scaler_ = MetaFeatureScaler.from_dict(data["scaler"])
        self.features_ = np.asarray(data["features"], dtype=float)
        self.hits_ = np.asarray(data["hits"], dtype=float)
        self.gaps_ = np.asarray(data["gaps"], dtype=float)
        self.single_best_ = np.asarray(data["single_best"], dtype=float)
        self.mean_gap_ = np.asarray(data["mean_gap"], dtype=float)
        self.boosters_ = []
        if data["boosters"]:
            import lightgbm as lgb

            self.boosters_ = [lgb.Booster(model_str=s) for s in data["boosters"]]
        sel = data.get("selection")
        self.selection_ = None if sel is None else pd.DataFrame({"hit_rate": sel})
        return self

    def save(self, path: str | Path) -> None:
        # 0o644: the model is shipped data, readable by all.
        atomic_write_text(path, json.dumps(self.to_dict(), allow_nan=False), mode=0o644)

    @classmethod
    def load(cls, path: str | Path) -> ImputerSelector:
        with open(path, encoding="utf-8") as handle:
            return cls.from_dict(json.load(handle))


def _weighted(values: np.ndarray, weights: np.ndarray, fallback: np.ndarray) -> np.ndarray:
    """Weighted mean over axis 1 of (queries x neighbours x configurations), NaN ignored."""
    known = ~np.isnan(values)
    w = weights[:, :, None] * known
    total = w.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = (w * np.where(known, values, 0.0)).sum(axis=1) / total
    return np.where(total > 0, mean, fallback[None, :])


def ranking_key(prob: np.ndarray, gap: np.ndarray) -> np.ndarray:
    """Order by probability; among equal probabilities the smaller expected gap goes first."""
    return prob - 1e-6 * np.clip(np.nan_to_num(gap, nan=1.0), 0.0, 1.0)


def probe_key(model_key: np.ndarray, probe: np.ndarray, band: float = PROBE_BAND) -> np.ndarray:
    """Ranking key over one family's imputers when their CV scores were measured (``probe``).

    Imputers within ``band`` of the best probe score come first, in the order of ``model_key``
    (the meta-feature model's); the others follow by probe score; failed probes (NaN) go last.
    """
    probe = np.asarray(probe, dtype=float)
    if np.isnan(probe).all():
        return np.asarray(model_key, dtype=float)
    best = np.nanmax(probe)
    close = probe >= best - band - 1e-12
    below = np.where(np.isnan(probe), -1e6, probe - best)  # <= -band: under every close one
    return np.where(close, 10.0 + np.asarray(model_key, dtype=float), below)


def _selection_hits(prob: np.ndarray, hits: np.ndarray, configurations: list[str]) -> list[float]:
    """For each dataset and family: 1 if the top-scored imputer was within tolerance."""
    out = []
    for _family, cols in family_columns(pd.Index(configurations)).items():
        idx = [configurations.index(c) for c in cols]
        for i in range(len(prob)):
            truth = hits[i, idx]
            if np.isnan(truth).all():
                continue
            out.append(float(truth[int(np.argmax(prob[i, idx]))] == 1.0))
    return out
