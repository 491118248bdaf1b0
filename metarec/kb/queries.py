"""Questions asked of the knowledge base's runs: which run history to learn from, the inputs of
a meta-learner, the single best configurations, and the fit times (the inputs of a
:class:`~metarec.metalearner.cost.FitCostModel`).

Generic over sources: everything here reads :class:`metarec.kb.store.KnowledgeBase`'s tables.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from metarec.errors import KnowledgeBaseError

# Qualities the meta-learner uses: those whose local values reproduce OpenML's stored ones.
LEARNER_GROUPS = ["simple", "statistical", "info-theory"]
# A run history with fewer datasets than this cannot support a recommendation.
MIN_DATASETS = 20
# Error-type metrics are reported as the matching score so that higher is always better.
ERROR_TO_SCORE = {
    "balanced_error_rate": "balanced_accuracy",
    "error_rate": "accuracy",
}
# The values a reported score can take, by metric (see Evidence.score_range); the knowledge
# base's other metrics are losses or errors that are at least 0.
UNIT_INTERVAL_METRICS = (
    "balanced_error_rate", "error_rate", "predictive_accuracy", "area_under_roc_curve",
    "f_measure", "accuracy_loss", "balanced_accuracy_loss", "f1_macro_loss", "roc_auc_loss",
)
# R² is at most 1 (a perfect fit) and has no lower bound (a model worse than the mean).
AT_MOST_ONE_METRICS = ("r2",)
# A run whose R² is below this diverged (5% of the regression campaign's runs, mostly MLPs, down to
# -217): as evidence it only says "never this", and left as it is one such run would dominate
# every mean and every squared error the meta-learner fits.
R2_FLOOR = -1.0
NON_NEGATIVE_METRICS = ("log_loss", "rmse", "root_mean_squared_error", "mean_absolute_error",
                        "mean_squared_error", "r2_loss")


@dataclass
class Evidence:
    """The run history a recommendation is learned from."""

    source: str
    metric: str
    higher_is_better: bool
    n_datasets: int
    n_configurations: int

    @property
    def score_name(self) -> str:
        return ERROR_TO_SCORE.get(self.metric, self.metric)

    def to_score(self, value: np.ndarray | float) -> np.ndarray | float:
        """Metric value -> reported score (error rates become 1 - error)."""
        return 1.0 - value if self.metric in ERROR_TO_SCORE else value

    @property
    def score_range(self) -> tuple[float, float]:
        """The values a reported score (:meth:`to_score`) can take; unbounded when unknown."""
        if self.metric in UNIT_INTERVAL_METRICS:
            return 0.0, 1.0
        if self.metric in NON_NEGATIVE_METRICS:
            return 0.0, float("inf")
        if self.metric in AT_MOST_ONE_METRICS:
            return float("-inf"), 1.0
        return float("-inf"), float("inf")


# Run histories metarec measured itself (metarec.kb.campaigns): their configurations are the
# pipelines metarec builds, cross-validated as a user's data is, with today's learners. The
# imported classification matrix (Oboe) is larger but older (no LightGBM, no histogram gradient
# boosting), and the set and the zero-shot pick can only be what the evidence holds.
OWN_SOURCES = ("classification_campaign", "regression_campaign")
# Evidence whose learners also see landmarkers. A campaign profiles each dataset with metarec's own
# extractor on the rows its runs used, so its landmarkers compare like with like with a new
# dataset's (OpenML's stored ones come from Weka learners the extractor only approximates: those
# stay out). Landmarkers say how far simple learners get (a tree against naive Bayes against
# 1-NN), which the other groups cannot: on the classification campaign, held out by dataset
# family, they moved the top recommendation and the set's order closer to each dataset's best
# (docs/metalearner.md).
LANDMARKING_SOURCES = ("classification_campaign",)


def learner_groups(evidence: Evidence) -> list[str]:
    """The meta-feature groups a learner of ``evidence`` uses (the profile must have them)."""
    return LEARNER_GROUPS + (["landmarking"] if evidence.source in LANDMARKING_SOURCES else [])


def choose_evidence(kb: Any, task: str) -> Evidence:
    """The (source, metric) run history to learn ``task``'s recommendations from: one of
    :data:`OWN_SOURCES` where it covers :data:`MIN_DATASETS` datasets, else the one with the
    most evidence.

    Evidence is counted over configurations run on at least five datasets (one run on a single
    dataset says nothing about which data a configuration suits): datasets x such configurations.
    """
    task_of = kb.configurations.set_index("configuration_id")["task_type"]
    runs = kb.runs[["source", "metric", "configuration_id", "dataset_id", "higher_is_better"]]
    runs = runs[runs["configuration_id"].map(task_of).eq(task).fillna(False).astype(bool)]
    if runs.empty:
        raise KnowledgeBaseError(f"the knowledge base has no runs for {task} tasks.")
    keys = ["source", "metric", "configuration_id"]
    pairs = runs.drop_duplicates([*keys, "dataset_id"])
    per_config = pairs.groupby(keys, sort=True).size()
    shared = per_config[per_config >= 5].reset_index()[keys]
    covered = pairs.merge(shared, on=keys)
    table = pd.DataFrame(
        {
            "datasets": covered.groupby(["source", "metric"])["dataset_id"].nunique(),
            "configurations": shared.groupby(["source", "metric"]).size(),
            "higher_is_better": runs.groupby(["source", "metric"])["higher_is_better"].first(),
        }
    ).fillna({"datasets": 0, "configurations": 0})
    table["weight"] = table["datasets"] * table["configurations"]
    sources = table.index.get_level_values("source")
    table["own"] = sources.isin(OWN_SOURCES) & (table["datasets"] >= MIN_DATASETS)
    # Ties go to the first (source, metric) in sorted order, so the choice is deterministic.
    (source, metric), best = next(iter(
        table.sort_values(["own", "weight"], ascending=False, kind="mergesort").iterrows()))
    if best["datasets"] < MIN_DATASETS:
        raise KnowledgeBaseError(
            f"the knowledge base has runs on only {int(best['datasets'])} {task} dataset(s) shared "
            f"across configurations; at least {MIN_DATASETS} are needed for a {task} "
            "recommendation."
        )
    return Evidence(
        source=str(source),
        metric=str(metric),
        higher_is_better=bool(best["higher_is_better"]),
        n_datasets=int(best["datasets"]),
        n_configurations=int(best["configurations"]),
    )


def learner_inputs(kb: Any, evidence: Evidence, groups: Sequence[str] = tuple(LEARNER_GROUPS)
                   ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Meta-features (the qualities of ``groups``; by default the OpenML-reproducible ones)
    and the performance matrix."""
    import metafeatures

    performance = kb.performance(evidence.metric, source=evidence.source)
    if evidence.metric in AT_MOST_ONE_METRICS:
        performance = performance.clip(lower=R2_FLOOR)
    counts = performance.notna().sum(axis=0)
    performance = performance.loc[:, counts >= 5]
    names = set(_learner_feature_names(metafeatures, groups))
    mf = kb.metafeatures[kb.metafeatures["quality"].isin(names)]
    # One value per (dataset, quality): a locally computed one wins over OpenML's stored one
    # because it is what the new dataset's profile will be compared with.
    mf = mf.assign(preference=(mf["origin"] != "local").astype(int))
    mf = mf.sort_values(["dataset_id", "quality", "preference"], kind="mergesort")
    mf = mf.drop_duplicates(["dataset_id", "quality"])
    matrix = mf.pivot(index="dataset_id", columns="quality", values="value")
    return matrix, performance


