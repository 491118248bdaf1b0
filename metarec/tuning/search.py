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

from metarec.crossval import check_cv, check_splittable
from metarec.errors import TuningError
from metarec.pipelines import build, normalize_spec
from metarec.recommend import Recommended, recommendations_for
from metarec.recommend.learner_cache import SHIPPED_SEED
from metarec.tuning.anytime import budgeted_search
from metarec.tuning.data import check_data
from metarec.tuning.ensemble import DEFAULT_ENSEMBLE_SIZE, ensemble, select_ensemble
from metarec.tuning.objective import DEFAULT_SCORING, tune
from metarec.tuning.study import check_study, open_storage, quiet_optuna
from metarec.tuning.warmstart import (
    DEFAULT_K,
    POOL_PER_WARM_TRIAL,
    class_weight_for,
    translate_spec,
)

log = logging.getLogger(__name__)

# The untuned (zero-shot) choice weighs predicted fit cost, by the rule of :func:`affordable_order`:
# a recommendation predicted to take at least COST_RATIO times the fit time of a lower-ranked one,
# and at least MIN_COSTLY_SECONDS, for a predicted score within SCORE_SLIVER (relative) of it, is
# not fitted first.
COST_RATIO = 100.0
MIN_COSTLY_SECONDS = 10.0
SCORE_SLIVER = 0.01


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
    # (spec, weight) of each ensemble member when ``pipeline`` is an ensemble, else empty
    ensemble: list[tuple[dict[str, Any], float]] = field(default_factory=list)
    # Why the candidates were fitted in another order than the ranking's (affordable_order).
    notes: list[str] = field(default_factory=list)


def search(
    X: pd.DataFrame, y: Any, task: str, *, kb: Any = None, top_k: int = DEFAULT_K,
    n_trials: int = 0, timeout: float | None = None, cv: int = 5, storage: Any = None,
    study_name: str | None = None, random_state: int | None = None, n_jobs: int | None = None,
    callbacks: Sequence[Callable[[Any, Any], None]] | None = None,
    search_space: str = "full", source: str = "data", optuna_log_level: int = logging.WARNING,
    ensemble_size: int = DEFAULT_ENSEMBLE_SIZE, time_budget: float | None = None,
    started: float | None = None,
) -> SearchResult:
    """Recommend for (X, y), tune for ``n_trials`` warm-started trials (0: none), and fit the
    best candidate on all of the data.

    The warm start picks its ``top_k`` (one per algorithm first) from a ranking
    :data:`~metarec.tuning.warmstart.POOL_PER_WARM_TRIAL` times wider; ``recommendations`` keeps
    the ``top_k`` of the ranking itself. Candidates are fitted in order — the tuned best, then the
    recommendations as the warm start would try them (forests with enough trees, balanced class
    weights for imbalanced classes) in :func:`affordable_order` (the ranking's, unless the first
    costs far more time than a nearly as good one) — and the first that fits is returned: a
    recommendation can be unfit for this particular data (more neighbours than rows, a solver
    that fails).

    Ensemble selection: when ``ensemble_size`` > 0 and at least
    :data:`~metarec.tuning.ensemble.MIN_ENSEMBLE_CANDIDATES` pipelines were evaluated here, the
    greedy ensemble of their out-of-fold predictions
    (:func:`metarec.tuning.ensemble.select_weights`) is fitted instead of the single best
    whenever it has more than one member; ``ensemble_size=0`` turns it off.

    ``time_budget`` (seconds of wall time from ``started``, a :func:`time.monotonic` value,
    default: now) runs :func:`metarec.tuning.anytime.budgeted_search` instead: the recommended
    set first, TPE for the rest, refit and ensemble, all within the budget; ``n_trials`` > 0
    then caps the evaluations on all rows, and ``timeout`` cannot be given with it."""
    if n_trials < 0:
        raise TuningError(f"n_trials must be zero or more, not {n_trials}.")
    if not isinstance(ensemble_size, (int, np.integer)) or ensemble_size < 0:
        raise TuningError(f"`ensemble_size` must be an integer >= 0, not {ensemble_size!r}.",
                          parameters=("ensemble_size",))
    if time_budget is not None:
        check_time_budget(time_budget, timeout)
    if n_trials > 0 or time_budget is not None:
        # A wrong URL, a dead server, a missing driver or a study made for something else are
        # reported first, not after the seconds that profiling and ranking take.
        storage = open_storage(storage)
        check_study(storage, study_name, task, DEFAULT_SCORING[task])
    y_arr = np.asarray(y).ravel()
    check_data(X, y_arr, task)
    check_splittable(y_arr, task)  # the rule of recommend and kb add, whatever ``cv`` is
    check_cv(cv, y_arr, task, random_state)  # one clear sentence for unsplittable data, now
    if time_budget is not None:
        run = budgeted_search(
            X, y_arr, task, time_budget=time_budget, started=started, kb=kb, top_k=top_k,
            n_trials=n_trials or None, cv=cv, storage=storage, study_name=study_name,
            random_state=random_state, n_jobs=n_jobs, callbacks=callbacks or (),
            search_space=search_space, source=source, target=getattr(y, "name", None),
            ensemble_size=ensemble_size)
        return SearchResult(recommended=run.recommended,
                            recommendations=run.recommended.recommendations[:top_k],
                            spec=run.best_spec, pipeline=run.model, study=run.study,
                            tuned_spec=run.best_spec, ensemble=run.members, notes=run.notes)
    found = recommendations_for(X, pd.Series(y_arr, index=X.index, name=getattr(y, "name", None)),
                                task, kb=kb, top_k=POOL_PER_WARM_TRIAL * max(top_k, 1),
                                random_state=SHIPPED_SEED, source=source,
                                set_size=max(top_k, 1))
    weight = class_weight_for(y_arr, task, DEFAULT_SCORING[task])
    ordered, notes = affordable_order(found.recommendations[:max(top_k, 1)])
    for note in notes:
        log.info(note)
    candidates = [translate_spec({**r["pipeline"], "task": task}, weight) for r in ordered]
    study = tuned = None
    predictions: dict[int, np.ndarray] = {}
    if n_trials > 0:
        with quiet_optuna(optuna_log_level):
            study, tuned = tune(X, y_arr, found.recommendations, n_trials=n_trials,
                                timeout=timeout, cv=cv, storage=storage, study_name=study_name,
                                random_state=random_state, n_jobs=n_jobs, callbacks=callbacks,
                                task=task, k=top_k, kb=kb, search_space=search_space,
                                predictions=predictions, candidate_set=found.candidate_set)
        candidates = [tuned, *candidates]
        notes = []  # the tuned best is fitted first: the untuned order no longer decides
    members = (select_ensemble(study, predictions, y_arr, task, ensemble_size)
               if study is not None and ensemble_size > 0 else [])
    if len(members) > 1:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                model = ensemble([build({**spec, "task": task}, random_state=random_state)
                                  for spec, _ in members], [w for _, w in members], task)
                model.fit(X, y_arr)
        except Exception as exc:  # a member that fitted in CV may still fail on all rows
            log.info("the ensemble could not be fitted (%s); fitting the best pipeline", exc)
        else:
            return SearchResult(recommended=found,
                                recommendations=found.recommendations[:top_k],
                                spec=normalize_spec({**tuned, "task": task}), pipeline=model,
                                study=study, tuned_spec=tuned, ensemble=members)
    spec, pipeline, skipped = fit_first(candidates, X, y_arr, task, random_state)
    return SearchResult(recommended=found, recommendations=found.recommendations[:top_k],
                        spec=spec, pipeline=pipeline, study=study, tuned_spec=tuned,
                        skipped=skipped, notes=notes)


