"""From a dataset to ranked pipeline recommendations, with the evidence behind them.

The recommender profiles the dataset, picks the knowledge base's run history for the task type
(the source and metric with the most datasets x configurations of evidence), asks the meta-learner
for a diverse ranking with uncertainty, the nearest knowledge-base datasets and an
out-of-distribution check, and fills each recommendation's imputer.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from metarec.errors import MetaRecError
from metarec.io import Dataset
from metarec.jsonable import to_jsonable
from metarec.kb.queries import Evidence, learner_groups
from metarec.recommend.record import recommendation

# Groups profiled for every recommendation: the meta-learner's qualities that reproduce OpenML's
# stored ones (simple, statistical, info-theory); missingness feeds the imputer choice. A learner
# of our own campaigns' evidence also uses landmarkers (metarec.kb.queries.learner_groups), which
# are profiled then.
PROFILE_GROUPS = ["simple", "statistical", "info-theory", "missingness"]
# Metrics in the target's units: a prediction learned across datasets is on their scale, not this
# target's, so it can order the recommendations but not estimate the error here.
SCALE_DEPENDENT_METRICS = ("rmse", "root_mean_squared_error", "mean_absolute_error", "mae",
                           "mean_squared_error", "mse")


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
    # The few configurations to try first (see MetaLearner.candidate_set), in order.
    candidate_set: list[dict[str, Any]] = field(default_factory=list)
    # Why the recommendations are in their order (see ranking_explanation).
    ranking: dict[str, Any] = field(default_factory=dict)
    # The fitted meta-learner behind the report (for plots); not part of the JSON object.
    learner: Any = field(default=None, repr=False, compare=False)

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
            "metafeatures": to_jsonable(self.metafeatures),
            "recommendations": self.recommendations,
            "ranking": self.ranking,
            "candidate_set": self.candidate_set,
            "neighbours": self.neighbours,
            "out_of_distribution": self.out_of_distribution,
            "notes": self.notes,
            **({"imputer_probes": self.imputer_probes} if self.imputer_probes is not None
               else {}),
        }


def profile(dataset: Dataset, random_state: int = 0,
            extra_groups: Sequence[str] = ()) -> pd.Series:
    """``dataset``'s meta-features: :data:`PROFILE_GROUPS` and ``extra_groups``."""
    import metafeatures

    groups = PROFILE_GROUPS + [g for g in extra_groups if g not in PROFILE_GROUPS]
    return metafeatures.extract(
        dataset.X, dataset.y, groups=groups, random_state=random_state, task=dataset.task
    )