def _learner_feature_names(metafeatures: Any, groups: Sequence[str]) -> list[str]:
    rng = np.random.default_rng(0)
    X = pd.DataFrame({"a": rng.normal(size=20), "b": pd.Categorical(rng.choice(["x", "y"], 20))})
    y = pd.Series(pd.Categorical(rng.choice(["p", "q"], 20)))
    return list(metafeatures.extract(X, y, groups=list(groups)).index)



# A configuration must have been run on this many datasets (and half of its source's datasets)
# before its mean normalised score is trusted by the single-best fallback.
_MIN_DATASETS = 5

_SINGLE_BEST_CACHE: dict[tuple[str, str], pd.DataFrame] = {}


def single_best_table(kb: Any, task: str) -> pd.DataFrame:
    key = (str(getattr(kb, "path", id(kb))), task)
    if key not in _SINGLE_BEST_CACHE:
        _SINGLE_BEST_CACHE[key] = _compute_single_best(kb, task)
    return _SINGLE_BEST_CACHE[key]


def _compute_single_best(kb: Any, task: str) -> pd.DataFrame:
    configs = kb.configurations
    configs = configs[configs["task_type"] == task]
    runs = kb.runs[kb.runs["configuration_id"].isin(configs["configuration_id"])]
    frames = []
    for _source, grp in runs.groupby("source"):
        # One metric per source (its most common), so each dataset's runs are comparable.
        metric = grp["metric"].value_counts().idxmax()
        grp = grp[grp["metric"] == metric]
        # Configurations run on too few datasets cannot qualify: drop them before pivoting
        # (random-search sources have tens of thousands of one-dataset configurations).
        n_sets = grp.groupby("configuration_id")["dataset_id"].nunique()
        grp = grp[grp["configuration_id"].isin(n_sets[n_sets >= _MIN_DATASETS].index)]
        if grp.empty:
            continue
        sign = 1.0 if bool(grp["higher_is_better"].iloc[0]) else -1.0
        perf = grp.pivot_table(index="dataset_id", columns="configuration_id", values="value",
                               aggfunc="mean") * sign
        lo, hi = perf.min(axis=1), perf.max(axis=1)
        norm = perf.sub(lo, axis=0).div((hi - lo).replace(0.0, np.nan), axis=0)
        counts = norm.notna().sum()
        keep = counts[(counts >= _MIN_DATASETS) & (counts >= 0.5 * len(norm))].index
        if len(keep) == 0:
            continue
        frames.append(pd.DataFrame({"configuration_id": keep,
                                    "score": norm[keep].mean().to_numpy(),
                                    "spread": norm[keep].std().fillna(0.0).to_numpy(),
                                    "n": counts[keep].to_numpy()}))
    if not frames:
        return pd.DataFrame(columns=["configuration_id", "score", "spread", "n", "algorithm",
                                     "spec"])
    table = pd.concat(frames).merge(configs[["configuration_id", "algorithm", "spec"]],
                                    on="configuration_id")
    return table.sort_values(["score", "configuration_id"], ascending=[False, True],
                             kind="mergesort").reset_index(drop=True)




