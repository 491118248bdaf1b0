"""The one orchestration from data to a fitted pipeline: recommend, tune, fit the best.

``metarec tune`` and :class:`metarec.MetaRecClassifier` / :class:`metarec.MetaRecRegressor` both
call :func:`search`, so the command and the estimators try the same candidates in the same order.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from metarec.crossval import check_cv
from metarec.errors import TuningError
from metarec.pipelines import build, normalize_spec
from metarec.recommend import Recommended, recommendations_for
from metarec.tuning.data import check_data
from metarec.tuning.objective import DEFAULT_SCORING, tune
from metarec.tuning.study import check_study, open_storage, quiet_optuna
from metarec.tuning.warmstart import (
    DEFAULT_K,
    POOL_PER_WARM_TRIAL,
    class_weight_for,
    translate_spec,
)

log = logging.getLogger(__name__)


@dataclass
class SearchResult:
    """What :func:`search` found: the recommendations, the study (None without trials), the
    spec that was fitted and the fitted pipeline."""

    recommended: Recommended
    recommendations: list[dict[str, Any]]
    spec: dict[str, Any]
    pipeline: Any
    study: Any = None
    tuned_spec: dict[str, Any] | None = None
    skipped: list[str] = field(default_factory=list)


def search(
    X: pd.DataFrame, y: Any, task: str, *, kb: Any = None, top_k: int = DEFAULT_K,
    n_trials: int = 0, timeout: float | None = None, cv: int = 5, storage: Any = None,
    study_name: str | None = None, random_state: int | None = None, n_jobs: int | None = None,
    callbacks: Sequence[Callable[[Any, Any], None]] | None = None,
    search_space: str = "full", source: str = "data", optuna_log_level: int = logging.WARNING,
) -> SearchResult:
    """Recommend for (X, y), tune for ``n_trials`` warm-started trials (0: none), and fit the
    best candidate on all of the data.

    The warm start picks its ``top_k`` (one per algorithm first) from a ranking
    :data:`~metarec.tuning.warmstart.POOL_PER_WARM_TRIAL` times wider; ``recommendations`` keeps
    the ``top_k`` of the ranking itself. Candidates are fitted in order — the tuned best, then the
    recommendations as the warm start would try them (forests with enough trees, balanced class
    weights for imbalanced classes) — and the first that fits is returned: a recommendation can be
    unfit for this particular data (more neighbours than rows, a solver that fails)."""
    if n_trials < 0:
        raise TuningError(f"n_trials must be zero or more, not {n_trials}.")
    if n_trials > 0:
        # A wrong URL, a dead server, a missing driver or a study made for something else are
        # reported first, not after the seconds that profiling and ranking take.
        storage = open_storage(storage)
        check_study(storage, study_name, task, DEFAULT_SCORING[task])
    y_arr = np.asarray(y).ravel()
    check_data(X, y_arr, task)
    check_cv(cv, y_arr, task, random_state)  # one clear sentence for unsplittable data, now
    found = recommendations_for(X, pd.Series(y_arr, index=X.index, name=getattr(y, "name", None)),
                                task, kb=kb, top_k=POOL_PER_WARM_TRIAL * max(top_k, 1),
                                random_state=random_state or 0, source=source)
    weight = class_weight_for(y_arr, task, DEFAULT_SCORING[task])
    candidates = [translate_spec({**r["pipeline"], "task": task}, weight)
                  for r in found.recommendations[:max(top_k, 1)]]
    study = tuned = None
    if n_trials > 0:
        with quiet_optuna(optuna_log_level):
            study, tuned = tune(X, y_arr, found.recommendations, n_trials=n_trials,
                                timeout=timeout, cv=cv, storage=storage, study_name=study_name,
                                random_state=random_state, n_jobs=n_jobs, callbacks=callbacks,
                                task=task, k=top_k, kb=kb, search_space=search_space)
        candidates = [tuned, *candidates]
    spec, pipeline, skipped = fit_first(candidates, X, y_arr, task, random_state)
    return SearchResult(recommended=found, recommendations=found.recommendations[:top_k],
                        spec=spec, pipeline=pipeline, study=study, tuned_spec=tuned,
                        skipped=skipped)


def fit_first(specs: Sequence[dict[str, Any]], X: pd.DataFrame, y: Any, task: str,
              random_state: int | None) -> tuple[dict[str, Any], Any, list[str]]:
    """Fit the first of ``specs`` that fits (X, y); return it, the fitted pipeline and the
    reasons the ones before it failed. Raises the first error when none fits."""
    first_error: Exception | None = None
    skipped: list[str] = []
    for spec in specs:
        spec = normalize_spec({**spec, "task": task})
        try:
            with warnings.catch_warnings():
                # Convergence and similar warnings are expected across recommendations.
                warnings.simplefilter("ignore")
                pipeline = build(spec, random_state=random_state).fit(X, y)
        except Exception as exc:  # any estimator error: try the next candidate
            log.info("could not fit %s (%s); trying the next", spec["algorithm"], exc)
            skipped.append(f"{spec['algorithm']}: {type(exc).__name__}: {exc}"[:300])
            first_error = first_error or exc
            continue
        return spec, pipeline, skipped
    if first_error is None:
        raise ValueError("there is no candidate pipeline to fit.")
    raise first_error
