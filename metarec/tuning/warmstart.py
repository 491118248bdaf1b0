"""Warm start: the recommended configurations as a study's first trials.

``warm_start`` enqueues the recommended set and then the top recommendations (in the order of
:func:`warm_start_order`) as the study's first trials; TPE then explores from the region they mark
as good (see :func:`metarec.tuning.study.warm_sampler`).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from metarec.errors import TuningError
from metarec.tuning.space import ALGORITHM_PARAM, SearchSpace, space_for

log = logging.getLogger(__name__)

# Enqueued by default: enough to cover the recommendation's algorithm families, few enough to
# leave most of a 50-trial budget to the sampler.
DEFAULT_K = 10
# Recommendations asked for per enqueued trial: the diverse order needs a wider ranking than k to
# reach more algorithm families (what the warm-start benchmark measured).
POOL_PER_WARM_TRIAL = 3
# Bagging ensembles below this size are a sampling-noise setting, not a tuning choice (the KB's
# grids were run with scikit-learn's old default of 10 trees): recommended forests get at least
# the current default, which only removes noise from the trial's score.
MIN_FOREST_TREES = 100
_FORESTS = ("random_forest", "extra_trees")
# Class weighting is set to "balanced" for recommendations that leave it open when the score is
# class-balanced and the smallest class has fewer than this share of the largest one's rows.
IMBALANCE_RATIO = 0.6


# With search_space="recommended", the study searches only the algorithms of the
# recommendations it was given (their hyperparameters in full) when they name at least this many;
# fewer would bet the whole budget on one or two families.
MIN_RECOMMENDED_ALGORITHMS = 3
SEARCH_SPACES = ("recommended", "full")


def recommended_space(space: SearchSpace, recommendations: Iterable[Mapping[str, Any]],
                      min_algorithms: int = MIN_RECOMMENDED_ALGORITHMS) -> SearchSpace:
    """``space`` restricted to the algorithms the recommendations name (all of their
    hyperparameters stay searched), or ``space`` itself when they name fewer than
    ``min_algorithms`` of its algorithms.

    The bet: algorithms that rank nowhere near the top for data like this are rarely worth
    trials. Measured, it did not pay: in the warm-start benchmark the restricted warm arm needed
    more trials than the full one (median ratio to the cold arm 1.06x against 1.52x), losing
    where the best family was one the recommendations had left out (regularised QDA on
    movement_libras, naive Bayes on sleep). Hence not the default."""
    named = {str(r.get("algorithm") or (r.get("pipeline") or {}).get("algorithm"))
             for r in recommendations}
    named &= set(space.algorithms)
    if len(named) < min_algorithms:
        return space
    return space.restricted(named)



def class_weight_for(y: Any, task: str, scoring: str | None) -> str | None:
    """The class weighting :func:`translate_spec` fills in: ``"balanced"`` for classification
    when :func:`balanced_class_weight` says so, else None."""
    return ("balanced" if task == "classification" and balanced_class_weight(y, scoring)
            else None)


def balanced_class_weight(y: Any, scoring: str | None) -> bool:
    """Whether warm-start trials should weight classes: the score treats classes equally
    (balanced accuracy, the default) and the classes are imbalanced. The knowledge base's
    configurations leave class weighting open (Oboe's grid has none; the OpenML runs were mostly
    scored by plain accuracy, where the unweighted default is right)."""
    if scoring is None or "balanced" not in scoring:
        return False
    counts = pd.Series(np.asarray(y).ravel()).value_counts()
    return len(counts) >= 2 and counts.min() < IMBALANCE_RATIO * counts.max()


def warm_start_order(
    recommendations: Iterable[Mapping[str, Any]], space: SearchSpace,
    n_samples: int | None = None, n_features: int | None = None,
    class_weight: str | None = None, candidate_set: Iterable[Mapping[str, Any]] = (),
) -> list[tuple[Mapping[str, Any], dict[str, Any]]]:
    """Every recommended configuration as ``(recommendation, trial parameters)``, in the order a
    study tries them: ``candidate_set`` (the knowledge base's portfolio ordered by the
    meta-learner, :meth:`metarec.metalearner.MetaLearner.candidate_set`) in its own order, then
    ``recommendations`` in a diverse order, the best-ranked configuration of each algorithm first
    (in rank order), then the remaining ones by rank, so that a few trials cover as many of the
    recommended algorithm families as they can before spending trials on second opinions.

    Each spec is mapped into ``space`` (clipped to its bounds) and translated for tuning
    (:func:`translate_spec`); configurations outside the space and duplicates are dropped."""
    taken: list[dict[str, Any]] = []

    def mapped(recs: Iterable[Mapping[str, Any]]
               ) -> Iterable[tuple[Mapping[str, Any], dict[str, Any]]]:
        for rec in recs:
            spec = translate_spec({**(rec.get("pipeline") or rec), "task": space.task},
                                  class_weight)
            params = space.spec_to_params(spec, n_samples=n_samples, n_features=n_features)
            if params is None:
                log.info("warm start: %s is not in the search space; skipped",
                         rec.get("algorithm"))
            elif all(params != other for other in taken):
                taken.append(params)
                yield rec, params

    in_set = list(mapped(candidate_set))
    first: list[tuple[Mapping[str, Any], dict[str, Any]]] = []
    rest: list[tuple[Mapping[str, Any], dict[str, Any]]] = []
    seen: set[str] = set()
    for rec, params in mapped(sorted(recommendations, key=lambda r: r.get("rank", math.inf))):
        (rest if params[ALGORITHM_PARAM] in seen else first).append((rec, params))
        seen.add(params[ALGORITHM_PARAM])
    return in_set + first + rest


def warm_start_params(
    recommendations: Iterable[Mapping[str, Any]], k: int = DEFAULT_K,
    space: SearchSpace | None = None, n_samples: int | None = None,
    n_features: int | None = None, class_weight: str | None = None,
    candidate_set: Iterable[Mapping[str, Any]] = (),
) -> list[tuple[int, dict[str, Any]]]:
    """The first ``k`` configurations of :func:`warm_start_order` as ``(position, params)``
    pairs, the position (1, 2, ...) being the trial's place in that order, which the study
    records as ``metarec:warm_start_rank``.

    Forests get at least :data:`MIN_FOREST_TREES` trees, and ``class_weight`` (e.g.
    ``"balanced"``) fills the class weighting of algorithms that have one where the
    recommendation leaves it open."""
    if k < 0:
        raise TuningError(f"k must be zero or more, not {k}.")
    recs = list(recommendations)
    first = list(candidate_set)
    if space is None:
        task = _task_of([*first, *recs])
        if not task:
            return []
        space = space_for(task)
    order = warm_start_order(recs, space, n_samples, n_features, class_weight, first)
    return [(position, params) for position, (_, params) in enumerate(order[:k], start=1)]


def translate_spec(spec: Mapping[str, Any], class_weight: str | None = None) -> dict[str, Any]:
    """A recommended spec as it should be tried and fitted here (warm-start trials, untuned
    fits): forests get at least :data:`MIN_FOREST_TREES` trees, and ``class_weight`` (see
    :func:`class_weight_for`) fills the class weighting of algorithms that have one where the
    spec leaves it open. Everything else is left as it is (a search space clips what it maps)."""
    from metarec.pipelines import estimator_accepts

    hp = dict(spec.get("hyperparameters") or {})
    algorithm, task = spec.get("algorithm"), spec.get("task", "classification")
    if algorithm in _FORESTS and int(hp.get("n_estimators") or 0) < MIN_FOREST_TREES:
        hp["n_estimators"] = MIN_FOREST_TREES
    if (class_weight is not None and hp.get("class_weight") is None
            and estimator_accepts(str(algorithm), str(task), "class_weight")):
        hp["class_weight"] = class_weight
    return {**spec, "hyperparameters": hp}


def warm_start(
    study: Any, recommendations: Iterable[Mapping[str, Any]], k: int = DEFAULT_K,
    space: SearchSpace | None = None, n_samples: int | None = None,
    n_features: int | None = None, class_weight: str | None = None,
    candidate_set: Iterable[Mapping[str, Any]] = (),
) -> list[dict[str, Any]]:
    """Enqueue up to ``k`` recommendations (see :func:`warm_start_params` for the order and the
    translation) as the study's next trials; return the parameters enqueued.

    Trials already in the study (e.g. enqueued by a cooperating process) are not enqueued twice.
    Pair it with :func:`warm_sampler` (``n_warm=len(returned)``) so that TPE models from the warm
    trials as soon as they are done, instead of adding random start-up trials after them."""
    return enqueue_warm_trials(
        study, warm_start_params(recommendations, k, space, n_samples, n_features, class_weight,
                                 candidate_set))


def enqueue_warm_trials(study: Any, pairs: Sequence[tuple[Any, dict[str, Any]]]
                        ) -> list[dict[str, Any]]:
    """Enqueue the ``(position, params)`` pairs of :func:`warm_start_params` in order, skipping
    trials already in the study; return the parameters."""
    for rank, params in pairs:
        study.enqueue_trial(params, user_attrs={"metarec:warm_start_rank": rank},
                            skip_if_exists=True)
    return [params for _, params in pairs]


def _task_of(recs: Sequence[Mapping[str, Any]]) -> str | None:
    for rec in recs:
        task = (rec.get("pipeline") or {}).get("task")
        if task:
            return str(task)
    return None

