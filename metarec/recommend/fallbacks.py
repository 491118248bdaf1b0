"""Recommendations when the meta-learner cannot give them, and the one entry point that chooses.

:func:`recommendations_for` asks the meta-learner (:func:`metarec.recommend.recommend`) first;
when the knowledge base cannot support the task it ranks the knowledge base's configurations by
the single-best-configuration rule, and without a knowledge base it returns a fixed portfolio of
library defaults.
"""

from __future__ import annotations

import json
import logging
import math
from functools import lru_cache
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import pandas as pd

from metarec.errors import KnowledgeBaseError, MetaRecError
from metarec.kb.queries import single_best_table
from metarec.pipelines import normalize_spec
from metarec.recommend.record import recommendation

log = logging.getLogger(__name__)


def load_kb(kb: Any = None) -> Any | None:
    """The knowledge base at ``kb`` (a path, a loaded KB, or None for the shipped one), or None
    when there is none or ``kb`` is False (use no knowledge base). A path given explicitly must
    load: its errors are raised."""
    if kb is False:
        return None
    if kb is not None and hasattr(kb, "configurations"):
        return kb
    from metarec.kb import default_path

    path = Path(kb) if kb is not None else default_path()
    try:
        return _load_kb_cached(str(path.resolve()))
    except KnowledgeBaseError:
        if kb is not None:
            raise
        log.info("no usable knowledge base at %s; using the default portfolio", path)
        return None


@lru_cache(maxsize=4)
def _load_kb_cached(path: str) -> Any:
    # Estimators are fitted many times (cross-validation, check_estimator): load the KB once.
    from metarec import kb as kb_module

    return kb_module.load(path)


def default_portfolio(task: str, top_k: int = 5) -> list[dict[str, Any]]:
    """Library defaults, robust ones first: what to try when no knowledge base is available.
    Scores are not predicted (NaN): the order is a convention, not evidence."""
    names = ["random_forest", "hist_gradient_boosting", "lightgbm", "extra_trees"]
    names += ["logistic_regression", "svm"] if task == "classification" else ["svm"]
    names += ["k_nearest_neighbors"]
    specs = [{"task": task, "algorithm": n, "hyperparameters":
              {"max_iter": 1000} if n == "logistic_regression" else {}} for n in names]
    return [recommendation(i + 1, normalize_spec(s), math.nan, math.nan,
                           source="default portfolio")
            for i, s in enumerate(specs[:top_k])]


def single_best_recommendations(kb: Any, task: str, top_k: int = 5) -> list[dict[str, Any]]:
    """Rank the KB's configurations for ``task`` by mean normalised score over the datasets they
    were run on (the single-best-configuration rule); the best of each algorithm comes first, so
    the top-k are diverse. ``predicted_score`` is that mean share of each dataset's score range
    (1 = always the best configuration there), ``uncertainty`` its standard deviation."""
    table = single_best_table(kb, task)
    if table.empty:
        return []
    first = table.drop_duplicates("algorithm")
    recs = [
        recommendation(0, normalize_spec(json.loads(row.spec)), float(row.score),
                       float(row.spread), source="single-best fallback",
                       configuration_id=row.configuration_id, n_datasets=int(row.n))
        for row in first.head(top_k).itertuples()
    ]
    # Where the KB covers few algorithms (regression), robust library defaults come next.
    seen = {r["algorithm"] for r in recs}
    recs += [r for r in default_portfolio(task, top_k) if r["algorithm"] not in seen]
    rest = table.drop(first.index).head(top_k)
    recs += [
        recommendation(0, normalize_spec(json.loads(row.spec)), float(row.score),
                       float(row.spread), source="single-best fallback",
                       configuration_id=row.configuration_id, n_datasets=int(row.n))
        for row in rest.itertuples()
    ]
    recs = recs[:top_k]
    for i, rec in enumerate(recs):
        rec["rank"] = i + 1
    return recs


class Recommended(NamedTuple):
    """Recommendations, where they came from, and the profile behind them (when computed)."""

    recommendations: list[dict[str, Any]]
    source: str  # "meta-learner" | "single-best fallback" | "default portfolio"
    metafeatures: pd.Series | None = None
    # The meta-learner's set to try first (see MetaLearner.candidate_set); empty for fallbacks.
    candidate_set: list[dict[str, Any]] = []  # noqa: RUF012 (a NamedTuple default, never mutated)


def recommendations_for(
    X: pd.DataFrame, y: Any, task: str, kb: Any = None, top_k: int = 5,
    random_state: int = 0, source: str = "data", set_size: int = 5,
) -> Recommended:
    """Recommendations for (X, y): the meta-learner's (:func:`metarec.recommend.recommend`)
    when the knowledge base supports the task, else the single-best fallback over the knowledge
    base, else the default portfolio. ``set_size``: how many configurations the set to try
    first holds (tuning asks for as many as it will try before modelling)."""
    from metafeatures import MetaFeatureError
    from metarec.io import Dataset
    from metarec.recommend.recommender import recommend

    loaded = load_kb(kb)
    if loaded is not None:

        name = getattr(y, "name", None) or "target"
        y = pd.Series(np.asarray(y).ravel(), index=X.index, name=name)
        dataset = Dataset(X=X, y=y, target=str(name), task=task,  # type: ignore[arg-type]
                          source=source)
        try:
            report = recommend(dataset, kb=loaded, top_k=top_k, random_state=random_state,
                               set_size=set_size)
        except (MetaRecError, MetaFeatureError) as exc:
            # The knowledge base cannot support this task (or this data): fall back.
            log.info("the meta-learner could not recommend (%s); using the fallback", exc)
        else:
            recs = report.recommendations[:top_k]
            if recs:
                return Recommended(recs, "meta-learner", report.metafeatures,
                                   report.candidate_set)
    if loaded is not None:
        recs = single_best_recommendations(loaded, task, top_k)
        if recs:
            return Recommended(recs, "single-best fallback")
    return Recommended(default_portfolio(task, top_k), "default portfolio")


