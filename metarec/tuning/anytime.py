"""The search under a wall-clock budget: profile, the recommended set first (cheap fidelities
first), TPE for the rest, then the refit of the best or of an ensemble, all before the deadline.

Every piece of work runs in a worker process with the time it has left
(:class:`metarec.tuning.budget.IsolatedRunner`): a trial that would overrun is stopped and recorded
as failed with the reason, and the study goes on. The budget is split so that the end is
always reachable: trials may only use the time left minus a reserve for refitting the best
pipeline (:func:`refit_reserve`); when even the refit cannot finish, the best pipeline's fold
models from its cross-validation — fitted already — are the model.

One module because its parts share one budget: how a trial is validated (k folds or a holdout),
the rungs, the candidates' shares, the refit reserve and the refit itself each spend from the
same deadline by the same estimates, and split apart they would have to pass it all around.
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from metarec.crossval import check_cv, sample_rows
from metarec.errors import TuningError
from metarec.jsonable import to_jsonable
from metarec.pipelines import build, normalize_spec
from metarec.recommend import Recommended, load_kb, recommendations_for
from metarec.recommend.fallbacks import default_portfolio, single_best_recommendations
from metarec.recommend.learner_cache import SHIPPED_SEED
from metarec.tuning.budget import Deadline, IsolatedRunner, PieceStopped, worker_data
from metarec.tuning.ensemble import prefitted, select_ensemble
from metarec.tuning.objective import (
    DEFAULT_SCORING,
    ERROR_ATTR,
    SPEC_ATTR,
    Evaluation,
    cross_validated,
    last_error,
)
from metarec.tuning.space import ALGORITHM_PARAM, SearchSpace, space_for
from metarec.tuning.study import create_study
from metarec.tuning.warmstart import (
    POOL_PER_WARM_TRIAL,
    class_weight_for,
    recommended_space,
    translate_spec,
    warm_start_order,
)

log = logging.getLogger(__name__)

# The search ends by this share of the budget: the rest is for handing the model over (the
# transfer from the worker, saving it, printing), which the caller does after the search.
HANDOVER_SHARE = 0.08
# Profiling and ranking (in a fresh worker: its imports and the knowledge base load too, 2.5 s
# on an idle 2-core machine, 4-5 s under a load of 10) may use at most this share of the budget.
PROFILE_SHARE = 0.6
# Successive halving on row subsamples (as auto-sklearn 2.0 runs its portfolio): each rung keeps
# the best third of the candidates and triples the rows, up to all of them. Rungs below
# MIN_RUNG_ROWS rows would rank pipelines by noise, so smaller tables get one rung.
HALVING_RATE = 3
MIN_RUNG_ROWS = 1000
MAX_RUNGS = 3
# A refit on all rows takes about one fold's fit times cv/(cv-1); the safety factor covers
# super-linear fits and a noisy machine, the overhead a fresh worker's start (imports, the data;
# 0.5-2.5 s measured on a loaded 2-core machine) and the transfer back.
REFIT_SAFETY = 2.0
REFIT_OVERHEAD_S = 2.5
# Folds of the out-of-fold decision values that calibrate a pipeline without probabilities.
CALIBRATION_FOLDS = 3
# The reserve for refitting the incumbent is at most this share of the budget.
RESERVE_CAP_SHARE = 0.25
# Kept for fitting the first candidate untried while no trial has finished.
UNTRIED_RESERVE_SHARE = 0.15
# A trial offered less than this is not started: it could not finish a fold.
MIN_TRIAL_SECONDS = 0.5
# A candidate may use at most 1/CANDIDATE_SHARES of the time left.
CANDIDATE_SHARES = 3
# A candidate's share of the budget is never below this (a worker alone takes about a second
# to start after a stopped trial).
MIN_SHARE_SECONDS = 3.0
FIDELITY_ATTR = "metarec:rows"
# Large data under a short budget is validated on one holdout instead of k folds (FLAML's rule,
# flaml/automl/automl.py `_decide_eval_method`: cross-validation only while rows x columns / 0.9
# stays below 10 million per hour of budget and rows below 100,000). Under a 30-s budget a
# 21,000-row table had time for 4 five-fold trials, 3 of them stopped.
HOLDOUT_SHARE = 0.2
CV_CELLS_PER_BUDGET_SECOND = 1e7 / 3600
CV_MAX_ROWS = 100_000
# Library defaults tried before candidates predicted to be too slow for their share of the budget:
# fast on large tables (histogram trees, linear in the rows) and strong out of the box.
FAST_DEFAULTS = ("lightgbm", "hist_gradient_boosting")
# A stratified holdout needs this many rows of a class to put one on each side.
HOLDOUT_MIN_CLASS_ROWS = 5
# The best value each default metric can take. Once a pipeline reaches it on all rows, more
# search can at most tie it in validation, so the search ends there: on an easy table the user
# gets the model when it is found, not when the budget is spent.
BEST_POSSIBLE = {"balanced_accuracy": 1.0, "r2": 1.0}


@dataclass
class BudgetedRun:
    """What :func:`budgeted_search` did: the recommendations, the study, the best spec, the
    fitted model (a pipeline or an ensemble) with its (spec, weight) members, and notes on what
    the budget cut."""

    recommended: Recommended
    study: Any
    best_spec: dict[str, Any]
    model: Any
    members: list[tuple[dict[str, Any], float]]
    notes: list[str] = field(default_factory=list)


def validation_for(n_rows: int, n_features: int, time_budget: float, cv: int,
                   y: np.ndarray, task: str) -> int | float:
    """How a trial is scored: ``cv`` folds, or a holdout of :data:`HOLDOUT_SHARE` of the rows
    when the table is large for the budget (see :data:`CV_CELLS_PER_BUDGET_SECOND`) and every
    class can be on both sides."""
    large = (n_rows * n_features / 0.9 >= CV_CELLS_PER_BUDGET_SECOND * time_budget
             or n_rows >= CV_MAX_ROWS)
    if not large:
        return cv
    if task == "classification" and pd.Series(y).value_counts().min() < HOLDOUT_MIN_CLASS_ROWS:
        return cv
    return HOLDOUT_SHARE


def fits_per_evaluation(cv: int | float) -> float:
    """The fitting work of one evaluation, in fits on all rows: k folds fit k times on
    (k-1)/k of the rows; a holdout once on 1 - share."""
    return float(cv - 1) if isinstance(cv, int) else 1.0 - cv


def _rows_per_class(cv: int | float) -> int:
    return cv if isinstance(cv, int) else HOLDOUT_MIN_CLASS_ROWS


def rung_sizes(n_rows: int, y: np.ndarray, task: str, cv: int | float) -> list[int]:
    """Rows per rung of successive halving, smallest first, ending with all ``n_rows``.

    A subsample keeps at least :data:`MIN_RUNG_ROWS` rows and, for classification, enough rows
    of every class in proportion to be stratified by ``cv`` (folds, or a holdout share)."""
    sizes = [n_rows]
    smallest_class = (int(pd.Series(y).value_counts().min()) if task == "classification"
                      else n_rows)
    while len(sizes) < MAX_RUNGS:
        size = sizes[-1] // HALVING_RATE
        if size < MIN_RUNG_ROWS or smallest_class * size / n_rows < 2 * _rows_per_class(cv):
            break
        sizes.append(size)
    return sizes[::-1]


def subsample(y: np.ndarray, size: int, task: str, seed: int) -> np.ndarray:
    """Sorted indices of ``size`` rows, stratified by class for classification."""
    return sample_rows(y, size, seed, stratified=task == "classification")


def refit_reserve(evaluation_seconds: float | None, cv: int | float) -> float:
    """Seconds to keep for refitting a pipeline whose evaluation by ``cv`` (folds, or a holdout
    share) took ``evaluation_seconds``."""
    if evaluation_seconds is None:
        return REFIT_OVERHEAD_S
    return (REFIT_SAFETY * evaluation_seconds / max(fits_per_evaluation(cv), 0.5)
            + REFIT_OVERHEAD_S)


# -- pieces of work, run in the worker on the data it holds ------------------------------------

def _recommend_piece(task: str, kb: Any, top_k: int, random_state: int, source: str,
                     target: str | None, set_size: int) -> tuple[Recommended, SearchSpace]:
    """The recommendations and the search space, both from the knowledge base this worker
    loads once (loading it again in the caller took seconds on a loaded machine)."""
    data = worker_data()
    X = data["X"]
    y = pd.Series(data["y"], index=X.index, name=target)
    found = recommendations_for(X, y, task, kb=kb, top_k=top_k, random_state=random_state,
                                source=source, set_size=set_size)
    return found, _space(X, task, kb)


def _space(X: pd.DataFrame, task: str, kb: Any) -> SearchSpace:
    return space_for(task, has_missing=bool(X.isna().to_numpy().any()), kb=load_kb(kb),
                     n_samples=len(X), n_features=X.shape[1])


def _evaluate_piece(spec: dict[str, Any], rows: np.ndarray | None, cv: int | float, task: str,
                    scoring: str, random_state: int | None, n_jobs: int | None,
                    incumbent: float) -> Evaluation:
    data = worker_data()
    X, y = data["X"], data["y"]
    if rows is not None:
        X, y = X.iloc[rows], y[rows]
    splitter = check_cv(cv, y, task, random_state)
    classes = np.unique(data["y"]) if task == "classification" else None
    evaluation = cross_validated(spec, X, y, splitter, scoring, n_jobs, random_state, classes,
                                 keep_predictions=rows is None, keep_models=True)
    if evaluation.value <= incumbent:
        evaluation.fold_models = None  # only a new best's fold models travel back
    return evaluation


def _warm_up() -> None:
    """What every trial and refit imports, loaded once per worker."""
    import sklearn.ensemble  # noqa: F401
    import sklearn.model_selection  # noqa: F401

    import metarec.pipelines  # noqa: F401


def _fit_piece(spec: dict[str, Any], task: str, random_state: int | None) -> Any:
    """``spec`` fitted on all rows; for classification, with probabilities: a pipeline without
    its own (an SVM) is calibrated (Platt scaling on out-of-fold decision values)."""
    import warnings

    from sklearn.calibration import CalibratedClassifierCV

    data = worker_data()
    X, y = data["X"], data["y"]
    model = build(spec, random_state=random_state)
    if task == "classification" and not hasattr(model, "predict_proba"):
        folds = check_cv(CALIBRATION_FOLDS, y, task, random_state)
        model = CalibratedClassifierCV(model, method="sigmoid", cv=folds, ensemble=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return model.fit(X, y)


def needs_calibration(spec: dict[str, Any], task: str) -> bool:
    """Whether :func:`_fit_piece` calibrates ``spec`` (more fits than a plain refit)."""
    return task == "classification" and not hasattr(build(spec), "predict_proba")


# -- the search --------------------------------------------------------------------------------

class _Trials:
    """The study seen through a budget: one evaluation per call, recorded in the study.

    The incumbent is the best score so far, on all rows or a subsample (a subsample's score
    mostly understates what the pipeline does on all rows). Its fold models are kept, the model
    of last resort."""

    def __init__(self, study: Any, space: SearchSpace, runner: IsolatedRunner,
                 deadline: Deadline, task: str, n_rows: int, cv: int | float, scoring: str,
                 random_state: int | None, n_jobs: int | None,
                 callbacks: Sequence[Callable[[Any, Any], None]]) -> None:
        self.study, self.space, self.runner, self.deadline = study, space, runner, deadline
        self.task, self.n_rows, self.cv, self.scoring = task, n_rows, cv, scoring
        self.random_state, self.n_jobs, self.callbacks = random_state, n_jobs, callbacks
        # the rows with out-of-fold predictions on all rows (a holdout's; None: every row)
        self.scored_rows: np.ndarray | None = None
        self.best: tuple[int, float] = (0, -math.inf)  # (rows, score) of the incumbent
        self.best_seconds: float | None = None
        self.best_calibrates = False
        self.best_spec: dict[str, Any] | None = None
        self.best_fold_models: list[Any] | None = None
        self.predictions: dict[int, np.ndarray] = {}
        self.attempted = 0
        self.completed = 0
        self.stopped = 0

    def reserve(self) -> float:
        """Seconds kept for refitting the incumbent on all rows; before any trial has finished,
        a share of the budget for fitting the first candidate untried (one fit costs about a
        fifth of a 5-fold trial, so it can succeed where trials did not)."""
        rows, _ = self.best
        if self.best_seconds is None or rows == 0:
            return max(refit_reserve(None, self.cv), UNTRIED_RESERVE_SHARE * self.deadline.seconds)
        seconds = self.best_seconds * self.n_rows / rows
        if self.best_calibrates:
            # CALIBRATION_FOLDS fits on (k-1)/k of the rows before the refit
            seconds *= 1 + CALIBRATION_FOLDS * (CALIBRATION_FOLDS - 1) / CALIBRATION_FOLDS
        # Capped: the incumbent's fold models are the model if the refit does not finish, and
        # a refit extrapolated from a subsample (sklearn's gradient boosting, 5,600 of 50,000
        # rows: 88 s reserved of a 120 s budget) would otherwise end the search at once.
        return min(refit_reserve(seconds, self.cv),
                   max(REFIT_OVERHEAD_S, RESERVE_CAP_SHARE * self.deadline.seconds))

    def time_for_trial(self) -> float:
        return self.deadline.left() - self.reserve()

    @property
    def unbeatable(self) -> bool:
        """Whether the incumbent, on all rows, scored the best value its metric can take."""
        rows, score = self.best
        return rows == self.n_rows and score >= BEST_POSSIBLE.get(self.scoring, math.inf)

    def run(self, params: dict[str, Any] | None, rows: np.ndarray | None,
            limit: float | None = None, rank: int | None = None) -> float | None:
        """Evaluate ``params`` (None: what the sampler proposes) on ``rows`` (None: all) for at
        most ``limit`` seconds (default: all the time trials have); ``rank``: its position among
        the candidates. Return the score, or None when the trial failed or was stopped."""
        import optuna

        self.attempted += 1
        if params is not None:
            self.study.enqueue_trial(params, skip_if_exists=False,
                                     user_attrs={"metarec:warm_start_rank": rank})
        trial = self.study.ask()
        spec = self.space.suggest(trial)
        trial.set_user_attr(SPEC_ATTR, json.dumps(to_jsonable(spec), sort_keys=True))
        n_rows = self.n_rows if rows is None else len(rows)
        if rows is not None:
            trial.set_user_attr(FIDELITY_ATTR, n_rows)
        available = self.time_for_trial()
        try:
            evaluation = self.runner.run(
                _evaluate_piece, spec, rows, self.cv, self.task, self.scoring,
                self.random_state, self.n_jobs, self.best[1],
                limit=available if limit is None else min(limit, available),
                start_limit=available)
        except PieceStopped as stop:
            self.stopped += 1
            return self._fail(trial, f"{stop.reason}: the budget could not hold it")
        except Exception as exc:  # the pipeline failed on this data: the study goes on
            return self._fail(trial, f"{type(exc).__name__}: {exc}"[:500])
        trial.set_user_attr("metarec:cv_std", evaluation.std)
        trial.set_user_attr("metarec:seconds", evaluation.seconds)
        if rows is not None:
            # a subsample's score is an intermediate value: TPE ranks it below full ones
            trial.report(evaluation.value, step=n_rows)
            frozen = self.study.tell(trial, state=optuna.trial.TrialState.PRUNED)
        else:
            frozen = self.study.tell(trial, evaluation.value)
            self.completed += 1
            if evaluation.oof is not None:
                self.predictions[trial.number] = (evaluation.oof if self.scored_rows is None
                                                  else evaluation.oof[self.scored_rows])
        if evaluation.fold_models is not None:
            self.best = (n_rows, evaluation.value)
            self.best_seconds = evaluation.seconds
            self.best_spec = spec
            self.best_calibrates = needs_calibration(spec, self.task)
            self.best_fold_models = evaluation.fold_models
        self._tell_callbacks(frozen)
        return evaluation.value

    def _fail(self, trial: Any, reason: str) -> None:
        import optuna

        trial.set_user_attr(ERROR_ATTR, reason)
        self._tell_callbacks(self.study.tell(trial, state=optuna.trial.TrialState.FAIL))

    def _tell_callbacks(self, frozen: Any) -> None:
        for callback in self.callbacks:
            callback(self.study, frozen)


def _unprofiled(kb: Any, task: str, top_k: int) -> Recommended:
    loaded = load_kb(kb)
    recs = single_best_recommendations(loaded, task, top_k) if loaded is not None else []
    if recs:
        return Recommended(recs, "single-best fallback")
    return Recommended(default_portfolio(task, top_k), "default portfolio")


def candidate_params(found: Recommended, space: SearchSpace, k: int, n_samples: int,
                     n_features: int, class_weight: str | None,
                     affordable_seconds: float | None = None) -> list[dict[str, Any]]:
    """The configurations to try first, as trial parameters: the recommended set (the
    knowledge base's portfolio ordered by the meta-learner) in its order, then the diverse
    recommendations in the warm start's order, without duplicates, at most ``k``.

    With ``affordable_seconds`` (what one fit on all rows may take for a candidate to be tried
    in its share of the budget), candidates whose ``predicted_fit_seconds`` exceed it move
    behind the others, and the library defaults of :data:`FAST_DEFAULTS` come before them:
    tried first, a 400-s SVM and a 230-s gradient boosting (predicted for a 21,000-row,
    18-class table) each cost a 30-s budget its share and were stopped."""
    pairs = [(params, rec.get("predicted_fit_seconds")) for rec, params in warm_start_order(
        found.recommendations, space, n_samples, n_features, class_weight,
        found.candidate_set)][:k]

    def too_slow(seconds: float | None) -> bool:
        return None not in (affordable_seconds, seconds) and seconds > affordable_seconds

    quick = [p for p, seconds in pairs if not too_slow(seconds)]
    slow = [p for p, seconds in pairs if too_slow(seconds)]
    if not slow:
        return quick
    defaults = []
    for algorithm in FAST_DEFAULTS:
        if algorithm in space.algorithms and not any(
                p.get(ALGORITHM_PARAM) == algorithm for p in quick):
            spec = translate_spec(normalize_spec({"task": space.task, "algorithm": algorithm,
                                                  "hyperparameters": {}}), class_weight)
            mapped = space.spec_to_params(spec, n_samples=n_samples, n_features=n_features)
            if mapped is not None:
                defaults.append(mapped)
    return quick + defaults + slow


def budgeted_search(
    X: pd.DataFrame, y: np.ndarray, task: str, *, time_budget: float,
    started: float | None = None, kb: Any = None, top_k: int = 10, n_trials: int | None = None,
    cv: int = 5, storage: Any = None, study_name: str | None = None,
    random_state: int | None = None, n_jobs: int | None = None,
    callbacks: Sequence[Callable[[Any, Any], None]] = (), search_space: str = "full",
    source: str = "data", target: str | None = None, ensemble_size: int = 50,
) -> BudgetedRun:
    """Search for (X, y) within ``time_budget`` seconds of wall time counted from ``started``
    (a :func:`time.monotonic` value; default: now), profile and refit included; it ends by
    ``1 - HANDOVER_SHARE`` of the budget, so that the caller can save the model within it.

    The order: profile and rank (at most :data:`PROFILE_SHARE` of the budget; when that is
    not enough, the knowledge base's single best configurations, which need no profile, and a
    note); the ``top_k`` candidates of :func:`candidate_params`, by successive halving on row
    subsamples when the table is large enough (:func:`rung_sizes`; a subsample's score is
    recorded as a pruned trial with its rows); TPE over ``search_space`` for the rest, told every
    measured result; at most ``n_trials`` evaluations on all rows when given; the search ends
    early once a pipeline validates at the best value its metric can take
    (:data:`BEST_POSSIBLE`). A table large for
    the budget is validated on one holdout instead of ``cv`` folds (:func:`validation_for`).
    Then the greedy
    ensemble of the evaluated pipelines (``ensemble_size`` > 0) or the best alone is refitted
    on all rows, member by member while time is left; if not even the best can be refitted in
    time, its fold models from cross-validation are the model."""
    deadline = Deadline(time_budget * (1 - HANDOVER_SHARE), started)
    scoring = DEFAULT_SCORING[task]
    notes: list[str] = []
    with IsolatedRunner({"X": X, "y": y}, warm_up=_warm_up) as runner:
        try:
            found, space = runner.run(_recommend_piece, task, kb,
                                      POOL_PER_WARM_TRIAL * max(top_k, 1), SHIPPED_SEED, source,
                                      target, max(top_k, 1),
                                      limit=PROFILE_SHARE * deadline.left())
        except PieceStopped as stop:
            # Without a profile, experience still says what to try: the knowledge base's
            # single best configurations (or the library defaults), which need no profile.
            found = _unprofiled(kb, task, POOL_PER_WARM_TRIAL * max(top_k, 1))
            space = _space(X, task, kb)
            notes.append(f"profiling was {stop.reason}; the {found.source}'s configurations "
                         f"were tried instead of the meta-learner's")
        profiled = deadline.elapsed()
        if search_space == "recommended":
            space = recommended_space(space, found.recommendations)
        weight = class_weight_for(y, task, scoring)
        validation = validation_for(len(X), X.shape[1], time_budget, cv, y, task)
        sizes = rung_sizes(len(X), y, task, validation)
        # one fit on all rows may take this long for the candidate's first evaluation (on the
        # first rung's rows, fits roughly linear in them) to fit in a share of the time left
        affordable = (deadline.left() * (1 - RESERVE_CAP_SHARE) / CANDIDATE_SHARES
                      / fits_per_evaluation(validation) * len(X) / sizes[0])
        candidates = candidate_params(found, space, top_k, len(X), X.shape[1], weight,
                                      affordable)
        study, _ = create_study(storage, study_name, random_state, task, scoring,
                                n_warm=len(candidates))
        trials = _Trials(study, space, runner, deadline, task, len(X), validation, scoring,
                         random_state, n_jobs, list(callbacks))
        if isinstance(validation, float):
            # the same split the workers make (same rows, same seed)
            split = check_cv(validation, y, task, random_state)
            trials.scored_rows = np.flatnonzero(split.test_fold == 0)
            notes.append(f"large for the budget: each pipeline was validated on a holdout of "
                         f"{validation:.0%} of the rows instead of {cv}-fold cross-validation")

        def may_continue() -> bool:
            return (trials.time_for_trial() > MIN_TRIAL_SECONDS and not trials.unbeatable
                    and (n_trials is None or trials.completed < n_trials))

        alive = candidates
        for size in sizes:
            rows = None if size == len(X) else subsample(y, size, task, random_state or 0)
            scored = []
            for index, params in enumerate(alive):
                rank = candidates.index(params) + 1
                if not may_continue():
                    break
                # Each candidate gets at most a third of what is left (less when few remain and
                # a share is kept for what follows), so one slow candidate cannot starve the
                # rest, while the first, best-placed ones get room: a stopped trial costs its
                # time and a fresh worker's start.
                waiting = min(len(alive) - index + 1, CANDIDATE_SHARES)
                share = max(MIN_SHARE_SECONDS, trials.time_for_trial() / waiting)
                value = trials.run(params, rows, limit=share, rank=rank)
                if value is not None:
                    scored.append((value, params))
            if rows is None or not scored:
                break
            scored.sort(key=lambda pair: -pair[0])
            alive = [p for _, p in scored[:max(1, math.ceil(len(scored) / HALVING_RATE))]]
        while may_continue():
            trials.run(None, None)
        if trials.best_spec is None and trials.attempted == 0:
            raise TuningError(
                f"a `time_budget` of {time_budget:g} s is too short for this dataset: "
                f"profiling it (or trying to) took {profiled:.1f} s, which left no time for a "
                f"trial; give a larger `time_budget`.", parameters=("time_budget",))
        if trials.best_spec is None and candidates:
            # Nothing finished in time: the first candidate, untried, is still a better answer
            # than none (what n_trials=0 fits), if it can be fitted in what is left.
            best_spec = normalize_spec({**space.params_to_spec(candidates[0]), "task": task})
            notes.append(f"no trial finished within the budget; {best_spec['algorithm']}, the "
                         f"first candidate, was fitted without being cross-validated")
        elif trials.best_spec is None:
            raise TuningError(f"no pipeline could be evaluated within a `time_budget` of "
                              f"{time_budget:g} s; give a larger `time_budget`."
                              f"{last_error(study)}",
                              parameters=("time_budget",))
        else:
            best_spec = trials.best_spec
        if trials.stopped:
            notes.append(f"{trials.stopped} trial(s) stopped to keep within the time budget")
        if trials.unbeatable:
            notes.append(f"the search ended after {deadline.elapsed():.0f} s of the "
                         f"{time_budget:g} s budget: {best_spec['algorithm']} validated at "
                         f"{scoring} {trials.best[1]:.4f}, the best possible")
        if 0 < trials.best[0] < len(X):
            notes.append(f"no pipeline could be evaluated on all rows in time; the best on "
                         f"{trials.best[0]} rows is refitted")
        scored_y = y if trials.scored_rows is None else y[trials.scored_rows]
        members = (select_ensemble(study, trials.predictions, scored_y, task, ensemble_size)
                   if ensemble_size > 0 and trials.best[0] == len(X) else [])
        if not members:
            members = [(best_spec, 1.0)]
        model, fitted_members = _refit(runner, deadline, members, best_spec, task,
                                       random_state, trials.best_fold_models, notes)
    return BudgetedRun(recommended=found, study=study,
                       best_spec=normalize_spec({**best_spec, "task": task}), model=model,
                       members=fitted_members if len(fitted_members) > 1 else [], notes=notes)


def _refit(runner: IsolatedRunner, deadline: Deadline, members: list[tuple[dict[str, Any], float]],
           best_spec: dict[str, Any], task: str, random_state: int | None,
           best_fold_models: list[Any] | None, notes: list[str]
           ) -> tuple[Any, list[tuple[dict[str, Any], float]]]:
    """Refit the members on all rows, the best first, each with the time left; the model."""
    order = sorted(members, key=lambda m: (m[0] != best_spec, -m[1]))
    fitted: list[tuple[Any, dict[str, Any], float]] = []
    for spec, weight in order:
        try:
            pipeline = runner.run(_fit_piece, {**spec, "task": task}, task, random_state,
                                  limit=deadline.left())
        except PieceStopped as stop:
            notes.append(f"the refit of {spec.get('algorithm')} was {stop.reason}")
            break
        except Exception as exc:  # fitted in every fold, failed on all rows
            notes.append(f"{spec.get('algorithm')} could not be refitted on all rows ({exc})")
            continue
        fitted.append((pipeline, spec, weight))
    if not fitted:
        if not best_fold_models:
            raise TuningError("no pipeline could be refitted within `time_budget`; give a "
                              "larger `time_budget`.", parameters=("time_budget",))
        notes.append(f"the model is the best pipeline's {len(best_fold_models)} fold models "
                     f"(no time was left to refit it on all rows)")
        return (prefitted(best_fold_models, [1.0] * len(best_fold_models), task),
                [(best_spec, 1.0)])
    if len(fitted) < len(members):
        notes.append(f"the ensemble keeps {len(fitted)} of its {len(members)} members")
    if len(fitted) == 1:
        return fitted[0][0], [(fitted[0][1], 1.0)]
    total = sum(w for _, _, w in fitted)
    return (prefitted([p for p, _, _ in fitted], [w / total for _, _, w in fitted], task),
            [(s, w / total) for _, s, w in fitted])
