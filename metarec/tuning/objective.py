"""The objective (a pipeline cross-validated per trial) and :func:`tune`, the whole study."""

from __future__ import annotations

import json
import math
import time
import warnings
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from metarec.crossval import check_cv
from metarec.errors import TuningError
from metarec.jsonable import to_jsonable
from metarec.pipelines import build, normalize_spec
from metarec.recommend import load_kb
from metarec.tuning.data import as_frame, check_data, infer_task
from metarec.tuning.space import SearchSpace, space_for
from metarec.tuning.study import create_study, existing_algorithms, open_storage
from metarec.tuning.warmstart import (
    DEFAULT_K,
    SEARCH_SPACES,
    class_weight_for,
    enqueue_warm_trials,
    recommended_space,
    translate_spec,
    warm_start_params,
)

DEFAULT_SCORING = {"classification": "balanced_accuracy", "regression": "r2"}
SPEC_ATTR = "metarec:spec"
ERROR_ATTR = "metarec:error"


def make_objective(X: pd.DataFrame, y: Any, space: SearchSpace, splitter: Any, scoring: str,
                   n_jobs: int | None, random_state: int | None,
                   predictions: dict[int, np.ndarray] | None = None) -> Callable[[Any], float]:
    """The trial objective: the mean cross-validated ``scoring`` of the suggested pipeline
    (:func:`cross_validated`).

    With ``predictions`` (a dict), each completed trial's out-of-fold predictions are kept
    under its number (class probabilities in the order of ``np.unique(y)`` for classification,
    values for regression; nothing for a pipeline without probabilities): what ensemble
    selection needs."""
    y = np.asarray(y)
    classes = np.unique(y) if space.task == "classification" else None

    def objective(trial: Any) -> float:
        spec = space.suggest(trial)
        trial.set_user_attr(SPEC_ATTR, json.dumps(to_jsonable(spec), sort_keys=True))
        try:
            evaluation = cross_validated(spec, X, y, splitter, scoring, n_jobs,
                                         random_state, classes, predictions is not None)
        except Exception as exc:
            trial.set_user_attr(ERROR_ATTR, f"{type(exc).__name__}: {exc}"[:500])
            raise
        if predictions is not None and evaluation.oof is not None:
            predictions[trial.number] = evaluation.oof
        trial.set_user_attr("metarec:cv_std", evaluation.std)
        return evaluation.value

    return objective


@dataclass
class Evaluation:
    """One pipeline cross-validated: mean and spread of the scores, the out-of-fold predictions
    (when asked for and available), the fitted fold models (when asked for) and the seconds the
    whole cross-validation took."""

    value: float
    std: float
    seconds: float
    oof: np.ndarray | None = None
    fold_models: list[Any] | None = None


def cross_validated(spec: dict[str, Any], X: pd.DataFrame, y: np.ndarray, splitter: Any,
                    scoring: str, n_jobs: int | None, random_state: int | None,
                    classes: np.ndarray | None, keep_predictions: bool,
                    keep_models: bool = False) -> Evaluation:
    """Cross-validate the pipeline of ``spec`` on (X, y): what every trial runs, in this process
    or in a budgeted trial's worker. Raises when a fold fails or the score is not finite."""
    from sklearn.model_selection import cross_validate

    keep = keep_predictions or keep_models
    started = time.perf_counter()
    with warnings.catch_warnings():
        # Convergence and similar warnings are expected across a search space.
        warnings.simplefilter("ignore")
        result = cross_validate(build(spec, random_state=random_state or 0), X, y,
                                cv=splitter, scoring=scoring, n_jobs=n_jobs,
                                error_score="raise", return_estimator=keep, return_indices=keep)
        scores = result["test_score"]
        value = float(np.mean(scores))
        if not math.isfinite(value):
            raise ValueError("the cross-validated score is not finite")
        oof = out_of_fold(result, X, len(y), classes) if keep_predictions else None
    return Evaluation(value=value, std=float(np.std(scores)),
                      seconds=time.perf_counter() - started, oof=oof,
                      fold_models=list(result["estimator"]) if keep_models else None)


def out_of_fold(result: dict[str, Any], X: pd.DataFrame, n_rows: int,
                classes: np.ndarray | None) -> np.ndarray | None:
    """Out-of-fold predictions from ``cross_validate(..., return_estimator=True,
    return_indices=True)``: probabilities over ``classes`` (None: regression values); None when a
    classifier has no ``predict_proba``."""
    folds = zip(result["estimator"], result["indices"]["test"], strict=True)
    if classes is None:
        out = np.full(n_rows, np.nan)
        for model, test in folds:
            out[test] = model.predict(X.iloc[test])
        return out
    out = np.zeros((n_rows, len(classes)))
    for model, test in folds:
        if not hasattr(model, "predict_proba"):
            return None
        # a fold may lack a class: place the model's columns by class
        out[np.ix_(test, np.searchsorted(classes, model.classes_))] = model.predict_proba(
            X.iloc[test])
    return out


