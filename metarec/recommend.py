"""From a dataset to ranked pipeline recommendations, with the evidence behind them.

The recommender profiles the dataset, picks the knowledge base's run history for the task type
(the source and metric with the most datasets x configurations of evidence), asks the meta-learner
for a diverse ranking with uncertainty, the nearest knowledge-base datasets and an
out-of-distribution check, and fills each recommendation's imputer.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from metarec.errors import KnowledgeBaseError, MetaRecError
from metarec.io import Dataset

# Groups profiled for a recommendation. The meta-learner only uses qualities whose local values
# reproduce OpenML's stored ones (simple, statistical, info-theory); missingness feeds the imputer
# choice. Landmarkers are left out: their Weka originals are not reproduced faithfully.
PROFILE_GROUPS = ["simple", "statistical", "info-theory", "missingness"]
LEARNER_GROUPS = ["simple", "statistical", "info-theory"]
# A run history with fewer datasets than this cannot support a recommendation.
MIN_DATASETS = 20
# Error-type metrics are reported as the matching score so that higher is always better.
ERROR_TO_SCORE = {
    "balanced_error_rate": "balanced_accuracy",
    "error_rate": "accuracy",
}
# Metrics in the target's units: a prediction learned across datasets is on their scale, not this
# target's, so it can order the recommendations but not estimate the error here.
SCALE_DEPENDENT_METRICS = ("rmse", "root_mean_squared_error", "mean_absolute_error", "mae",
                           "mean_squared_error", "mse")


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


@dataclass
class RecommendationReport:
    """Everything ``metarec recommend`` shows; ``to_dict`` is the documented JSON object."""

    task: str
    dataset: str
    target: str
    evidence: Evidence
    metafeatures: pd.Series
    recommendations: list[dict[str, Any]]
    neighbours: list[dict[str, Any]]
    out_of_distribution: dict[str, Any]
    notes: list[str] = field(default_factory=list)
    imputer_probes: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "task": self.task,
            "dataset": self.dataset,
            "target": self.target,
            "metric": self.evidence.score_name,
            "evidence": {
                "source": self.evidence.source,
                "metric": self.evidence.metric,
                "datasets": self.evidence.n_datasets,
                "configurations": self.evidence.n_configurations,
            },
            "metafeatures": {k: _finite_or_none(v) for k, v in self.metafeatures.items()},
            "recommendations": self.recommendations,
            "neighbours": self.neighbours,
            "out_of_distribution": self.out_of_distribution,
            "notes": self.notes,
            **({"imputer_probes": self.imputer_probes} if self.imputer_probes is not None
               else {}),
        }


def _finite_or_none(value: Any) -> Any:
    return float(value) if value is not None and np.isfinite(value) else None


def choose_evidence(kb: Any, task: str) -> Evidence:
    """The (source, metric) run history with the most evidence for ``task``.

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
    # Ties go to the first (source, metric) in sorted order, so the choice is deterministic.
    (source, metric), best = next(
        iter(table.sort_values("weight", ascending=False, kind="mergesort").iterrows())
    )
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


