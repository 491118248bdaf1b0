"""Measure imputers on the dataset itself: cross-validate each with an estimator family.

The imputation campaign (``bench/imputation_campaign.py``) labels its datasets with exactly this
measurement (every imputer x family, 5 folds, up to 1,000 rows). :func:`probe` repeats it at a
smaller scale on a user's dataset (3-fold CV twice, up to 1,000 rows, one family), so the
recommender can let the data speak where meta-features say little: on the campaign, the probe's
pick lands within 0.01 of the best imputer far more often than any choice made from meta-features
alone (``bench/bench_imputation.py``; figures in docs/benchmarks.md).
"""

from __future__ import annotations

import json
import time
import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from metarec.crossval import check_cv, sample_rows
from metarec.imputation.selector import FAMILIES, NATIVE_FAMILIES, ImputationError
from metarec.jsonable import to_jsonable

IMPUTERS = ("mean", "median", "most_frequent", "constant", "knn", "iterative", "native")
# The estimator of each of metarec.imputation.FAMILIES: one linear model, one bagged and one
# boosted tree ensemble, whose reactions to imputation differ most. Only LightGBM takes NaN itself
# ("native", NATIVE_FAMILIES).
FAMILY_ESTIMATORS: dict[str, dict[str, dict[str, Any]]] = {
    "linear": {
        "classification": {"algorithm": "logistic_regression",
                           "hyperparameters": {"max_iter": 300}},
        "regression": {"algorithm": "ard_regression", "hyperparameters": {}},
    },
    "random_forest": {
        "classification": {"algorithm": "random_forest",
                           "hyperparameters": {"n_estimators": 50, "n_jobs": 1}},
        "regression": {"algorithm": "random_forest",
                       "hyperparameters": {"n_estimators": 50, "n_jobs": 1}},
    },
    "lightgbm": {
        "classification": {"algorithm": "lightgbm",
                           "hyperparameters": {"n_estimators": 100, "n_jobs": 1}},
        "regression": {"algorithm": "lightgbm",
                       "hyperparameters": {"n_estimators": 100, "n_jobs": 1}},
    },
}
METRIC = {"classification": "balanced_accuracy", "regression": "r2"}
PROBE_ROWS = 1000
# The campaign measured at most 30 features; kNN and iterative imputation grow quickly with more
# (1,000 x 300: over three minutes per family), so the probe looks at 30 columns at most.
PROBE_FEATURES = 30
PROBE_FOLDS = 3
# Two repetitions of 3-fold CV: one picked a campaign hit 76.7% / 73.1% of the time depending on
# the fold seed, their mean 75.9% (docs/imputation.md); fold noise is what a repeat averages out.
PROBE_REPEATS = 2
# Seconds (wall clock) one family's probe may take by default. Unbudgeted, kNN and iterative
# imputation made a probe take 41-62 s per family on 500-900-row tables; the cheap imputers are
# measured first, and whatever the budget leaves out is reported as not measured.
PROBE_BUDGET_S = 15.0
# The order imputers are measured in under a budget: cheapest first.
BUDGET_ORDER = ("mean", "median", "most_frequent", "constant", "native", "knn", "iterative")


def configurations(task_type: str, families: tuple[str, ...] | None = None) -> list[
        tuple[str, str, dict[str, Any]]]:
    """(family, imputer, spec) for every imputer x estimator pair that makes sense."""
    out = []
    for family, specs in FAMILY_ESTIMATORS.items():
        if families is not None and family not in families:
            continue
        for imputer in IMPUTERS:
            if imputer == "native" and family not in NATIVE_FAMILIES:
                continue
            spec = {"task": task_type, **specs[task_type], "imputer": imputer}
            out.append((family, imputer, spec))
    return out


def folds(y: pd.Series, task_type: str, n_folds: int, seed: int) -> list[tuple[np.ndarray, ...]]:
    return list(check_cv(n_folds, y, task_type, seed).split(np.zeros(len(y)), y))


