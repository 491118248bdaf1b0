"""scikit-learn estimators that recommend, optionally tune, and fit a pipeline from experience.

``MetaRecClassifier().fit(X, y)`` runs :func:`metarec.tuning.search.search`: it profiles the
data, asks for recommendations (the meta-learner when available, else the single-best
configurations of the knowledge base, else a portfolio of library defaults), tunes for
``n_trials`` warm-started trials (0: take the top recommendation), and fits the chosen pipeline on
all data.

``kb`` is a knowledge-base path, None for the shipped one, or False for none at all (the default
portfolio: fast and deterministic, e.g. for tests).

Inputs: numpy arrays (validated as scikit-learn does: NaN is imputed, infinity rejected) or pandas
DataFrames, whose categorical/text columns and missing values the pipelines encode and impute.
"""

from __future__ import annotations

import logging
import time
import warnings
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
from sklearn.utils.validation import check_array, check_is_fitted, column_or_1d, validate_data

log = logging.getLogger(__name__)





class _MetaRecBase(BaseEstimator):
    _task = "classification"

    def __init__(
        self,
        n_trials: int = 0,
        timeout: float | None = None,
        cv: int = 5,
        kb: Any = None,
        top_k: int = 10,
        random_state: int | None = None,
        n_jobs: int | None = None,
        search_space: str = "full",
        ensemble_size: int = 50,
        time_budget: float | None = None,
    ) -> None:
        self.n_trials = n_trials
        self.timeout = timeout
        self.cv = cv
        self.kb = kb
        self.top_k = top_k
        self.random_state = random_state
        self.n_jobs = n_jobs
        self.search_space = search_space
        self.ensemble_size = ensemble_size
        self.time_budget = time_budget

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True  # every pipeline imputes (or handles NaN natively)
        return tags

    # -- input handling ---------------------------------------------------------------------
    def _frame(self, X: Any, reset: bool) -> pd.DataFrame:
        """Validate X and return it as the DataFrame the pipelines expect."""
        if isinstance(X, pd.DataFrame) and not all(
            pd.api.types.is_numeric_dtype(t) and not pd.api.types.is_bool_dtype(t)
            for t in X.dtypes
        ):
            # Mixed types: keep the columns' own dtypes for the pipeline's encoders (feature
            # names and count are checked, X is not converted).
            validate_data(self, X, reset=reset, skip_check_array=True)
            numeric = X.select_dtypes("number")
            if numeric.size and np.isinf(numeric.to_numpy(dtype=float)).any():
                raise ValueError("Input X contains infinity or a value too large for dtype.")
            if len(X) == 0:
                raise ValueError("Found array with 0 sample(s); a minimum of 1 is required.")
            frame = X.copy()
        else:
            arr = validate_data(self, X, reset=reset, ensure_all_finite="allow-nan",
                                dtype=np.float64)
            frame = pd.DataFrame(arr)
        if reset:
            self._columns = [str(c) for c in X.columns] if isinstance(X, pd.DataFrame) else [
                f"x{i}" for i in range(frame.shape[1])]
        frame.columns = self._columns
        return frame.reset_index(drop=True)

    def _target(self, y: Any) -> np.ndarray:
        if y is None:
            raise ValueError(
                f"{type(self).__name__} requires y to be passed, but the target y is None."
            )
        y = check_array(y, ensure_2d=False, dtype=None, ensure_all_finite=True,
                        input_name="y")
        return column_or_1d(y, warn=True)

    # -- fitting ----------------------------------------------------------------------------
    def _check_params(self) -> None:
        if not isinstance(self.n_trials, (int, np.integer)) or self.n_trials < 0:
            raise ValueError(f"n_trials must be an integer >= 0, got {self.n_trials!r}.")
        if not isinstance(self.top_k, (int, np.integer)) or self.top_k < 1:
            raise ValueError(f"top_k must be an integer >= 1, got {self.top_k!r}.")
        from metarec.tuning.warmstart import SEARCH_SPACES

        if (not isinstance(self.ensemble_size, (int, np.integer))
                or isinstance(self.ensemble_size, bool) or self.ensemble_size < 0):
            raise ValueError(f"ensemble_size must be an integer >= 0, got {self.ensemble_size!r}.")
        if self.search_space not in SEARCH_SPACES:
            raise ValueError(
                f"search_space must be 'recommended' or 'full', got {self.search_space!r}.")

    def _seed(self) -> int | None:
        if self.random_state is None or isinstance(self.random_state, (int, np.integer)):
            return None if self.random_state is None else int(self.random_state)
        return int(np.random.RandomState(self.random_state).randint(2**31 - 1))

    def _fit(self, X: Any, y_fit: np.ndarray, started: float) -> None:
        from metarec.tuning.search import search

        self._check_params()
        if len(y_fit) < 2:
            raise ValueError(f"got {len(y_fit)} sample; at least 2 samples are needed to fit.")
        seed = self._seed()
        found = search(X, y_fit, self._task, kb=self.kb, top_k=int(self.top_k),
                       n_trials=int(self.n_trials), timeout=self.timeout, cv=self.cv,
                       random_state=seed, n_jobs=self.n_jobs, search_space=self.search_space,
                       ensemble_size=int(self.ensemble_size), time_budget=self.time_budget,
                       started=started)
        self.recommendations_ = found.recommendations
        self.recommendation_source_ = found.recommended.source
        self.metafeatures_ = (found.recommended.metafeatures
                              if found.recommended.metafeatures is not None
                              else self._profile(X, y_fit, seed))
        if found.study is not None:
            self.study_ = found.study
        self.notes_ = list(found.notes)
        self.best_spec_, self.best_pipeline_ = found.spec, found.pipeline
        self.ensemble_ = found.ensemble

    def _profile(self, X: pd.DataFrame, y: np.ndarray, seed: int | None) -> pd.Series:
        import metafeatures
        from metarec.recommend import PROFILE_GROUPS

        # ``metafeatures_`` when the recommender did not profile: the groups it profiles.
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                return metafeatures.extract(X, pd.Series(y), groups=list(PROFILE_GROUPS),
                                            random_state=seed or 0, task=self._task)
        except metafeatures.MetaFeatureError as exc:
            log.info("could not profile the data (%s)", exc)
            return pd.Series(dtype=np.float64)

    def _predict_frame(self, X: Any) -> pd.DataFrame:
        check_is_fitted(self, "best_pipeline_")
        return self._frame(X, reset=False)