def recommend(
    dataset: Dataset,
    kb: Any = None,
    top_k: int = 5,
    random_state: int = 0,
    learner: Any = None,
    probe_imputers: bool = False,
    set_size: int = 5,
    probe_budget_s: float | None = None,
) -> RecommendationReport:
    """Rank pipelines for ``dataset`` from ``kb`` (default: the shipped knowledge base).

    ``recommendations`` are the diverse top ``top_k`` by predicted score; ``candidate_set`` the
    ``set_size`` configurations to try first (the knowledge base's greedy portfolio, ordered by
    the meta-learner), each with ``expected_best``: the best score expected from trying the set up
    to that one (see :meth:`metarec.metalearner.MetaLearner.candidate_set`).

    Every recommendation and candidate carries ``predicted_fit_seconds``: the time one fit of
    its configuration is predicted to take on a table of this size (rows, features, classes), from
    the fit times the knowledge base records (:func:`predicted_fit_seconds`); None where it has
    none for that configuration.

    ``probe_imputers``: where the data has missing values, cross-validate every imputer on the
    dataset itself with each recommended estimator family (:mod:`metarec.imputation.probe`;
    at most ``probe_budget_s`` seconds per family, default
    :data:`metarec.imputation.probe.PROBE_BUDGET_S`) and let that measurement choose the imputer.
    """
    from metarec import kb as kb_module
    from metarec.crossval import check_splittable
    from metarec.recommend.learner_cache import cached_evidence, fitted_learner

    # The rule tune and kb add apply: what cannot be cross-validated gets no recommendation.
    check_splittable(dataset.y, dataset.task)
    kb = kb if kb is not None else kb_module.load()
    evidence = cached_evidence(kb, dataset.task)
    profile_values = profile(dataset, random_state=random_state,
                             extra_groups=learner_groups(evidence))
    learner = learner if learner is not None else fitted_learner(kb, evidence, random_state)
    query = profile_values.to_frame(name=dataset.source).T
    ranking = learner.rank(query, top_k=top_k, diverse=True)
    configurations = kb.configurations.set_index("configuration_id", drop=False)
    if probe_budget_s is not None and not probe_budget_s > 0:
        raise MetaRecError(f"`probe_budget_s` must be a positive number of seconds, not "
                           f"{probe_budget_s!r}.", parameters=("probe_budget_s",))
    probes = ImputerProbes(dataset, random_state, probe_budget_s) if probe_imputers else None
    seconds = predicted_fit_seconds(kb, dataset.task, profile_values)

    def entry(position: int, row: pd.Series, **extra: Any) -> dict[str, Any]:
        configuration = configurations.loc[row["configuration"]]
        imputer = choose_imputer(profile_values, configuration, probes)
        cost = seconds.get(str(configuration["configuration_id"]), float("nan"))
        return recommendation(
            position, {**json.loads(configuration["spec"]), "imputer": imputer["spec"]},
            evidence.to_score(row["predicted"]), row["uncertainty"],
            configuration_id=str(configuration["configuration_id"]), imputer=imputer["name"],
            hyperparameters=json.loads(configuration["hyperparameters"]),
            predicted_fit_seconds=float(cost) if np.isfinite(cost) else None,
            score_range=evidence.score_range, **extra)

    recommendations = [entry(int(row["rank"]), row) for _, row in ranking.iterrows()]
    if evidence.metric == "r2":
        spread = float(np.std(dataset.y.to_numpy(dtype=float)))
        for rec in recommendations:
            rec["rmse"] = rmse_from_r2(rec, spread)
    candidate_set = [
        entry(int(row["position"]), row, expected_best=to_jsonable(
            float(evidence.to_score(row["expected_best"]))))
        for _, row in learner.candidate_set(query, k=set_size).iterrows()
    ] if set_size > 0 else []
    neighbours = _neighbours(kb, learner, query, configurations, evidence)
    ood = learner.out_of_distribution(query).iloc[0]
    report = RecommendationReport(
        task=dataset.task,
        dataset=dataset.source,
        target=dataset.target,
        evidence=evidence,
        metafeatures=profile_values,
        recommendations=recommendations,
        candidate_set=candidate_set,
        neighbours=neighbours,
        out_of_distribution={
            "flag": bool(ood["is_ood"]),
            "distance": float(ood["distance"]),
            "threshold": float(ood["threshold"]),
        },
        notes=list(dataset.notes),
        imputer_probes=probes.to_dict() if probes is not None else None,
        ranking=ranking_explanation(recommendations, ranking["score"].to_numpy(), learner),
        learner=learner,
    )
    if probes is not None and probes.failure:
        report.notes.append(probes.failure)
    if probes is not None and not profile_values.get("NumberOfMissingValues", 0) > 0:
        report.notes.append("imputers not probed: the data has no missing values, so the probe "
                            "was not needed (each pipeline keeps an imputer for values missing "
                            "at prediction time).")
    if evidence.metric in SCALE_DEPENDENT_METRICS:
        report.notes.append(
            f"predicted {evidence.metric} values are on the scale of the knowledge base's "
            "targets, not this one's: they order the recommendations but do not estimate the "
            "error on this data."
        )
    return report