def cap_rows(X: pd.DataFrame, y: pd.Series, max_rows: int, seed: int,
             classification: bool) -> tuple[pd.DataFrame, pd.Series]:
    """At most ``max_rows`` rows, drawn seeded (stratified for classification where possible)."""
    if len(X) <= max_rows:
        return X, y
    keep = sample_rows(y, max_rows, seed, stratified=classification)
    return X.iloc[keep], y.iloc[keep]


def cap_features(X: pd.DataFrame, max_features: int, seed: int) -> pd.DataFrame:
    """At most ``max_features`` columns: the incomplete ones first (they are what the imputers
    act on), topped up with complete ones; seeded draws where there are more to choose from."""
    if X.shape[1] <= max_features:
        return X
    rng = np.random.default_rng(seed)
    incomplete = np.flatnonzero(X.isna().any(axis=0).to_numpy())
    complete = np.setdiff1d(np.arange(X.shape[1]), incomplete)
    keep = rng.permutation(incomplete)[:max_features]
    keep = np.concatenate([keep, rng.permutation(complete)[:max_features - len(keep)]])
    return X.iloc[:, np.sort(keep)]


def _score(task_type: str, y_true: Any, y_pred: Any) -> float:
    from sklearn.metrics import balanced_accuracy_score, r2_score

    if task_type == "classification":
        return float(balanced_accuracy_score(y_true, y_pred))
    return float(r2_score(y_true, y_pred))


def _fit_fold(spec: dict[str, Any], X: pd.DataFrame, y: pd.Series, train: np.ndarray,
              test: np.ndarray) -> tuple[float, float, str]:
    from metarec.pipelines import build

    start = time.process_time()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model = build(spec, random_state=0)
            model.fit(X.iloc[train], y.iloc[train])
            score = _score(spec["task"], y.iloc[test], model.predict(X.iloc[test]))
        return score, time.process_time() - start, ""
    except Exception as exc:  # noqa: BLE001 - one failing pipeline must not stop the others
        return float("nan"), time.process_time() - start, f"{type(exc).__name__}: {exc}"[:300]


def cross_validate_imputers(X: pd.DataFrame, y: pd.Series, task_type: str, n_folds: int,
                            n_jobs: int = 1, seed: int = 0,
                            families: tuple[str, ...] | None = None) -> list[dict[str, Any]]:
    """Cross-validate every (family, imputer) pipeline on (X, y) with one shared set of folds.

    One row per pipeline: ``family``, ``imputer``, ``algorithm``, ``metric``, ``value`` (mean over
    folds; NaN when any fold failed, since a partial mean would flatter it), ``value_std``,
    ``fold_values`` (JSON list), ``runtime_s`` (CPU) and ``error``.
    """
    from joblib import Parallel, delayed

    splits = folds(y, task_type, n_folds, seed)
    configs = configurations(task_type, families)
    jobs = [(c, s) for c in range(len(configs)) for s in range(len(splits))]
    results = Parallel(n_jobs=n_jobs)(
        delayed(_fit_fold)(configs[c][2], X, y, *splits[s]) for c, s in jobs
    )
    rows = []
    for c, (family, imputer, spec) in enumerate(configs):
        mine = [results[i] for i, (cc, _) in enumerate(jobs) if cc == c]
        values = [r[0] for r in mine]
        errors = sorted({r[2] for r in mine if r[2]})
        complete = all(np.isfinite(v) for v in values)
        rows.append({
            "family": family,
            "algorithm": spec["algorithm"],
            "imputer": imputer,
            "metric": METRIC[task_type],
            "value": float(np.mean(values)) if complete else float("nan"),
            "value_std": float(np.std(values)) if complete else float("nan"),
            "fold_values": json.dumps(to_jsonable([round(v, 6) for v in values])),
            "runtime_s": float(sum(r[1] for r in mine)),
            "error": "; ".join(errors),
        })
    return rows