class MetaRecClassifier(ClassifierMixin, _MetaRecBase):
    """A classifier whose pipeline (algorithm, hyperparameters, imputation) is recommended from
    the knowledge base and optionally tuned with a warm-started Optuna study.

    With ``n_trials > 0`` and at least three pipelines evaluated, ``best_pipeline_`` is the
    greedy ensemble of the evaluated pipelines (ensemble selection over their out-of-fold
    predictions, ``ensemble_size`` rounds) when it has more than one member; ``ensemble_size=0``
    keeps the single best pipeline.

    Attributes after ``fit``: ``classes_``, ``recommendations_``, ``recommendation_source_``,
    ``metafeatures_``, ``best_spec_``, ``best_pipeline_`` (fitted on all data), ``ensemble_``
    ((spec, weight) per member, empty without an ensemble), ``study_`` (when
    ``n_trials > 0``), ``notes_`` (why the untuned choice is not the top recommendation, when it
    is not: see :func:`metarec.tuning.search.affordable_order`), ``calibrator_`` (see
    ``predict_proba``), ``n_features_in_`` and ``feature_names_in_`` (for named columns).

    ``predict_proba`` is always available. Where the chosen pipeline has no probabilities of its
    own (an SVM, a linear SVM, a perceptron), its decision values are calibrated: a logistic
    regression (Platt scaling; multinomial over the per-class values for more classes) is fitted
    on out-of-fold decision values of 3-fold cross-validation
    (:data:`metarec.tuning.anytime.CALIBRATION_FOLDS`), which costs that many more fits
    (``calibrator_``; None when the pipeline has probabilities). With ``time_budget`` the search
    calibrates such a pipeline itself, within the budget.

    ``time_budget``: seconds of wall time for the whole ``fit`` (profile, trials, refit,
    ensemble), held by running each piece of work in a worker process that is stopped when it
    would overrun (see :func:`metarec.tuning.anytime.budgeted_search`); ``n_trials`` > 0 then
    caps the trials on all rows, and ``timeout`` must be None.
    ``predict`` stays the pipeline's own, so its class can differ from the most probable one, as
    with scikit-learn's ``SVC(probability=True)``.
    """

    _task = "classification"

    def fit(self, X: Any, y: Any) -> MetaRecClassifier:
        from sklearn.preprocessing import LabelEncoder
        from sklearn.utils.multiclass import check_classification_targets

        started = time.monotonic()
        frame = self._frame(X, reset=True)
        y = self._target(y)
        if len(y) != len(frame):
            raise ValueError(f"X has {len(frame)} rows but y has {len(y)} values.")
        check_classification_targets(y)
        encoder = LabelEncoder().fit(y)
        self.classes_ = encoder.classes_
        if len(self.classes_) < 2:
            raise ValueError("the target has only one class; a classifier needs at least two.")
        codes = encoder.transform(y)
        self._fit(frame, codes, started)
        self.calibrator_ = (None if hasattr(self.best_pipeline_, "predict_proba")
                            else self._calibrate(frame, codes))
        return self

    def _calibrate(self, frame: pd.DataFrame, codes: np.ndarray) -> Any:
        from sklearn.linear_model import LogisticRegression
        from sklearn.model_selection import cross_val_predict
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import StandardScaler

        from metarec.crossval import check_cv
        from metarec.pipelines import build
        from metarec.tuning.anytime import CALIBRATION_FOLDS

        seed = self._seed()
        # fit has already refused data with a class of one row, so these folds exist, and each
        # training part holds every class (decision values have a column per class).
        folds = check_cv(CALIBRATION_FOLDS, codes, "classification", seed)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # convergence warnings of the fold fits, as in fit
            scores = cross_val_predict(build(self.best_spec_, random_state=seed), frame, codes,
                                       cv=folds, method="decision_function")
        scores = np.asarray(scores, dtype=float)
        calibrator = make_pipeline(StandardScaler(), LogisticRegression())
        return calibrator.fit(scores.reshape(len(codes), -1), codes)

    def predict(self, X: Any) -> np.ndarray:
        frame = self._predict_frame(X)
        codes = self.best_pipeline_.predict(frame)
        return self.classes_[np.asarray(codes, dtype=int)]

    def predict_proba(self, X: Any) -> np.ndarray:
        frame = self._predict_frame(X)
        if self.calibrator_ is None:
            model, proba = self.best_pipeline_, self.best_pipeline_.predict_proba(frame)
        else:
            model = self.calibrator_
            scores = np.asarray(self.best_pipeline_.decision_function(frame), dtype=float)
            proba = model.predict_proba(scores.reshape(len(frame), -1))
        # The pipeline saw classes 0..K-1; a class missing from no fold keeps its column.
        out = np.zeros((proba.shape[0], len(self.classes_)))
        out[:, np.asarray(model.classes_, dtype=int)] = proba
        return out


class MetaRecRegressor(RegressorMixin, _MetaRecBase):
    """A regressor whose pipeline is recommended from the knowledge base and optionally tuned;
    attributes as :class:`MetaRecClassifier` (without ``classes_``)."""

    _task = "regression"

    def fit(self, X: Any, y: Any) -> MetaRecRegressor:
        started = time.monotonic()
        frame = self._frame(X, reset=True)
        y = self._target(y)
        if len(y) != len(frame):
            raise ValueError(f"X has {len(frame)} rows but y has {len(y)} values.")
        y = np.asarray(y, dtype=np.float64)
        self._fit(frame, y, started)
        return self

    def predict(self, X: Any) -> np.ndarray:
        frame = self._predict_frame(X)
        return np.asarray(self.best_pipeline_.predict(frame), dtype=np.float64)


__all__ = ["MetaRecClassifier", "MetaRecRegressor"]