# The size measures a fit time is predicted from, as OpenML's qualities name them (the target
# counts as a feature; a regression target as one class).
SIZE_QUALITIES = {"rows": "NumberOfInstances", "features": "NumberOfFeatures",
                  "classes": "NumberOfClasses"}


def size_measures(values: Any) -> dict[str, float]:
    """The size measures of one profiled dataset (a Series or mapping of its qualities); missing
    or non-positive counts (a regression's classes) count as 1."""
    out = {}
    for name, quality in SIZE_QUALITIES.items():
        value = float(values.get(quality, np.nan)) if quality in values else np.nan
        out[name] = value if np.isfinite(value) and value >= 1 else 1.0
    return out


def fit_cost_inputs(kb: Any, task: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Dataset sizes (DataFrame[datasets x ``SIZE_QUALITIES``]) and fit times
    (DataFrame[datasets x configurations], seconds, the mean over repeated runs; NaN = no time)
    of ``task``'s configurations.

    A configuration's times are those its own source measured (Oboe's runtime matrix: one
    training of the configuration; TabRepo: its training time). Runs of it from other sources
    are left out: `kb add` records the time of a whole cross-validation on the user's machine,
    which is not one fit."""
    runs = kb.runs.loc[kb.runs["runtime_s"].notna(),
                       ["dataset_id", "configuration_id", "runtime_s", "source"]]
    configs = kb.configurations[["configuration_id", "source", "task_type"]]
    runs = runs.merge(configs, on="configuration_id", suffixes=("", "_own"))
    runs = runs[(runs["task_type"] == task) & (runs["source"] == runs["source_own"])]
    times = (runs.astype({"dataset_id": str, "configuration_id": str})
             .groupby(["dataset_id", "configuration_id"])["runtime_s"].mean()
             .unstack("configuration_id"))
    times.columns.name = None
    info = kb.datasets.drop_duplicates("dataset_id").set_index("dataset_id")
    stored = kb.metafeatures[kb.metafeatures["quality"].isin(SIZE_QUALITIES.values())]
    stored = stored.drop_duplicates(["dataset_id", "quality"]).pivot(
        index="dataset_id", columns="quality", values="value")
    columns = {"rows": "n_instances", "features": "n_features", "classes": "n_classes"}
    sizes = pd.DataFrame(index=times.index)
    for name, quality in SIZE_QUALITIES.items():
        # The datasets table first (the size the runs saw), the stored quality where it is empty.
        value = info[columns[name]].reindex(times.index).astype("Float64").astype(float)
        if quality in stored:
            value = value.fillna(stored[quality].reindex(times.index))
        sizes[name] = value
    sizes["classes"] = sizes["classes"].where(sizes["classes"] >= 1, 1.0).fillna(1.0)
    return sizes, times