def check_time_budget(time_budget: Any, timeout: float | None) -> None:
    """Refuse a time budget that is not a positive number of seconds, or one given with
    ``timeout`` (two limits on one search would contradict each other)."""
    if (isinstance(time_budget, bool) or not isinstance(time_budget, (int, float, np.number))
            or not np.isfinite(time_budget) or time_budget <= 0):
        raise TuningError(f"`time_budget` must be a positive number of seconds, not "
                          f"{time_budget!r}.", parameters=("time_budget",))
    if timeout is not None:
        raise TuningError("give `time_budget` or `timeout`, not both: the budget already "
                          "bounds the whole search.", parameters=("time_budget", "timeout"))


def affordable_order(recommendations: Sequence[dict[str, Any]]
                     ) -> tuple[list[dict[str, Any]], list[str]]:
    """``recommendations`` in the order to fit them untuned, and a note when that is not theirs.

    The rule: the first recommendation, A, stays first unless a later one, B, is predicted to fit
    at least :data:`COST_RATIO` times faster (``predicted_fit_seconds``) while A is predicted to
    take at least :data:`MIN_COSTLY_SECONDS`, and B's predicted score is within
    :data:`SCORE_SLIVER` of A's (relative to A's, so it holds for error and score scales alike).
    Then the best-ranked such B is fitted first and the rest follow in their order. A
    recommendation without a predicted time or score (a fallback's) neither moves nor is moved.
    """
    recs = list(recommendations)
    if len(recs) < 2:
        return recs, []
    top = recs[0]
    top_seconds, top_score = top.get("predicted_fit_seconds"), top.get("predicted_score")
    if top_seconds is None or top_score is None or not np.isfinite(top_score) or (
            top_seconds < MIN_COSTLY_SECONDS):
        return recs, []
    for position, other in enumerate(recs[1:], start=1):
        seconds, score = other.get("predicted_fit_seconds"), other.get("predicted_score")
        if seconds is None or score is None or not np.isfinite(score):
            continue
        gap = abs(top_score - score)
        if seconds * COST_RATIO <= top_seconds and gap <= SCORE_SLIVER * abs(top_score):
            note = (f"fitted {other['algorithm']} (rank {other.get('rank')}, predicted fit "
                    f"{seconds:.3g} s) before {top['algorithm']} (rank {top.get('rank')}, "
                    f"predicted fit {top_seconds:.3g} s, {top_seconds / max(seconds, 1e-9):.0f}x "
                    f"longer) for a predicted score {top_score:.4g} against {score:.4g}")
            return [other, *recs[:position], *recs[position + 1:]], [note]
    return recs, []


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