def learner_inputs(kb: Any, evidence: Evidence) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Meta-features (OpenML-reproducible names only) and the performance matrix."""
    import metafeatures

    performance = kb.performance(evidence.metric, source=evidence.source)
    counts = performance.notna().sum(axis=0)
    performance = performance.loc[:, counts >= 5]
    names = set(_learner_feature_names(metafeatures))
    mf = kb.metafeatures[kb.metafeatures["quality"].isin(names)]
    # One value per (dataset, quality): a locally computed one wins over OpenML's stored one
    # because it is what the new dataset's profile will be compared with.
    mf = mf.assign(preference=(mf["origin"] != "local").astype(int))
    mf = mf.sort_values(["dataset_id", "quality", "preference"], kind="mergesort")
    mf = mf.drop_duplicates(["dataset_id", "quality"])
    matrix = mf.pivot(index="dataset_id", columns="quality", values="value")
    return matrix, performance


def _learner_feature_names(metafeatures: Any) -> list[str]:
    rng = np.random.default_rng(0)
    X = pd.DataFrame({"a": rng.normal(size=20), "b": pd.Categorical(rng.choice(["x", "y"], 20))})
    y = pd.Series(pd.Categorical(rng.choice(["p", "q"], 20)))
    return list(metafeatures.extract(X, y, groups=LEARNER_GROUPS).index)


def profile(dataset: Dataset, random_state: int = 0) -> pd.Series:
    import metafeatures

    return metafeatures.extract(
        dataset.X, dataset.y, groups=PROFILE_GROUPS, random_state=random_state, task=dataset.task
    )


def _recommendation(
    rank: int,
    row: pd.Series,
    configuration: pd.Series,
    evidence: Evidence,
    imputer: dict[str, Any],
) -> dict[str, Any]:
    spec = json.loads(configuration["spec"])
    spec["imputer"] = imputer["spec"]
    score = float(evidence.to_score(row["predicted"]))
    return {
        "rank": rank,
        "configuration_id": str(configuration["configuration_id"]),
        "algorithm": str(configuration["algorithm"]),
        "imputer": imputer["name"],
        "hyperparameters": json.loads(configuration["hyperparameters"]),
        "pipeline": spec,
        "predicted_score": score,
        "uncertainty": float(row["uncertainty"]),
    }


def recommend(
    dataset: Dataset,
    kb: Any = None,
    top_k: int = 5,
    random_state: int = 0,
    learner: Any = None,
    probe_imputers: bool = False,
) -> RecommendationReport:
    """Rank pipelines for ``dataset`` from ``kb`` (default: the shipped knowledge base).

    ``probe_imputers``: where the data has missing values, cross-validate every imputer on the
    dataset itself with each recommended estimator family (:mod:`metarec.imputation_probe`;
    a few seconds per family on up to 1,000 rows) and let that measurement choose the imputer.
    """
    from metarec import kb as kb_module
    from metarec.learner_store import cached_evidence, fitted_learner

    kb = kb if kb is not None else kb_module.load()
    evidence = cached_evidence(kb, dataset.task)
    profile_values = profile(dataset, random_state=random_state)
    learner = learner if learner is not None else fitted_learner(kb, evidence, random_state)
    query = profile_values.to_frame(name=dataset.source).T
    ranking = learner.rank(query, top_k=top_k, diverse=True)
    configurations = kb.configurations.set_index("configuration_id", drop=False)
    recommendations = []
    probes = ImputerProbes(dataset, random_state) if probe_imputers else None
    for _, row in ranking.iterrows():
        configuration = configurations.loc[row["configuration"]]
        imputer = choose_imputer(profile_values, configuration, probes)
        recommendations.append(
            _recommendation(int(row["rank"]), row, configuration, evidence, imputer)
        )
    neighbours = _neighbours(kb, learner, query, configurations, evidence)
    ood = learner.out_of_distribution(query).iloc[0]
    report = RecommendationReport(
        task=dataset.task,
        dataset=dataset.source,
        target=dataset.target,
        evidence=evidence,
        metafeatures=profile_values,
        recommendations=recommendations,
        neighbours=neighbours,
        out_of_distribution={
            "flag": bool(ood["is_ood"]),
            "distance": float(ood["distance"]),
            "threshold": float(ood["threshold"]),
        },
        notes=list(dataset.notes),
        imputer_probes=probes.to_dict() if probes is not None else None,
    )
    if probes is not None and probes.failure:
        report.notes.append(probes.failure)
    if evidence.metric in SCALE_DEPENDENT_METRICS:
        report.notes.append(
            f"predicted {evidence.metric} values are on the scale of the knowledge base's "
            "targets, not this one's: they order the recommendations but do not estimate the "
            "error on this data."
        )
    return report


class ImputerProbes:
    """Imputer probes for one dataset, measured once per estimator family when first needed."""

    def __init__(self, dataset: Dataset, random_state: int = 0) -> None:
        self.dataset = dataset
        self.random_state = random_state
        self.results: dict[str, Any] = {}
        self.failure = ""

    def scores(self, algorithm: str) -> dict[str, float] | None:
        from metarec.imputation import ImputationError, estimator_family
        from metarec.imputation_probe import probe

        family = estimator_family(algorithm)
        if family is None:
            return None
        if family not in self.results:
            try:
                self.results[family] = probe(self.dataset.X, self.dataset.y, self.dataset.task,
                                             family, random_state=self.random_state)
            except ImputationError as exc:
                self.results[family] = None
                self.failure = f"imputers not probed: {exc}"
        result = self.results[family]
        return None if result is None else result.scores

    def to_dict(self) -> dict[str, Any]:
        return {family: result.to_dict() for family, result in self.results.items()
                if result is not None}


def choose_imputer(profile_values: pd.Series, configuration: pd.Series,
                   probes: ImputerProbes | None = None) -> dict[str, Any]:
    """The imputer for one recommended configuration.

    Without missing values no imputation is needed, but the pipeline keeps the configuration's
    imputer so that missing values arriving later at prediction time are still handled.
    With ``probes``, the imputers measured on the dataset decide (see ``recommend``).
    """
    spec = json.loads(configuration["spec"])
    if not profile_values.get("NumberOfMissingValues", 0) > 0:
        return {"name": "none needed", "spec": spec.get("imputer")}
    fallback = {"name": _imputer_name(spec.get("imputer")), "spec": spec.get("imputer")}
    try:
        from metarec.imputation import recommend_imputer

        algorithm = str(configuration["algorithm"])
        measured = probes.scores(algorithm) if probes is not None else None
        ranked = recommend_imputer(profile_values, estimator=algorithm, probe=measured)
    except (ImportError, MetaRecError):
        # No imputer model available: the configuration's own imputer is the evidence left.
        return fallback
    if not ranked:
        return fallback
    best = ranked[0]
    return {"name": best["imputer"], "spec": best.get("pipeline_imputer", best["imputer"])}


def _imputer_name(imputer: Any) -> str:
    return imputer["name"] if isinstance(imputer, dict) else str(imputer)


def _neighbours(
    kb: Any, learner: Any, query: pd.DataFrame, configurations: pd.DataFrame, evidence: Evidence
) -> list[dict[str, Any]]:
    datasets = kb.datasets.set_index("dataset_id")
    out = []
    for _, row in learner.neighbours(query, k=3).iterrows():
        info = datasets.loc[row["neighbour"]] if row["neighbour"] in datasets.index else None
        winner = configurations.loc[row["best_configuration"]]
        did = None if info is None or pd.isna(info["openml_did"]) else int(info["openml_did"])
        out.append(
            {
                "dataset_id": str(row["neighbour"]),
                "name": None if info is None else str(info["name"]),
                "openml_did": did,
                "distance": float(row["distance"]),
                "best_algorithm": str(winner["algorithm"]),
                "best_configuration_id": str(row["best_configuration"]),
                "best_score": float(evidence.to_score(row["best_performance"])),
            }
        )
    return out