def spec_of(trial: Any, space: SearchSpace) -> dict[str, Any]:
    text = trial.user_attrs.get(SPEC_ATTR)
    return json.loads(text) if text else space.params_to_spec(trial.params)


def tune(
    X: Any,
    y: Any,
    recommendations: Iterable[Mapping[str, Any]] = (),
    n_trials: int | None = 50,
    timeout: float | None = None,
    cv: int = 5,
    storage: Any = None,
    study_name: str | None = None,
    random_state: int | None = None,
    n_jobs: int | None = None,
    callbacks: Sequence[Callable[[Any, Any], None]] | None = None,
    *,
    task: str | None = None,
    k: int = DEFAULT_K,
    kb: Any = None,
    scoring: str | None = None,
    space: SearchSpace | None = None,
    search_space: str = "full",
    predictions: dict[int, np.ndarray] | None = None,
    candidate_set: Sequence[Mapping[str, Any]] = (),
) -> tuple[Any, dict[str, Any]]:
    """Tune a pipeline for (X, y) with Optuna's TPE, warm-started with ``k`` configurations:
    the ``candidate_set`` (the recommended set to try first) and then the ``recommendations``
    (see :func:`metarec.tuning.warmstart.warm_start_order`); return ``(study, best_spec)``.

    ``search_space="full"`` (the default) searches every algorithm of the space;
    ``"recommended"`` only those the recommendations name (see :func:`recommended_space`). In the
    warm-start benchmark the full space did better (median ratio 1.52x against 1.06x, seeds 0-2).

    Every trial is scored by ``cv``-fold cross-validation (``scoring``: balanced accuracy for
    classification, R2 for regression by default). A trial that raises is recorded as failed
    (its error in the trial's ``metarec:error`` user attribute) and tuning goes on.
    ``n_trials=0`` runs nothing and returns the top recommendation's spec. ``predictions``: a
    dict that receives each completed trial's out-of-fold predictions (see
    :func:`make_objective`)."""
    if n_trials is not None and n_trials < 0:
        raise TuningError(f"the number of trials must be zero or more, not {n_trials}.")
    if timeout is not None and timeout <= 0:
        raise TuningError(f"the timeout must be positive, not {timeout}.")
    if search_space not in SEARCH_SPACES:
        raise TuningError(f"the search space must be one of {', '.join(SEARCH_SPACES)}, "
                          f"not {search_space!r}.")
    X = as_frame(X)
    y_arr = np.asarray(y).ravel()
    task = task or infer_task(y_arr)
    check_data(X, y_arr, task)
    splitter = check_cv(cv, y_arr, task, random_state)
    scoring = scoring or DEFAULT_SCORING[task]
    recs = list(recommendations)
    if space is None:
        space = space_for(task, has_missing=bool(X.isna().to_numpy().any()), kb=load_kb(kb),
                          n_samples=len(X), n_features=X.shape[1])
    if search_space == "recommended":
        space = recommended_space(space, recs)
    weight = class_weight_for(y_arr, task, scoring)
    warm = warm_start_params(recs, k, space, n_samples=len(X), n_features=X.shape[1],
                             class_weight=weight, candidate_set=candidate_set
                             ) if n_trials != 0 else []
    study, created = create_study(open_storage(storage), study_name, random_state, task,
                                  scoring, n_warm=len(warm))
    existing = None if created else existing_algorithms(study)
    if existing is not None and tuple(existing) != space.algorithms:
        full = space_for(task, has_missing=space.impute, kb=load_kb(kb), n_samples=len(X),
                         n_features=X.shape[1])
        if set(existing) <= set(full.algorithms):
            space = full.restricted(existing)
    if n_trials == 0:
        # Nothing is enqueued: in a shared storage, waiting trials would outlive this call.
        if not recs:
            raise TuningError("with no trials to run, tuning needs at least one recommendation.")
        return study, normalize_spec(translate_spec({**recs[0]["pipeline"], "task": task}, weight))
    if created:
        enqueue_warm_trials(study, warm)
    import optuna

    objective = make_objective(X, y_arr, space, splitter, scoring, n_jobs, random_state,
                               predictions)
    study.optimize(objective, n_trials=n_trials, timeout=timeout, catch=(Exception,),
                   callbacks=list(callbacks or []))
    complete = study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,))
    if not complete:
        raise TuningError("every trial failed, so there is no pipeline to return."
                          f"{last_error(study)}")
    return study, spec_of(study.best_trial, space)


def last_error(study: Any) -> str:
    """A sentence quoting the study's most recent trial error, to end a message with; empty
    when no trial recorded one."""
    errors = [t.user_attrs[ERROR_ATTR] for t in study.trials if t.user_attrs.get(ERROR_ATTR)]
    return f" The last error: {errors[-1]}" if errors else ""