def rmse_from_r2(rec: dict[str, Any], target_std: float) -> dict[str, float]:
    """A recommendation's predicted R² (and its range) as RMSE in the target's own units.

    RMSE = std(y) x sqrt(1 - R²), so the range's ends swap: the upper R² gives the lower RMSE."""
    def rmse(r2: float) -> float:
        return float(target_std * np.sqrt(max(1.0 - r2, 0.0)))

    return {"predicted": rmse(rec["predicted_score"]), "lower": rmse(rec["upper"]),
            "upper": rmse(rec["lower"]), "target_std": target_std}


def predicted_fit_seconds(kb: Any, task: str, profile_values: pd.Series) -> pd.Series:
    """Predicted seconds of one fit of each of ``kb``'s ``task`` configurations on a dataset with
    ``profile_values``' size (:func:`metarec.kb.queries.size_measures`), by the knowledge base's
    fit-cost model (:class:`metarec.metalearner.cost.FitCostModel`); empty when the knowledge
    base records no fit times. The times are those of the machines the runs were measured on
    (Oboe's, TabRepo's) and leave out imputation (their datasets had no missing values)."""
    from metarec.kb.queries import size_measures
    from metarec.recommend.learner_cache import fitted_cost_model

    model = fitted_cost_model(kb, task)
    if model is None:
        return pd.Series(dtype=float)
    return model.predict(pd.DataFrame([size_measures(profile_values)])).iloc[0]


def ranking_explanation(recommendations: list[dict[str, Any]], key: Any,
                        learner: Any) -> dict[str, Any]:
    """Why the recommendations stand in their order, which need not be their predicted scores'.

    ``key`` is the meta-learner's ranking key of each recommendation, in rank order. Returns
    ``why`` (one sentence for people) and ``predicted_score_order``: the ranks sorted by
    predicted score, best first.
    """
    ranks = [r["rank"] for r in recommendations]
    by_score = [r["rank"] for r in sorted(recommendations, key=lambda r: -r["predicted_score"])]
    by_key = [ranks[i] for i in sorted(range(len(ranks)), key=lambda i: -key[i])]
    why = ("Ranked by the meta-learner's key (each configuration's predicted standing among all "
           "configurations on this data)")
    if getattr(learner, "portfolio_", None) is not None:
        why += ", members of its portfolio first"
    # rank() keeps the key's order except where the diverse walk deferred a near-copy (or a
    # portfolio came first)
    deferred = by_key != ranks
    if deferred:
        why += ", with near-copies of a higher-ranked configuration deferred (diversity)"
    if by_score != ranks:
        causes = ["near-copies were deferred"] if deferred else []
        if by_score != by_key:
            causes.append("the key and the score are estimated separately (the key within this "
                          "dataset, the score in the metric's units)")
        why += (f"; predicted scores alone would order them {', '.join(map(str, by_score))}: "
                + " and ".join(causes))
    return {"why": why + ".", "predicted_score_order": by_score}


class ImputerProbes:
    """Imputer probes for one dataset, measured once per estimator family when first needed."""

    def __init__(self, dataset: Dataset, random_state: int = 0,
                 budget_s: float | None = None) -> None:
        self.dataset = dataset
        self.random_state = random_state
        self.budget_s = budget_s  # None: the probe's default budget
        self.results: dict[str, Any] = {}
        self.failure = ""

    def scores(self, algorithm: str) -> dict[str, float] | None:
        from metarec.imputation import ImputationError, estimator_family
        from metarec.imputation.probe import PROBE_BUDGET_S, probe

        family = estimator_family(algorithm)
        if family is None:
            return None
        if family not in self.results:
            try:
                self.results[family] = probe(
                    self.dataset.X, self.dataset.y, self.dataset.task, family,
                    random_state=self.random_state,
                    budget_s=PROBE_BUDGET_S if self.budget_s is None else self.budget_s)
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
