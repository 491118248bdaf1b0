"""Ensemble selection (Caruana et al., 2004), as auto-sklearn and AutoGluon use it.

Given the out-of-fold predictions of the pipelines a search evaluated, :func:`select_weights`
greedily adds, with replacement, the pipeline whose inclusion most improves the score of the
averaged predictions; a pipeline's weight is how often it was added. :class:`WeightedEnsemble`
averages the refitted pipelines' predictions with those weights: class probabilities for
classification, values for regression.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin, clone
from sklearn.utils.validation import check_is_fitted

DEFAULT_ENSEMBLE_SIZE = 50
# Ensemble selection needs a few pipelines to choose from (auto-sklearn's default is 50 runs).
MIN_ENSEMBLE_CANDIDATES = 3


def _score_function(task: str, scoring: str) -> Callable[[np.ndarray, np.ndarray], float]:
    """``scoring`` (a scikit-learn scorer name) applied to averaged predictions: probabilities
    for classification, values for regression; higher is better."""
    from sklearn import metrics

    labels = {"balanced_accuracy": metrics.balanced_accuracy_score,
              "accuracy": metrics.accuracy_score,
              "f1_macro": lambda y, p: metrics.f1_score(y, p, average="macro")}
    values = {"r2": metrics.r2_score,
              "neg_mean_squared_error": lambda y, p: -metrics.mean_squared_error(y, p),
              "neg_root_mean_squared_error":
                  lambda y, p: -metrics.root_mean_squared_error(y, p),
              "neg_mean_absolute_error": lambda y, p: -metrics.mean_absolute_error(y, p)}
    if task == "classification" and scoring in labels:
        return lambda y, proba: float(labels[scoring](y, np.argmax(proba, axis=1)))
    if task == "classification" and scoring == "neg_log_loss":
        return lambda y, proba: -float(metrics.log_loss(
            y, np.clip(proba, 1e-15, 1.0), labels=np.arange(proba.shape[1])))
    if task == "classification" and scoring == "roc_auc":
        return lambda y, proba: float(metrics.roc_auc_score(
            y, proba[:, 1] if proba.shape[1] == 2 else proba, multi_class="ovr"))
    if task == "regression" and scoring in values:
        return lambda y, pred: float(values[scoring](y, pred))
    known = [*labels, "neg_log_loss", "roc_auc"] if task == "classification" else list(values)
    raise ValueError(f"ensemble selection does not know the {task} `scoring` {scoring!r}; "
                     f"use one of {', '.join(known)}.")


def _smooth_fit(task: str, y: np.ndarray, prediction: np.ndarray) -> float:
    if task == "classification":
        return float(np.mean(np.log(np.clip(prediction[np.arange(len(y)), y], 1e-15, 1.0))))
    return -float(np.mean((np.asarray(y, dtype=np.float64) - prediction) ** 2))


def select_weights(predictions: Sequence[np.ndarray], y: Any, task: str,
                   scoring: str, size: int = DEFAULT_ENSEMBLE_SIZE) -> np.ndarray:
    """Weights (summing to 1) of the greedy ensemble of ``predictions`` (one out-of-fold
    prediction per pipeline: an (n_samples, n_classes) probability matrix for classification,
    class labels encoded 0..K-1 in ``y``; an (n_samples,) vector for regression).

    Each of ``size`` rounds adds the pipeline that makes the average score best (higher is
    better; ties go to the better likelihood of the true class, or squared error, then to the
    earlier pipeline); rounds that cannot improve still add the best
    pipeline, as in Caruana et al., which lets weights settle, and the weights of the round with
    the best score are returned, so the ensemble's out-of-fold score is never below the best
    single pipeline's. ``size=1`` picks the single best.
    """
    if size < 1:
        raise ValueError(f"the ensemble size must be at least 1, not {size}.")
    if not predictions:
        raise ValueError("ensemble selection needs at least one prediction.")
    stacked = np.stack([np.asarray(p, dtype=np.float64) for p in predictions])
    y = np.asarray(y)
    score = _score_function(task, scoring)
    counts = np.zeros(len(stacked), dtype=int)
    total = np.zeros_like(stacked[0])
    best_counts, best_value = counts.copy(), -np.inf
    for step in range(size):
        candidates = (total[None] + stacked) / (step + 1)
        values = np.array([score(y, c) for c in candidates], dtype=np.float64)
        # Label metrics tie often; among the tied, the smoother fit (likelihood of the true class,
        # or squared error) decides, so a useless member never enters on a tie.
        tied = np.flatnonzero(values >= np.nanmax(values) - 1e-12)
        best = int(tied[np.argmax([_smooth_fit(task, y, candidates[i]) for i in tied])])
        counts[best] += 1
        total += stacked[best]
        if values[best] > best_value + 1e-12:
            best_counts, best_value = counts.copy(), float(values[best])
    return best_counts / best_counts.sum()


class WeightedEnsemble(BaseEstimator):
    """Weighted average of ``estimators`` (scikit-learn pipelines).

    ``fit`` refits every member with a positive weight on (X, y); members are cloned, so the
    ensemble owns its copies. ``predict`` averages probabilities (classification: the class of
    highest mean probability) or values (regression). An ensemble of one member predicts exactly
    what that member predicts.
    """

    def __init__(self, estimators: Sequence[Any] = (), weights: Sequence[float] = (),
                 task: str = "classification") -> None:
        self.estimators = estimators
        self.weights = weights
        self.task = task

    def fit(self, X: Any, y: Any) -> WeightedEnsemble:
        weights = np.asarray(self.weights, dtype=np.float64)
        if len(weights) != len(self.estimators) or len(weights) == 0:
            raise ValueError("weights must give one weight per estimator.")
        if (weights < 0).any() or weights.sum() <= 0:
            raise ValueError("weights must be non-negative and not all zero.")
        keep = np.flatnonzero(weights > 0)
        self.estimators_ = [clone(self.estimators[i]).fit(X, y) for i in keep]
        self.weights_ = weights[keep] / weights[keep].sum()
        if self.task == "classification":
            self.classes_ = np.unique(np.asarray(y))
        return self

    def _member_probabilities(self, X: Any) -> np.ndarray:
        total = np.zeros((len(X), len(self.classes_)))
        for member, weight in zip(self.estimators_, self.weights_, strict=True):
            columns = np.searchsorted(self.classes_, member.classes_)
            if hasattr(member, "predict_proba"):
                # a member may have seen fewer classes: place its columns by class
                total[:, columns] += weight * member.predict_proba(X)
            else:  # a member without probabilities (an SVM's fold models) votes
                votes = np.searchsorted(self.classes_, member.predict(X))
                total[np.arange(len(votes)), votes] += weight
        return total

    def predict_proba(self, X: Any) -> np.ndarray:
        check_is_fitted(self, "estimators_")
        if self.task != "classification":
            raise AttributeError("a regression ensemble has no predict_proba.")
        return self._member_probabilities(X)

    def predict(self, X: Any) -> np.ndarray:
        check_is_fitted(self, "estimators_")
        if self.task == "classification":
            if len(self.estimators_) == 1:
                return self.estimators_[0].predict(X)
            return self.classes_[np.argmax(self._member_probabilities(X), axis=1)]
        values = [w * np.asarray(m.predict(X), dtype=np.float64)
                  for m, w in zip(self.estimators_, self.weights_, strict=True)]
        return np.sum(values, axis=0)


class WeightedEnsembleClassifier(ClassifierMixin, WeightedEnsemble):
    """A classification :class:`WeightedEnsemble` (scikit-learn's classifier tags and score)."""


class WeightedEnsembleRegressor(RegressorMixin, WeightedEnsemble):
    """A regression :class:`WeightedEnsemble` (scikit-learn's regressor tags and score)."""


def select_ensemble(study: Any, predictions: dict[int, np.ndarray], y: np.ndarray, task: str,
                    size: int) -> list[tuple[dict[str, Any], float]]:
    """(spec, weight) of the greedy ensemble over this process's evaluated pipelines (one per
    distinct spec, best score first); empty when fewer than :data:`MIN_ENSEMBLE_CANDIDATES` have
    out-of-fold predictions."""
    import optuna

    from metarec.tuning.objective import DEFAULT_SCORING, SPEC_ATTR

    done = [t for t in study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,))
            if t.number in predictions and SPEC_ATTR in t.user_attrs]
    done.sort(key=lambda t: t.value, reverse=True)
    seen: set[str] = set()
    distinct = []
    for trial in done:
        if trial.user_attrs[SPEC_ATTR] not in seen:
            seen.add(trial.user_attrs[SPEC_ATTR])
            distinct.append(trial)
    if len(distinct) < MIN_ENSEMBLE_CANDIDATES:
        return []
    target = np.searchsorted(np.unique(y), y) if task == "classification" else y
    weights = select_weights([predictions[t.number] for t in distinct], target, task,
                             DEFAULT_SCORING[task], size=size)
    return [(json.loads(t.user_attrs[SPEC_ATTR]), float(w))
            for t, w in zip(distinct, weights, strict=True) if w > 0]


def prefitted(estimators: Sequence[Any], weights: Sequence[float], task: str
              ) -> WeightedEnsemble:
    """A fitted ensemble of already fitted ``estimators`` (e.g. a pipeline's fold models, or
    members refitted one by one under a time budget); ``fit`` would refit clones of them."""
    model = ensemble(estimators, weights, task)
    weights_ = np.asarray(weights, dtype=np.float64)
    model.estimators_ = list(estimators)
    model.weights_ = weights_ / weights_.sum()
    if task == "classification":
        model.classes_ = np.unique(np.concatenate([e.classes_ for e in estimators]))
    return model


def ensemble(estimators: Sequence[Any], weights: Sequence[float], task: str) -> WeightedEnsemble:
    """An unfitted ensemble of the right kind for ``task``."""
    kind = WeightedEnsembleClassifier if task == "classification" else WeightedEnsembleRegressor
    return kind(estimators=list(estimators), weights=list(weights), task=task)