@dataclass
class ProbeResult:
    """Cross-validated score of every imputer with one estimator family on one dataset.

    ``not_measured``: imputers left out because the time budget ran out (in the order they would
    have been measured); ``budget_s``: that budget (None: unbudgeted)."""

    family: str
    scores: dict[str, float]
    n_rows: int
    n_features: int
    n_folds: int
    n_repeats: int
    seconds: float
    not_measured: list[str] = field(default_factory=list)
    budget_s: float | None = None

    def inconclusive(self, band: float) -> bool:
        """True when every measured imputer is within ``band`` of the best: the probe then
        cannot tell them apart, and the meta-feature model's order decides."""
        values = [v for v in self.scores.values() if np.isfinite(v)]
        return len(values) > 1 and max(values) - min(values) <= band + 1e-12

    def to_dict(self) -> dict[str, Any]:
        from metarec.imputation.selector import PROBE_BAND

        return {"family": self.family, "n_rows": self.n_rows, "n_features": self.n_features,
                "n_folds": self.n_folds,
                "n_repeats": self.n_repeats, "seconds": round(self.seconds, 3),
                "scores": to_jsonable({k: round(v, 6) for k, v in self.scores.items()}),
                "budget_s": self.budget_s, "not_measured": list(self.not_measured),
                "tie_band": PROBE_BAND, "inconclusive": self.inconclusive(PROBE_BAND)}


def probe(X: pd.DataFrame, y: pd.Series, task_type: str, family: str,
          max_rows: int = PROBE_ROWS, max_features: int = PROBE_FEATURES,
          n_folds: int = PROBE_FOLDS, n_repeats: int = PROBE_REPEATS, random_state: int = 0,
          budget_s: float | None = PROBE_BUDGET_S) -> ProbeResult:
    """Score every imputer for ``family`` on (X, y): ``n_folds``-fold CV on <= ``max_rows`` rows
    and <= ``max_features`` columns (:func:`cap_features`), repeated ``n_repeats`` times with
    fold seeds ``random_state``, ``random_state + 1``, ...; a score is the mean over all folds
    (NaN where any fold failed).

    ``budget_s`` bounds the wall time: imputers are measured one at a time, cheapest first
    (``BUDGET_ORDER``), and a fit is not started once the time spent plus the longest fit seen
    so far would pass the budget; a fit that has started is finished. Imputers left without
    all their folds get no score and are listed in ``not_measured``. ``None``: no budget."""
    if family not in FAMILIES:
        raise ImputationError(f"unknown estimator family {family!r}; use one of "
                              f"{', '.join(FAMILIES)}.")
    if n_repeats < 1:
        raise ImputationError("n_repeats must be at least 1.")
    if budget_s is not None and not budget_s > 0:
        raise ImputationError(f"`budget_s` must be a positive number of seconds or None, not "
                              f"{budget_s!r}.", parameters=("budget_s",))
    classification = task_type == "classification"
    X, y = cap_rows(X, y, max_rows, random_state, classification)
    X = cap_features(X, max_features, random_state)
    smallest = int(y.value_counts().min()) if classification else len(y)
    if n_folds < 2 or smallest < n_folds:
        raise ImputationError(
            f"cannot probe imputers with {n_folds}-fold CV: "
            + ("need at least 2 folds." if n_folds < 2 else
               f"the smallest class has {smallest} rows.")
        )
    started = time.perf_counter()
    splits = [split for r in range(n_repeats)
              for split in folds(y, task_type, n_folds, random_state + r)]
    configs = sorted(configurations(task_type, (family,)),
                     key=lambda c: BUDGET_ORDER.index(c[1]) if c[1] in BUDGET_ORDER else 99)
    scores: dict[str, float] = {}
    not_measured: list[str] = []
    longest = 0.0
    for _, imputer, spec in configs:
        values = []
        for train, test in splits:
            elapsed = time.perf_counter() - started
            if budget_s is not None and (not_measured or elapsed + longest > budget_s):
                break
            fit_started = time.perf_counter()
            values.append(_fit_fold(spec, X, y, train, test)[0])
            longest = max(longest, time.perf_counter() - fit_started)
        if len(values) < len(splits):
            not_measured.append(imputer)
            continue
        scores[imputer] = float(np.mean(values)) if all(np.isfinite(values)) else float("nan")
    return ProbeResult(family=family, scores=scores, n_rows=len(y), n_features=X.shape[1],
                       n_folds=n_folds, n_repeats=n_repeats,
                       seconds=time.perf_counter() - started, not_measured=not_measured,
                       budget_s=budget_s)
